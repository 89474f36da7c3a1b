"""Is the store out of date? The chain's root compared with a current list of public roots.

Two findings, for the verdicts of :mod:`.verdicts` (PyMongo's TLS guide names "the
certificates are out of date" first among the causes of CERTIFICATE_VERIFY_FAILED):

- **missing**: verification failed for an unknown issuer (X509_V_ERR 2, 20, 21) or at a
  self-signed root the server sent (19), and that root is in the reference list (certifi's
  Mozilla bundle, :func:`certifi_reference`) but not in the store. The chain's top certificate
  names its issuer by name and Authority Key Identifier, and the reference root must have that
  name and Subject Key Identifier (:func:`~trustresolve._x509.identity.issued_by`, OpenSSL's own
  rules); without an AKI the name must match and the reference root's key must verify the
  signature (:mod:`~trustresolve._x509.signature`); a root the server sent must be the
  reference root's name *and key*.
- **expired**: verification failed with "certificate has expired" (10) while every certificate
  the server sent is in date, and the store's copy of the root the chain ends at has expired.
  When the reference holds a copy of the same root (name and key) that is still valid, the
  finding names it: a renewed root, or a re-issue of the same key.

A server cannot forge a finding into wrong advice. Names and key identifiers are public, so a
chain can *claim* a public root without being issued by it; the name-and-AKI finding then still
only says "update the store, if this chain really is issued by ROOT", and after the update
OpenSSL checks the signature and refuses a forgery. A private CA, or any root the reference
lacks, is never reported out of date.

Advice only: nothing here is loaded into a context, and the reference and the store are read
only on the failure path, the store only when the reference holds the chain's root (reading
certifi 2026.10.19's 117 roots and a store of 116 took 0.18-0.33 s on a busy two-core machine).
The reference is injectable (:data:`reference`, a function), so tests compare with their own
CAs as well as with the real certifi.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Callable

from ..._limits import STORE_FILE_BYTES
from ..._x509.der import DERError
from ..._x509.identity import Identity, identify, issued_by, same_ca
from ..._x509.pem import scan_pem
from ..._x509.signature import signed_by
from .client import Client

__all__ = [
    "Finding",
    "Reference",
    "advice_for",
    "certifi_reference",
    "find_stale_root",
    "reference",
    "update_advice",
]

# X509_V_ERR_* (openssl/x509_vfy.h) after which a missing or expired root is looked for.
_UNKNOWN_ISSUER = {2, 20, 21}
_SELF_SIGNED_IN_CHAIN = 19
_EXPIRED = 10


@dataclass(frozen=True)
class Reference:
    """A list of current public roots, and how to name it (``certifi 2025.1.31 (Mozilla's
    roots)``)."""

    label: str
    roots: tuple[Identity, ...]

    @classmethod
    def from_pem(cls, data: bytes, label: str) -> Reference:
        return cls(label, _identities(cert.der for cert in scan_pem(data).certificates))


def certifi_reference() -> Reference | None:
    """certifi's Mozilla bundle, when certifi is importable; ``None`` otherwise."""
    try:
        import certifi
    except ImportError:
        return None
    try:
        with open(certifi.where(), "rb") as bundle:
            data = bundle.read(STORE_FILE_BYTES)
    except OSError:
        return None
    version = getattr(certifi, "__version__", "?")
    return Reference.from_pem(data, f"certifi {version} (Mozilla's roots)")


#: Where the reference comes from: certifi's bundle; tests give their own CAs.
reference: Callable[[], Reference | None] = certifi_reference


@dataclass(frozen=True)
class Finding:
    """What is stale: ``missing`` (the store lacks ``root``) or ``expired`` (its copy is)."""

    kind: str
    root: str  # the root's subject, RFC 4514
    reference: str  # the reference's label
    matched: str  # how the chain was matched to the root, in words
    expired_on: datetime.datetime | None = None  # the store's copy's notAfter (``expired``)
    renewed_until: datetime.datetime | None = None  # the reference's valid copy's notAfter


def find_stale_root(
    code: int, sent: Sequence[bytes], client: Client, now: datetime.datetime
) -> Finding | None:
    """The finding for a verification that failed with X509_V_ERR ``code`` on the chain
    ``sent`` (leaf first), or ``None`` when the store is not shown to be out of date."""
    if code not in _UNKNOWN_ISSUER and code not in (_SELF_SIGNED_IN_CHAIN, _EXPIRED):
        return None
    chain = _identities(sent)
    if not chain:
        return None
    if code == _EXPIRED:
        if any(cert.expired(now) for cert in chain):
            return None  # the server's own certificate expired: not the store's fault
        return _expired_root(chain[-1], store_roots(client), now)
    found = reference()
    if found is None:
        return None
    return _missing_root(chain[-1], client, found)


def _missing_root(top: Identity, client: Client, ref: Reference) -> Finding | None:
    candidates = _candidates(top, ref.roots)
    if not candidates:
        return None  # a private CA, or one the reference lacks: the store is not read at all
    store = store_roots(client)
    for root, matched in candidates:
        if not any(same_ca(root, held) for held in store):
            return Finding("missing", root.subject_text, ref.label, matched)
    return None


