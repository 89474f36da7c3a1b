"""The user cache: PEM bundles and hashed directories built from a set of certificates.

Stores without a hashed directory (bundle-only distros, ``SSL_CERT_FILE``, certifi, the Windows
and macOS snapshots) get one here, so OpenSSL can load their roots lazily (architecture §9).
Every entry is keyed by the SHA-256 of the sorted, de-duplicated DER certificates, so the same
trust set maps to the same entry in every process and a changed store maps to a new one.

Where: ``TRUSTRESOLVE_CACHE_DIR`` when set (tests, packagers, read-only homes), otherwise
platformdirs' ``user_cache_dir("trustresolve")``. What protects it:

- written atomically: a file is written to a temporary name, fsync'ed and renamed; a hashed
  directory is filled under a temporary name and renamed whole (then its parent fsync'ed), with a
  ``MANIFEST`` of the SHA-256 of every file written last. A per-entry lock file serializes
  builders; without one (a file system without locks) the rename still leaves one complete entry;
- verified on reuse: a bundle must hold exactly the expected bytes; a hashed directory must list
  exactly its manifest's files with their digests. A damaged, truncated or foreign entry is moved
  aside and rebuilt;
- private: directories 0700, files 0600. On POSIX an entry not owned by the user, or writable by
  group or others, is never used (it is rebuilt); a cache directory like that is refused with a
  :class:`~trustresolve.TrustResolveError` naming it and the fix. Windows has no POSIX modes; the
  cache there relies on the per-user ACLs of ``%LOCALAPPDATA%``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence

from .._errors import TrustResolveError
from .._machine.fs import HASHED_NAME
from .._x509.der import DERError, parse_certificate
from .._x509.pem import der_to_pem
from .._x509.subject_hash import name_hash

__all__ = [
    "UnnameableCertificateError",
    "cache_dir",
    "content_key",
    "hashed_dir_for_key",
    "materialize_bundle",
    "materialize_hashed_dir",
    "read_note",
    "write_note",
]

ENV_VAR = "TRUSTRESOLVE_CACHE_DIR"
_VERSION = "v1"
_MANIFEST = "MANIFEST"
_MANIFEST_HEADER = f"trustresolve hashed directory {_VERSION}"
_KEY = re.compile(r"[0-9a-f]{64}\Z")
# A cached file larger than this is not ours (a bundle of every CA ever issued is ~1 MB).
_MAX_FILE = 16 * 1024 * 1024


class UnnameableCertificateError(TrustResolveError):
    """A certificate whose OpenSSL subject hash cannot be reproduced; load the bundle instead."""


def cache_dir() -> str:
    """The cache directory, created private if missing; refused if others could write to it."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        root = os.path.abspath(configured)
    else:
        from platformdirs import user_cache_dir

        root = user_cache_dir("trustresolve", appauthor=False)
    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
        info = os.stat(root)
    except OSError as exc:
        raise TrustResolveError(
            f"cannot use the trustresolve cache directory {root}: {exc}; "
            f"set {ENV_VAR} to a directory only you can write"
        ) from exc
    if not stat.S_ISDIR(info.st_mode):
        raise TrustResolveError(
            f"the trustresolve cache {root} is not a directory; remove it or set {ENV_VAR} "
            "to a directory only you can write"
        )
    problem = _insecure(info)
    if problem:
        raise TrustResolveError(
            f"refusing the trustresolve cache directory {root}: it is {problem}, so another "
            f"user could change which certificates you trust; run `chmod 700 {root}` as its "
            f"owner, or set {ENV_VAR} to a directory only you can write"
        )
    return root


def content_key(certs: Sequence[bytes]) -> str:
    """The SHA-256 (hex) naming the cache entries of this set of DER certificates."""
    digest = hashlib.sha256(_VERSION.encode())
    for der in sorted(set(certs)):
        digest.update(len(der).to_bytes(4, "big"))
        digest.update(der)
    return digest.hexdigest()


