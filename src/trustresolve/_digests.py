"""The digests a first run needs, from OpenSSL's libcrypto (loaded with ``ssl``), without
importing :mod:`hashlib`.

``hashlib`` also imports ``_blake2`` and builds its name lookups: 1.1 ms of a first run, which
needs only these three (architecture §9.2). They are the very constructors ``hashlib`` hands
out (``hashlib.sha1`` is ``_hashlib.openssl_sha1`` where OpenSSL provides it, in
``Lib/hashlib.py``); a Python built without ``_hashlib`` gets ``hashlib``'s own.
"""

from __future__ import annotations

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from hashlib import md5, sha1, sha256
else:
    try:
        from _hashlib import openssl_md5 as md5
        from _hashlib import openssl_sha1 as sha1
        from _hashlib import openssl_sha256 as sha256
    except ImportError:  # no OpenSSL hashes in this build: hashlib's fallbacks
        from hashlib import md5, sha1, sha256

__all__ = ["md5_identifier", "sha1_identifier", "sha256"]


def md5_identifier(data: bytes) -> bytes:
    """MD5 of ``data`` as an identifier (OpenSSL's old subject hash), not as a protection:
    ``usedforsecurity=False``, which FIPS builds need to compute it at all."""
    return md5(data, usedforsecurity=False).digest()


def sha1_identifier(data: bytes) -> bytes:
    """SHA-1 of ``data`` as an identifier (OpenSSL's subject hash, a key identifier), as
    :func:`md5_identifier` is."""
    return sha1(data, usedforsecurity=False).digest()
