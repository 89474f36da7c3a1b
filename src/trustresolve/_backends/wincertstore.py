"""Backend ``wincertstore``: Windows stores through the wincertstore package.

For interpreters without ``ssl.enum_certificates`` (older PyPy on Windows, pypy #2799). The
package is archived (2021) and declares an invalid ``python_requires``, so it is an optional
extra, never a dependency; the same filter as the ``windows`` backend applies to its rows.

The rows come through ``PlatformFacts.wincertstore_stores`` like every other fact: the package
itself on a machine; in a ``--root`` tree, where it cannot run, what the tree recorded under the
``platform.json`` key ``wincertstore_stores`` (the shape of ``windows_stores``; see
``platform_fixtures/README-native.md``).
"""

from __future__ import annotations

from .._machine.facts import WINCERTSTORE_FIXTURE_KEY, PackageUnavailable, PlatformFacts
from .._machine.model import Attempt
from .base import Probe, wrong_os
from .windows import read_windows_stores

__all__ = ["FIXTURE_KEY", "WincertstoreBackend"]

FIXTURE_KEY = WINCERTSTORE_FIXTURE_KEY
_VIA = "wincertstore.CertSystemStore"
_HOW_TO_GET_A_STORE = (
    "install the optional package (`pip install trustresolve[wincertstore]`; it is archived), "
    "set SSL_CERT_FILE to a PEM bundle exported from the Windows store (certmgr.msc, or "
    "PowerShell's Export-Certificate), or use an interpreter that has ssl.enum_certificates "
    "(CPython 3.4+); without either, trustresolve falls back to certifi, which is not the "
    "machine's trust"
)


class WincertstoreBackend:
    name = "wincertstore"

    def probe(self, facts: PlatformFacts) -> Probe:
        elsewhere = wrong_os(self.name, facts)
        if elsewhere is not None:
            return elsewhere
        if facts.enum_certificates is not None:
            detail = (
                "not needed: ssl.enum_certificates exists, so the windows backend reads the stores"
            )
            return Probe((Attempt(self.name, None, "skipped", detail),))
        if not facts.wincertstore:
            detail = (
                f"this interpreter ({facts.implementation} {facts.python_version}) has no "
                f"ssl.enum_certificates and the wincertstore package is not installed: "
                f"{_HOW_TO_GET_A_STORE}"
            )
            return Probe((Attempt(self.name, None, "missing", detail),))
        if facts.wincertstore_stores is None:
            detail = f"platform.json records no {FIXTURE_KEY} (wincertstore cannot run on a tree)"
            return Probe((Attempt(self.name, None, "skipped", detail),))
        try:
            return read_windows_stores(self.name, facts.wincertstore_stores, _VIA)
        except PackageUnavailable as exc:
            detail = (
                f"wincertstore is installed but cannot be imported: {exc}; {_HOW_TO_GET_A_STORE}"
            )
            return Probe((Attempt(self.name, None, "failed", detail),))