def materialize_bundle(certs: Sequence[bytes]) -> str:
    """Path of a private PEM bundle holding exactly ``certs`` (DER), built once per set."""
    key = content_key(certs)
    expected = "".join(der_to_pem(der) for der in sorted(set(certs))).encode("ascii")
    root = cache_dir()
    path = os.path.join(root, f"bundle-{key}.pem")
    if _read_private_file(path) == expected:
        return path
    _discard(path)
    _write_atomically(root, f"bundle-{key}.pem", expected)
    return path


def materialize_hashed_dir(certs: Sequence[bytes]) -> str:
    """Path of a private hashed directory (``HHHHHHHH.N`` files, as ``c_rehash`` names them).

    OpenSSL loads it lazily as ``capath``. Raises :class:`TrustResolveError` when a certificate
    cannot be named (see :mod:`trustresolve._x509.subject_hash`) or the cache cannot be used.
    """
    unique = sorted(set(certs))
    key = content_key(unique)
    root = cache_dir()
    path = os.path.join(root, f"hashed-{key}")
    if _hashed_dir_ok(path, key):
        return path
    files = _hashed_files(unique)
    with _entry_lock(root, key):
        if _hashed_dir_ok(path, key):  # another process built it while we waited
            return path
        tmp = tempfile.mkdtemp(prefix=".tmp-hashed-", dir=root)
        try:
            _fill_hashed_dir(tmp, key, files)
            _install(tmp, path, key)
        except OSError as exc:
            raise TrustResolveError(
                f"could not write the hashed directory {path}: {exc}; set {ENV_VAR} to a "
                "writable private directory"
            ) from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _fsync_dir(root)
    return path


def _install(tmp: str, path: str, key: str) -> None:
    """Rename the complete directory ``tmp`` to ``path``, replacing a damaged entry there.

    Several tries only matter without working locks, where other processes may be installing
    or discarding the same entry at the same moment; each of their entries is complete.
    """
    for _ in range(8):
        if _hashed_dir_ok(path, key):
            return  # someone else installed a complete entry first
        _discard(path)
        try:
            os.rename(tmp, path)
        except OSError:
            continue
        return
    os.rename(tmp, path)  # let the last error surface


def hashed_dir_for_key(key: str) -> str | None:
    """The verified hashed directory of content key ``key``, or ``None`` if there is none."""
    if not _KEY.match(key):
        return None
    path = os.path.join(cache_dir(), f"hashed-{key}")
    return path if _hashed_dir_ok(path, key) else None


def read_note(identity: str) -> str | None:
    """A short value remembered for ``identity`` (e.g. a store's paths, sizes and mtimes)."""
    data = _read_private_file(_note_path(identity))
    if data is None or len(data) > 256:
        return None
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return None


def write_note(identity: str, value: str) -> None:
    """Remember ``value`` for ``identity``, atomically (last writer wins)."""
    path = _note_path(identity)
    _write_atomically(os.path.dirname(path), os.path.basename(path), value.encode("ascii"))


def _note_path(identity: str) -> str:
    # surrogateescape: a path from a non-UTF-8 environment (SSL_CERT_FILE as bytes) is as
    # valid an identity as any other; ssl opens such paths too.
    key = f"{_VERSION}\0{identity}".encode("utf-8", "surrogateescape")
    name = hashlib.sha256(key).hexdigest()
    return os.path.join(cache_dir(), f"note-{name}")


