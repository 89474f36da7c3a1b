"""What the snapshot backends share: naming certificates in attempts, building in-memory sources.

The Windows and macOS stores exist only inside the OS. A snapshot copies the certificates the OS
trusts for TLS server authentication into memory (``kind="data"``); ``where()`` writes them to the
user cache. Attempts name each certificate they drop by its common name and SHA-1 thumbprint,
the identifiers that ``certmgr.msc`` and Keychain Access show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .._digests import sha1_identifier
from .._machine.model import TrustSource
from .._x509.der import OBJECT_IDENTIFIER, DERError, decode_string, read_children, read_tlv
from .._x509.pem import der_to_pem

__all__ = ["certificate_label", "common_name", "first_few", "in_memory_source", "sha1_hex"]

# id-at-commonName (2.5.4.3) and id-at-organizationalUnitName / organizationName as fallbacks.
_CN = bytes.fromhex("550403")
_FALLBACK_NAMES = (bytes.fromhex("55040b"), bytes.fromhex("55040a"))
#: How many dropped certificates an attempt names before it only counts the rest.
_NAMED = 8


def sha1_hex(der: bytes) -> str:
    """The upper-case hex SHA-1 of ``der``: Windows' thumbprint, macOS's trust-settings key."""
    return sha1_identifier(der).hex().upper()


def common_name(name: bytes) -> str | None:
    """The CN of an encoded X.501 Name (or its OU/O when it has none); ``None`` if unreadable."""
    try:
        outer = read_tlv(name)
        found: dict[bytes, str] = {}
        for rdn in read_children(name, outer):
            for attribute in read_children(name, rdn):
                parts = read_children(name, attribute)
                if len(parts) != 2 or parts[0].tag != OBJECT_IDENTIFIER:
                    continue
                text = decode_string(parts[1].tag, parts[1].value(name))
                if text is not None:
                    found.setdefault(parts[0].value(name), text)
    except DERError:
        return None
    for oid in (_CN, *_FALLBACK_NAMES):
        if oid in found:
            return found[oid]
    return None


def certificate_label(der: bytes, subject: bytes | None = None) -> str:
    """``"Name" (sha1 ABCD1234)`` for attempt details; works for bytes that do not parse too."""
    thumb = sha1_hex(der)[:16]
    name = common_name(subject) if subject is not None else None
    return f'"{name}" (sha1 {thumb})' if name else f"sha1 {thumb}"


def first_few(items: Sequence[str]) -> str:
    """The first few items joined, then a count of the others."""
    shown = ", ".join(items[:_NAMED])
    rest = len(items) - _NAMED
    return shown + (f" and {rest} more" if rest > 0 else "")


def in_memory_source(
    backend: str,
    certificates: Iterable[bytes],
    *,
    warnings: tuple[str, ...] = (),
) -> TrustSource:
    """An in-memory source of ``certificates`` (DER, already filtered), each counted once.

    It has no file: ``where()`` materializes one in the user cache from ``certificates``.
    """
    seen: set[bytes] = set()
    ordered: list[bytes] = []
    for der in certificates:
        if der not in seen:
            seen.add(der)
            ordered.append(der)
    return TrustSource(
        backend,
        "data",
        cadata="".join(der_to_pem(der) for der in ordered),
        cert_count=len(ordered),
        warnings=warnings,
        certificates=tuple(ordered),
    )