def _expired_root(
    top: Identity, store: Sequence[Identity], now: datetime.datetime
) -> Finding | None:
    held = [root for root, _ in _candidates(top, store)]
    if not held or any(not root.expired(now) for root in held):
        return None  # OpenSSL would have used a copy that is in date
    old = held[0]
    ref = reference()
    renewed = [
        root for root in (ref.roots if ref else ()) if same_ca(root, old) and not root.expired(now)
    ]
    return Finding(
        "expired",
        old.subject_text,
        ref.label if ref else "",
        "name and key",
        expired_on=old.not_after,
        renewed_until=max((r.not_after for r in renewed), default=None),
    )


def _candidates(top: Identity, roots: Sequence[Identity]) -> list[tuple[Identity, str]]:
    """The roots ``top`` is (a root the server sent) or names as its issuer, with how."""
    found = []
    for root in roots:
        if top.subject == top.issuer and same_ca(top, root):
            found.append((root, "the root the server sent (same name and key)"))
            continue
        named = issued_by(top, root)
        if named:
            found.append((root, "name and key identifier"))
        elif named is None and signed_by(top.der, root.public_key):
            found.append((root, "name and signature"))
    return found


def store_roots(client: Client) -> tuple[Identity, ...]:
    """The certificates the client trusts: the resolved store's (its snapshot when the OS
    verifies), or what the context loaded from a CA file (a CA file is loaded whole)."""
    if client.store_backend is not None:
        from ..._store.resolve import resolve

        source = resolve().source
        plain = source.without_native() if source else None
        return _identities(plain.certificates if plain else ())
    return _identities(client.context.get_ca_certs(binary_form=True))


def _identities(ders: Iterable[bytes]) -> tuple[Identity, ...]:
    found = []
    for der in ders:
        try:
            found.append(identify(der))
        except DERError:
            continue
    return tuple(found)


# --- how to update the store ------------------------------------------------------------------

_APT = "Debian/Ubuntu: sudo apt-get install --only-upgrade ca-certificates"
_DNF = "RHEL/Fedora: sudo dnf upgrade ca-certificates"
_APK = "Alpine: sudo apk upgrade ca-certificates"
_ZYPPER = "openSUSE/SLES: sudo zypper update ca-certificates"
_PIP = "python -m pip install -U certifi"
# The distro store's file, as the distributions that ship it name it (architecture §8.1a).
_DISTRO_COMMANDS = (
    ("/etc/pki/", (_DNF,)),
    ("/etc/ssl/ca-bundle.pem", (_ZYPPER,)),
    ("/etc/ssl/certs/ca-certificates.crt", (_APT, _APK)),
)


def advice_for(client: Client) -> list[str]:
    """:func:`update_advice` for the store ``client`` uses."""
    if client.store_backend is None:
        return update_advice(None, "", None)
    from ..._store.resolve import resolve

    resolution = resolve()
    source = resolution.source
    store_file = (source.display_cafile or source.cafile) if source else None
    return update_advice(
        client.store_backend, str(resolution.platform.get("platform", "")), store_file
    )


def update_advice(backend: str | None, platform: str, store_file: str | None) -> list[str]:
    """How to bring the store in use up to date: by the backend that found it, and for the
    OS stores by the platform of the resolution (pure, so every branch is testable)."""
    if backend is None:
        return [
            "The CA file given replaces the store and is out of date: replace it with a "
            f"current bundle (Mozilla's roots: `{_PIP}`, then pass the path `python -m certifi` "
            "prints), or add the current root to it."
        ]
    if backend in ("env", "config"):
        return [
            "The bundle pinned by SSL_CERT_FILE/SSL_CERT_DIR (or trustresolve.ini) is out of "
            "date: update that file, or unset the setting to use the system store."
        ]
    if backend == "certifi":
        return [f"certifi's bundle is the store: `{_PIP}`."]
    if backend == "macos-python-org" or (backend == "native" and platform == "darwin"):
        return [
            "macOS: install the system updates (Software Update), which carry Apple's roots.",
            'python.org builds: run "/Applications/Python 3.x/Install Certificates.command" '
            f"again, or `{_PIP}` (that store is certifi's bundle).",
        ]
    if backend == "macos-keychain":
        return ["macOS: install the system updates (Software Update), which carry Apple's roots."]
    if backend in ("windows", "wincertstore", "native"):
        return [
            "Windows: run Windows Update; Windows also adds roots on demand. To fetch the "
            "current list yourself: `certutil -generateSSTFromWU roots.sst`, then import it "
            "with certlm.msc (Trusted Root Certification Authorities).",
        ]
    if backend == "openssl-default":
        return [
            "The store is the interpreter's own bundle: upgrade the interpreter build (conda: "
            "`conda update ca-certificates`)."
        ]
    for prefix, commands in _DISTRO_COMMANDS:
        if store_file and store_file.startswith(prefix):
            return list(commands)
    return ["Update your distribution's ca-certificates package."]
