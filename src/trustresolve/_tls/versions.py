"""The protocol versions trustresolve names, and how it names them: the one table.

The context builder accepts these as ``minimum_version`` (architecture §4); the connection
doctor probes them one by one and prints their names. Plain stdlib: the module is on the
start-up path of ``create_default_context()`` (architecture §6).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable

__all__ = [
    "DEFAULT_MINIMUM",
    "NAMES",
    "SPOKEN",
    "is_legacy",
    "library_needed",
    "local_versions",
    "name",
    "names",
]

#: Every version trustresolve can be asked for, oldest first.
SPOKEN = (
    ssl.TLSVersion.TLSv1,
    ssl.TLSVersion.TLSv1_1,
    ssl.TLSVersion.TLSv1_2,
    ssl.TLSVersion.TLSv1_3,
)
#: The floor when the caller does not ask for another one (architecture §4).
DEFAULT_MINIMUM = ssl.TLSVersion.TLSv1_2
NAMES = {
    ssl.TLSVersion.TLSv1: "TLS 1.0",
    ssl.TLSVersion.TLSv1_1: "TLS 1.1",
    ssl.TLSVersion.TLSv1_2: "TLS 1.2",
    ssl.TLSVersion.TLSv1_3: "TLS 1.3",
}
# The oldest OpenSSL that speaks each version (OpenSSL's CHANGES: 1.0.1 added TLS 1.1 and
# 1.2, 1.1.1 added TLS 1.3).
_LIBRARY_NEEDED = {
    ssl.TLSVersion.TLSv1_1: "OpenSSL 1.0.1",
    ssl.TLSVersion.TLSv1_2: "OpenSSL 1.0.1",
    ssl.TLSVersion.TLSv1_3: "OpenSSL 1.1.1",
}


def name(version: ssl.TLSVersion) -> str:
    """``TLS 1.2`` for ``ssl.TLSVersion.TLSv1_2``; the enum's own name for any other value."""
    return NAMES.get(version, version.name)


def names(versions: Iterable[ssl.TLSVersion]) -> str:
    """The names joined with commas, or ``none``."""
    return ", ".join(name(v) for v in versions) or "none"


def is_legacy(version: ssl.TLSVersion) -> bool:
    """TLS 1.0 and 1.1: deprecated by RFC 8996; OpenSSL 3 needs security level 0 for them."""
    return version < ssl.TLSVersion.TLSv1_2


def local_versions() -> tuple[ssl.TLSVersion, ...]:
    """The versions this interpreter's TLS library can speak."""
    flags = (ssl.HAS_TLSv1, ssl.HAS_TLSv1_1, ssl.HAS_TLSv1_2, ssl.HAS_TLSv1_3)
    return tuple(version for version, has in zip(SPOKEN, flags) if has)


def library_needed(version: ssl.TLSVersion) -> str:
    """The TLS library a client needs to speak ``version``."""
    return _LIBRARY_NEEDED.get(version, "a newer TLS library")
