"""Backend ``wincertstore``: Windows stores through the wincertstore package (issue 3)."""

from __future__ import annotations

from ._backend import Probe, does_not_apply
from ._facts import PlatformFacts

__all__ = ["WincertstoreBackend"]


class WincertstoreBackend:
    name = "wincertstore"

    def probe(self, facts: PlatformFacts) -> Probe:
        if facts.os_family != "windows":
            return does_not_apply(self.name, "not Windows")
        return does_not_apply(self.name, "not implemented yet (issue 3)")