def _insecure(info: os.stat_result) -> str | None:
    """Why a cache file or directory must not be used, or ``None`` when it is private enough."""
    if sys.platform == "win32":
        return None  # no POSIX owner or mode bits; %LOCALAPPDATA% is per-user by ACL
    uid = os.geteuid()
    if info.st_uid != uid:
        return f"owned by uid {info.st_uid}, not by you (uid {uid})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"writable by group or others (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


def _read_private_file(path: str) -> bytes | None:
    """The bytes of a regular, private file we own; ``None`` if missing or not trustworthy."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or _insecure(info) or info.st_size > _MAX_FILE:
            return None
        with open(path, "rb") as handle:
            data = handle.read(info.st_size + 1)
    except OSError:
        return None
    return data if len(data) == info.st_size else None  # changed under us: not trusted


def _write_atomically(directory: str, name: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, os.path.join(directory, name))
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise TrustResolveError(
            f"could not write {os.path.join(directory, name)}: {exc}; set {ENV_VAR} to a "
            "writable private directory"
        ) from exc
    _fsync_dir(directory)


def _fsync_dir(directory: str) -> None:
    if sys.platform == "win32":
        return  # directories cannot be opened for fsync there; NTFS journals the rename
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _discard(path: str) -> None:
    """Move a damaged or foreign entry out of the way (atomically), then delete it."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError:
        info = None
    trash = f"{path}.trash-{os.urandom(8).hex()}"
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise TrustResolveError(
            f"cannot replace the damaged cache entry {path}: {exc}; delete it by hand"
        ) from exc
    if info is not None and stat.S_ISDIR(info.st_mode):
        shutil.rmtree(trash, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(trash)


def _hashed_files(certs: Sequence[bytes]) -> list[tuple[str, bytes]]:
    """``(HHHHHHHH.N, PEM)`` for each certificate; equal hashes numbered in DER order."""
    files = []
    counts: dict[str, int] = {}
    for index, der in enumerate(certs):
        try:
            prefix = name_hash(parse_certificate(der).subject)
        except DERError as exc:
            raise UnnameableCertificateError(
                f"certificate #{index + 1} of the store cannot be given an OpenSSL subject-hash "
                f"file name ({exc}); it has to be loaded as a bundle"
            ) from exc
        number = counts.get(prefix, 0)
        counts[prefix] = number + 1
        files.append((f"{prefix}.{number}", der_to_pem(der).encode("ascii")))
    return files


def _fill_hashed_dir(directory: str, key: str, files: list[tuple[str, bytes]]) -> None:
    lines = [_MANIFEST_HEADER, key]
    for name, data in files:
        _write_new(os.path.join(directory, name), data)
        lines.append(f"{name} {hashlib.sha256(data).hexdigest()}")
    # The manifest goes last: a directory that has one was written completely.
    _write_new(os.path.join(directory, _MANIFEST), ("\n".join(lines) + "\nend\n").encode())
    _fsync_dir(directory)


def _write_new(path: str, data: bytes) -> None:
    # No fsync per file: ~140 journal commits cost a second on a busy disk, and durability is
    # not needed where every entry is verified against its manifest before use. A crash that
    # leaves short files behind is caught there and the entry rebuilt.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    with os.fdopen(os.open(path, flags, 0o600), "wb") as handle:
        handle.write(data)


def _hashed_dir_ok(path: str, key: str) -> bool:
    """Whether ``path`` is a complete, undamaged, private hashed directory for ``key``."""
    try:
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or _insecure(info):
            return False
        names = set(os.listdir(path))
    except OSError:
        return False
    manifest = _read_private_file(os.path.join(path, _MANIFEST))
    if manifest is None:
        return False
    lines = manifest.decode("ascii", "replace").split("\n")
    if lines[:2] != [_MANIFEST_HEADER, key] or lines[-2:] != ["end", ""]:
        return False
    expected: dict[str, str] = {}
    for line in lines[2:-2]:
        name, _, digest = line.partition(" ")
        if not HASHED_NAME.match(name) or not _KEY.match(digest):
            return False
        expected[name] = digest
    if names != {*expected, _MANIFEST}:
        return False
    for name, digest in expected.items():
        data = _read_private_file(os.path.join(path, name))
        if data is None or hashlib.sha256(data).hexdigest() != digest:
            return False
    return True


@contextlib.contextmanager
def _entry_lock(root: str, key: str) -> Iterator[None]:
    """Serialize builders of one entry across processes and threads (best effort)."""
    try:
        fd = os.open(
            os.path.join(root, f".lock-{key}"),
            os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0),
            0o600,
        )
    except OSError:
        yield  # no lock file possible: the atomic rename alone keeps the entry whole
        return
    try:
        _acquire(fd)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _acquire(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        with contextlib.suppress(OSError):  # LK_LOCK gives up after ~10 s
            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
    else:
        import fcntl

        with contextlib.suppress(OSError):  # e.g. a file system without flock
            fcntl.flock(fd, fcntl.LOCK_EX)
