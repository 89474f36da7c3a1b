"""Backend ``macos-keychain``: keychains with trust settings applied (issue 3)."""

from __future__ import annotations

from ._backend import Probe, does_not_apply
from ._facts import PlatformFacts

__all__ = ["MacOSKeychainBackend"]


class MacOSKeychainBackend:
    name = "macos-keychain"

    def probe(self, facts: PlatformFacts) -> Probe:
        if facts.os_family != "darwin":
            return does_not_apply(self.name, "not macOS")
        return does_not_apply(self.name, "not implemented yet (issue 3)")
