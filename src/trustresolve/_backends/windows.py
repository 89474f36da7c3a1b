"""Backend ``windows``: the ROOT and CA system stores via ``ssl.enum_certificates``.

The rule is CPython's ``SSLContext._load_windows_store_certs``: keep ``x509_asn`` entries whose
trust is ``True`` (every purpose) or contains serverAuth. Unlike CPython before gh-79846, which
handed the whole store to OpenSSL as one ``cadata`` and failed on one malformed certificate
(the Serbian "MUPCA Root", CPython issues 79846 and 104135), every entry is decoded on its own:
a bad one is skipped and named in the attempt, never fatal.

``enum_certificates`` reads a *collection* (local machine, enterprise, group policy, current
user; bpo-35941), but it is still a snapshot handed to OpenSSL: Windows fetches most roots on
demand (Automatic Root Update), so a root can be missing until Windows has used it once. The
``native`` backend verifies through Windows itself and has no such gap; the attempt says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._machine.facts import PlatformFacts
from .._machine.model import Attempt
from .._machine.words import counted
from .._x509.der import DERError, parse_certificate
from .base import Probe, wrong_os
from .snapshot import certificate_label, first_few, in_memory_source

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from .._machine.facts import EnumCertificates, WindowsStoreEntry
    from .._machine.model import Outcome

__all__ = ["SERVER_AUTH", "SNAPSHOT_NOTE", "STORES", "WindowsBackend", "read_windows_stores"]

SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
#: The stores CPython's load_default_certs reads (its ``_windows_cert_stores``), roots first.
STORES = ("ROOT", "CA")
SNAPSHOT_NOTE = (
    "this is a snapshot: Windows fetches many roots on demand (Automatic Root Update), so a root "
    "may be missing here until Windows has used it once; the native backend (truststore, Python "
    ">= 3.10) verifies through Windows itself and has no such gap"
)
_EKU_NAMES = {
    SERVER_AUTH: "serverAuth",
    "1.3.6.1.5.5.7.3.2": "clientAuth",
    "1.3.6.1.5.5.7.3.3": "codeSigning",
    "1.3.6.1.5.5.7.3.4": "emailProtection",
    "1.3.6.1.5.5.7.3.8": "timeStamping",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning",
}


class _StoreResult:
    """What one store's rows came to. Not a dataclass: this module is imported on every
    platform, and each dataclass definition is part of a first run's import time."""

    __slots__ = ("kept", "malformed", "not_server_auth", "other_encoding")

    def __init__(self) -> None:
        self.kept: list[bytes] = []
        self.other_encoding: list[str] = []
        self.not_server_auth: list[str] = []
        self.malformed: list[tuple[str, str]] = []  # (entry, why)


def _purposes(trust: frozenset[str]) -> str:
    if not trust:
        return "no purpose"
    return ", ".join(sorted(_EKU_NAMES.get(oid, oid) for oid in trust))


def _label_of(der: bytes) -> str:
    try:
        return certificate_label(der, parse_certificate(der).subject)
    except DERError:
        return certificate_label(der)


def _sort_entries(store: str, rows: Sequence[WindowsStoreEntry]) -> _StoreResult:
    result = _StoreResult()
    for index, (der, encoding, trust) in enumerate(rows, 1):
        if encoding != "x509_asn":
            what = "a PKCS#7 blob" if encoding.startswith("pkcs_7") else "not X.509"
            result.other_encoding.append(f"entry {index} ({encoding}, {what})")
            continue
        purposes: frozenset[str] = frozenset() if isinstance(trust, bool) else trust
        if trust is not True and SERVER_AUTH not in purposes:
            result.not_server_auth.append(f"{_label_of(der)} (trusted for {_purposes(purposes)})")
            continue
        try:
            parse_certificate(der)
        except DERError as exc:
            result.malformed.append((f"entry {index} ({certificate_label(der)})", str(exc)))
            continue
        result.kept.append(der)
    return result


def _store_attempt(
    backend: str, location: str, store: str, total: int, result: _StoreResult
) -> Attempt:
    if total == 0:
        return Attempt(backend, location, "empty", f"the {store} store holds no entries")
    detail = (
        f"{counted(total, 'entry')}, {len(result.kept)} kept (x509_asn, trusted for every purpose "
        "or for serverAuth)"
    )
    skipped = []
    if result.not_server_auth:
        skipped.append(
            f"{len(result.not_server_auth)} not trusted for TLS server authentication: "
            + first_few(result.not_server_auth)
        )
    if result.other_encoding:
        skipped.append(
            f"{len(result.other_encoding)} not a certificate: " + first_few(result.other_encoding)
        )
    if result.malformed:
        skipped.append(
            f"{len(result.malformed)} malformed: "
            + first_few([f"{entry}: {why}" for entry, why in result.malformed])
        )
    if skipped:
        detail += "; skipped " + "; ".join(skipped)
    warnings = tuple(
        f"{store} store {entry} is not a valid certificate ({why}) and was skipped (one such "
        "entry broke whole contexts in older CPython); remove it with certmgr.msc"
        for entry, why in result.malformed
    )
    outcome: Outcome = "used" if result.kept else "skipped"
    return Attempt(backend, location, outcome, detail, warnings)


def read_windows_stores(backend: str, enumerate_store: EnumCertificates, via: str) -> Probe:
    """Read ROOT and CA through ``enumerate_store`` (``ssl.enum_certificates``-shaped rows).

    ``via`` names the call for attempt locations, e.g. ``ssl.enum_certificates``.
    """
    attempts: list[Attempt] = []
    kept: list[bytes] = []
    warnings: list[str] = []
    for store in STORES:
        location = f'{via}("{store}")'
        try:
            rows = enumerate_store(store)
        except OSError as exc:  # CPython turns PermissionError into a warning and moves on
            attempts.append(
                Attempt(backend, location, "unreadable", f"the {store} store cannot be read: {exc}")
            )
            continue
        result = _sort_entries(store, rows)
        attempt = _store_attempt(backend, location, store, len(rows), result)
        attempts.append(attempt)
        warnings.extend(attempt.warnings)
        kept.extend(result.kept)
    unique = len(set(kept))
    if not unique:
        attempts.append(
            Attempt(
                backend,
                " + ".join(STORES),
                "empty",
                "no certificate in ROOT or CA is trusted for TLS server authentication",
            )
        )
        return Probe(tuple(attempts))
    duplicates = len(kept) - unique
    detail = f"{counted(unique, 'certificate')} trusted for TLS server authentication"
    if duplicates:
        detail += f" ({duplicates} present in both ROOT and CA, counted once)"
    attempts.append(Attempt(backend, " + ".join(STORES), "used", f"{detail}; {SNAPSHOT_NOTE}"))
    return Probe(tuple(attempts), in_memory_source(backend, kept, warnings=tuple(warnings)))


class WindowsBackend:
    name = "windows"

    def probe(self, facts: PlatformFacts) -> Probe:
        elsewhere = wrong_os(self.name, facts)
        if elsewhere is not None:
            return elsewhere
        if facts.enum_certificates is None:
            detail = (
                f"this interpreter ({facts.implementation} {facts.python_version}) has no "
                "ssl.enum_certificates (older PyPy on Windows); the wincertstore backend is next"
            )
            return Probe((Attempt(self.name, None, "skipped", detail),))
        return read_windows_stores(self.name, facts.enum_certificates, "ssl.enum_certificates")
