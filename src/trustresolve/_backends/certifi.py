"""Backend ``certifi``: the Mozilla bundle shipped with certifi, the last resort.

Imported only when reached (architecture §6). Portable PyPy and containers without ca-certificates
end here; ``--which`` says so, because certifi is not the machine's own trust.
"""

from __future__ import annotations

from .._machine.facts import PlatformFacts
from .._machine.fs import FileSystem
from .._machine.model import Attempt
from .base import Probe
from .candidates import check_bundle, source_from_checks

__all__ = ["CertifiBackend"]


class CertifiBackend:
    name = "certifi"

    def probe(self, facts: PlatformFacts) -> Probe:
        try:
            import certifi
        except ImportError:
            detail = "certifi is not installed (`pip install certifi`)"
            return Probe((Attempt(self.name, None, "missing", detail),))
        # certifi belongs to this interpreter, not to a --root tree: read it from the host.
        check = check_bundle(FileSystem("/"), certifi.where())
        version = getattr(certifi, "__version__", "?")
        note = f"certifi {version}, Mozilla's roots, not the machine's own"
        if facts.root != "/":
            note += "; from this interpreter, not from the --root tree"
        attempt = check.attempt(self.name, note=note)
        if not check.ok:
            return Probe((attempt,))
        return Probe((attempt,), source_from_checks(self.name, check))
