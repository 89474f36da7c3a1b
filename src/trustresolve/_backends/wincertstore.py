"""Backend ``wincertstore``: Windows stores through the wincertstore package.

For interpreters without ``ssl.enum_certificates`` (older PyPy on Windows, pypy #2799). The
package is archived (2021) and declares an invalid ``python_requires``, so it is an optional
extra, never a dependency; the same filter as the ``windows`` backend applies to its rows.

In a ``--root`` tree the package cannot run; the tree records what it would have returned under
the ``platform.json`` key ``wincertstore_stores`` (the shape of ``windows_stores``; see
``platform_fixtures/README-native.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._machine.facts import EnumCertificates, PlatformFacts, WindowsStoreEntry
from .._machine.model import Attempt
from .base import Probe, does_not_apply
from .windows import read_windows_stores

__all__ = ["FIXTURE_KEY", "WincertstoreBackend"]

FIXTURE_KEY = "wincertstore_stores"
_VIA = "wincertstore.CertSystemStore"
_HOW_TO_GET_A_STORE = (
    "install the optional package (`pip install trustresolve[wincertstore]`; it is archived), "
    "set SSL_CERT_FILE to a PEM bundle exported from the Windows store (certmgr.msc, or "
    "PowerShell's Export-Certificate), or use an interpreter that has ssl.enum_certificates "
    "(CPython 3.4+); without either, trustresolve falls back to certifi, which is not the "
    "machine's trust"
)


def _read_live_store(store: str) -> Sequence[WindowsStoreEntry]:  # pragma: no cover - Windows
    import wincertstore  # the optional extra: loaded only here (architecture §6)

    rows: list[WindowsStoreEntry] = []
    with wincertstore.CertSystemStore(store) as opened:
        for context in opened.itercerts(usage=None):
            # wincertstore says "CERTIFICATE" or "PKCS7"; use enum_certificates' words.
            encoding = "pkcs_7_asn" if context.encoding_type == "PKCS7" else "x509_asn"
            usage = context.enhanced_keyusage()
            trust: bool | frozenset[str] = True if usage is True else frozenset(usage)
            rows.append((bytes(context.get_encoded()), encoding, trust))
    return rows


def _fixture_rows(facts: PlatformFacts) -> tuple[EnumCertificates | None, str | None]:
    """The recorded rows of a ``--root`` tree, or why there are none."""
    import json

    from .._machine.facts import _fixture_enum

    located = facts.fs.locate("/platform.json")
    read = facts.fs.read_bounded(located)
    if read.data is None:
        return None, "the tree has no platform.json recording wincertstore's stores"
    try:
        document: Any = json.loads(read.data.decode("utf-8"))
        value = document.get(FIXTURE_KEY) if isinstance(document, dict) else None
        enum = _fixture_enum(value)
    except (ValueError, UnicodeDecodeError) as exc:  # ConfigurationError is a ValueError
        return None, f"platform.json: {FIXTURE_KEY} is unusable: {exc}"
    if enum is None:
        return None, f"platform.json records no {FIXTURE_KEY} (wincertstore cannot run on a tree)"
    return enum, None


class WincertstoreBackend:
    name = "wincertstore"

    def probe(self, facts: PlatformFacts) -> Probe:
        if facts.os_family != "windows":
            return does_not_apply(self.name, "not Windows")
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
        if facts.source:
            enum, why = _fixture_rows(facts)
            if enum is None:
                return Probe((Attempt(self.name, None, "skipped", str(why)),))
            return read_windows_stores(self.name, enum, _VIA)
        try:
            import wincertstore  # noqa: F401 - fails early with a clear attempt
        except Exception as exc:  # ctypes raises OSError, ImportError or AttributeError
            detail = (
                f"wincertstore is installed but cannot be imported: {exc!r}; {_HOW_TO_GET_A_STORE}"
            )
            return Probe((Attempt(self.name, None, "failed", detail),))
        return read_windows_stores(self.name, _read_live_store, _VIA)  # pragma: no cover
