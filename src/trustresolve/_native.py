"""Backend ``native``: verification by the OS through truststore (DESIGN §2 #3, issue 3)."""

from __future__ import annotations

from ._backend import Probe, does_not_apply
from ._facts import PlatformFacts

__all__ = ["NativeBackend"]


class NativeBackend:
    name = "native"

    def probe(self, facts: PlatformFacts) -> Probe:
        if facts.os_family not in ("darwin", "windows"):
            return does_not_apply(
                self.name,
                "native verification is for macOS and Windows; on this platform truststore only "
                "reloads OpenSSL's bundle on every handshake",
            )
        return does_not_apply(self.name, "not implemented yet (issue 3)")
