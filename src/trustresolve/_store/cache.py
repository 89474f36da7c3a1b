"""The user cache: PEM bundles and hashed directories built from a set of certificates.

Stores without a hashed directory (bundle-only distros, ``SSL_CERT_FILE``, certifi, the Windows
and macOS snapshots) get one here, so OpenSSL can load their roots lazily (architecture §9).
Every entry is keyed by the SHA-256 of the sorted, de-duplicated DER certificates, so the same
trust set maps to the same entry in every process and a changed store maps to a new one. A hashed
directory numbers equal hashes (``.0``, ``.1``) in the store's order, because OpenSSL tries
same-subject CAs in that order, as it does in a bundle, and which one it picks decides whether a
chain verifies; so its key also names that order when it is not the sorted one.

Where: ``TRUSTRESOLVE_CACHE_DIR`` when set (tests, packagers, read-only homes), otherwise
platformdirs' ``user_cache_dir("trustresolve")``. What protects it:

- written atomically: a file is written to a temporary name and renamed; a hashed
  directory is filled under a temporary name and renamed whole, with a
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

import os
import stat
import sys

from .._digests import sha256
from .._errors import TrustResolveError
from .._limits import CACHED_FILE_BYTES
from .._machine.fs import is_hashed_name
from .._machine.pathsafety import unsafe_reason
from .._machine.xdg import plain_unix_home
from .._x509.der import DERError, parse_certificate
from .._x509.pem import der_to_pem, scan_pem
from .._x509.subject_hash import name_hash
from .private import insecure, read_private_file

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "UnnameableCertificateError",
    "cache_dir",
    "cache_location",
    "content_key",
    "entry_stamp",
    "hashed_dir_for_key",
    "hashed_dir_key",
    "materialize_bundle",
    "materialize_hashed_dir",
    "new_private_file",
    "read_note",
    "stamped_files",
    "verified_stamp",
    "write_all",
    "write_note",
]

ENV_VAR = "TRUSTRESOLVE_CACHE_DIR"
#: How :func:`cache_location` says it fell back to the temp directory.
NO_HOME = "no home directory, so a per-user directory in the temp directory"
_VERSION = "v1"
_MANIFEST = "MANIFEST"
_MANIFEST_HEADER = f"trustresolve hashed directory {_VERSION}"
_HEX = frozenset("0123456789abcdef")
# A cached file larger than this is not ours (a bundle of every CA ever issued is ~1 MB).
_MAX_FILE = CACHED_FILE_BYTES
# hashed-directory key -> stat identity of its directory, as checked by content in this process.
_verified: dict[str, str] = {}


class UnnameableCertificateError(TrustResolveError):
    """A certificate whose OpenSSL subject hash cannot be reproduced; load the bundle instead."""


def cache_dir() -> str:
    """The cache directory, created private if missing; refused if others could change it."""
    root, _how = cache_location()
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
    problem = insecure(info)
    if problem:
        raise TrustResolveError(
            f"refusing the trustresolve cache directory {root}: it is {problem}, so another "
            f"user could change which certificates you trust; run `chmod 700 {root}` as its "
            f"owner, or set {ENV_VAR} to a directory only you can write"
        )
    # The whole chain, not only the directory: whoever can rename a parent can swap the cache
    # under a live context, whose hashed directory OpenSSL reads long after this check.
    chain = unsafe_reason(root)
    if chain:
        raise TrustResolveError(
            f"refusing the trustresolve cache directory {root}: {chain}; or set {ENV_VAR} "
            "to a directory only you can write"
        )
    return root


def cache_location() -> tuple[str, str]:
    """Where the cache is (not created) and why there, for ``--which``.

    ``TRUSTRESOLVE_CACHE_DIR``; else platformdirs' user cache directory (``$XDG_CACHE_HOME``,
    then the home directory); else, with no home directory at all (a container running
    under a uid without a passwd entry and no ``HOME``), ``trustresolve-UID`` in the temp
    directory, which :func:`cache_dir` accepts only if we own it and nobody else can rename it.
    """
    configured = os.environ.get(ENV_VAR)
    if configured:
        return os.path.abspath(configured), ENV_VAR
    found = plain_unix_home("XDG_CACHE_HOME", "~/.cache")
    if found is not None:
        return found, "the user cache directory"
    from platformdirs import user_cache_dir

    try:
        found = user_cache_dir("trustresolve", appauthor=False)
    except (RuntimeError, KeyError, OSError):
        found = ""  # newer platformdirs: no home directory
    # Older platformdirs return "~/.cache/..." unexpanded: never a path relative to the cwd.
    if os.path.isabs(found):
        return found, "the user cache directory"
    uid = os.geteuid() if hasattr(os, "geteuid") else 0
    import tempfile  # only without a home directory: tempfile imports shutil, bz2, lzma...

    return os.path.join(tempfile.gettempdir(), f"trustresolve-{uid}"), NO_HOME


def content_key(certs: Sequence[bytes]) -> str:
    """The SHA-256 (hex) naming the cache entries of this set of DER certificates."""
    digest = sha256(_VERSION.encode())
    for der in sorted(set(certs)):
        digest.update(len(der).to_bytes(4, "big"))
        digest.update(der)
    return digest.hexdigest()


# The last store asked for by hashed_dir_key, and its key. Declared before the functions that
# replace it: PyPy refuses a module-level annotation of a name a function above declared global.
_last_dir_key: tuple[tuple[bytes, ...], str] | None = None


def hashed_dir_key(certs: Sequence[bytes]) -> str:
    """The key of the hashed directory of ``certs`` (DER, in store order): the content key,
    plus a digest of the order unless the store is in sorted order."""
    global _last_dir_key  # noqa: PLW0603 - one slot, replaced whole
    asked = tuple(certs)
    last = _last_dir_key
    if last is not None and last[0] == asked:
        return last[1]  # a first run asks three times for one store (build, stamp, note)
    key = _dir_key_of(asked)
    _last_dir_key = (asked, key)
    return key


def _dir_key_of(certs: Sequence[bytes]) -> str:
    unique = _in_store_order(certs)
    key = content_key(unique)
    if unique == sorted(unique):
        return key
    digest = sha256(b"order\0")
    for der in unique:
        digest.update(sha256(der).digest())
    return f"{key}-{digest.hexdigest()[:32]}"


def _in_store_order(certs: Sequence[bytes]) -> list[bytes]:
    """Each certificate once, where it first appears."""
    return list(dict.fromkeys(certs))


def materialize_bundle(certs: Sequence[bytes]) -> str:
    """Path of a private PEM bundle holding exactly ``certs`` (DER), built once per set."""
    key = content_key(certs)
    expected = "".join(der_to_pem(der) for der in sorted(set(certs))).encode("ascii")
    root = cache_dir()
    path = os.path.join(root, f"bundle-{key}.pem")
    if _read_private_file(path) == expected:
        return path
    # A damaged or foreign file is replaced in one rename, so the path is never missing: a
    # thread that was just handed it can still open it. Only what a file cannot be renamed
    # over (a directory) is moved aside first.
    try:
        if stat.S_ISDIR(os.lstat(path).st_mode):
            _discard(path)
    except OSError:
        pass  # missing (the usual case) or unreadable: the write below says which
    _write_atomically(root, f"bundle-{key}.pem", expected)
    return path


def materialize_hashed_dir(certs: Sequence[bytes]) -> str:
    """Path of a private hashed directory (``HHHHHHHH.N`` files, as ``c_rehash`` names them).

    OpenSSL loads it lazily as ``capath``. Raises :class:`TrustResolveError` when a certificate
    cannot be named (see :mod:`trustresolve._x509.subject_hash`) or the cache cannot be used.

    The rule that binds an entry to the store (architecture §9): an entry is used only when
    its files are exactly the files derived here from ``certs`` (names and bytes; whatever its
    ``MANIFEST`` says), or when their stat identity (device, inode, size, mtime, ctime of the
    directory and of every file) is the one recorded right after such a check on this machine.
    A copied or restored entry (a CI cache) has new inodes and ctimes, which nobody can set, so
    it is checked by content again and rebuilt unless it holds exactly ``certs``. The
    identity is remembered in this process; callers may keep it longer (see
    :func:`hashed_dir_for_key`), never in a form another machine's cache could supply.
    """
    unique = _in_store_order(certs)
    key = hashed_dir_key(unique)
    root = cache_dir()
    path = os.path.join(root, f"hashed-{key}")
    stamp = entry_stamp(path)
    if stamp is not None and _verified.get(key) == stamp:
        return path
    files = _hashed_files(unique)
    built = None
    if not _hashed_dir_holds(path, key, files):
        lock = _lock_entry(root, key)
        try:
            if not _hashed_dir_holds(path, key, files):  # another process may have built it
                built = _build(root, path, key, files)
        finally:
            _unlock(lock)
    if built is None:
        _remember_verified(key, path)
    else:
        _remember_built(key, path, built)
    return path


def _remember_verified(key: str, path: str) -> None:
    stamp = entry_stamp(path)
    if stamp is not None:
        _verified[key] = stamp


def _remember_built(key: str, path: str, files: dict[str, os.stat_result]) -> None:
    """Remember the entry this process just built and renamed to ``path``, by the ``fstat`` of
    each file taken as it was written: the identity of the very files written, where a
    listing and an ``lstat`` of each would be a second pass (0.4 ms for 118 files) and would
    record whatever was there by then. A rename moves no file, so these are the identities
    :func:`entry_stamp` finds; if anything has changed since, the next check by stamp fails
    and the entry is checked by content again."""
    try:
        info = os.lstat(path)
    except OSError:
        return
    stamp = _stamp_of(path, info, files)
    if stamp is not None:
        _verified[key] = stamp


def verified_stamp(certs: Sequence[bytes]) -> str | None:
    """The :func:`entry_stamp` the hashed directory of ``certs`` had when this process last
    checked (or built) it; ``None`` if it has not. Saves a caller a second pass over the files
    right after :func:`materialize_hashed_dir`."""
    return _verified.get(hashed_dir_key(certs))


def _build(
    root: str, path: str, key: str, files: list[tuple[str, bytes]]
) -> dict[str, os.stat_result] | None:
    """Build the entry and rename it to ``path``: the ``fstat`` of each of its files, or
    ``None`` when another process installed a complete entry there first."""
    tmp = _new_private_dir(root, ".tmp-hashed-")
    try:
        written = _fill_hashed_dir(tmp, key, files)
        return written if _install(tmp, path, key, files) else None
    except OSError as exc:
        raise TrustResolveError(
            f"could not write the hashed directory {path}: {exc}; set {ENV_VAR} to a "
            "writable private directory"
        ) from exc
    finally:
        _remove_tree(tmp)
    # No fsync of the directories (here, in _fill_hashed_dir, after a note or a memo): each
    # costs a first run ~6 ms, and it only makes a rename survive a crash. A rename the crash
    # undid leaves no entry, note or memo, so the next run rebuilds it (architecture §9).
    # Nor of the files: each is checked before use (_write_atomically, _write_new).


# tempfile's mkstemp and mkdtemp without importing tempfile (it imports shutil, bz2 and lzma,
# none needed on a first run): the same O_EXCL creation, modes and random names.
_EXCL = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
)


def new_private_file(directory: str, prefix: str) -> tuple[int, str]:
    """A new empty file (mode 0600) in ``directory``, opened for writing: ``(fd, path)``."""
    for _ in range(100):
        path = os.path.join(directory, f"{prefix}{os.urandom(8).hex()}")
        try:
            return os.open(path, _EXCL, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {directory}")


def _new_private_dir(directory: str, prefix: str) -> str:
    for _ in range(100):
        path = os.path.join(directory, f"{prefix}{os.urandom(8).hex()}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free temporary name in {directory}")


def _remove_tree(path: str) -> None:
    """Delete a directory of files (a hashed directory); anything deeper goes to shutil."""
    try:
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
        os.rmdir(path)
    except FileNotFoundError:
        return
    except OSError:
        import shutil  # only for an entry that holds more than files (never one of ours)

        shutil.rmtree(path, ignore_errors=True)


def _install(tmp: str, path: str, key: str, files: list[tuple[str, bytes]]) -> bool:
    """Rename the complete directory ``tmp`` to ``path``, replacing a damaged entry there;
    ``False`` when a complete entry was found there instead.

    Several tries only matter without working locks, where other processes may be installing
    or discarding the same entry at the same moment; each of their entries is complete.
    Files are never rewritten in place: a live context keeps reading the entry it was given.
    """
    for _ in range(8):
        if _hashed_dir_holds(path, key, files):
            return False  # someone else installed a complete entry first
        _discard(path)
        try:
            os.rename(tmp, path)
        except OSError:
            continue
        return True
    os.rename(tmp, path)  # let the last error surface
    return True


# The lstat results behind the last entry_stamp: (path, the directory's, each file's).
_last_stamped: tuple[str, os.stat_result, dict[str, os.stat_result]] | None = None


def entry_stamp(path: str) -> str | None:
    """The stat identity of a private hashed directory and its files, as one digest.

    ``None`` when ``path`` is not a private directory of private regular files. Equal stamps
    mean the very files that were checked, unchanged (see :func:`materialize_hashed_dir`).
    """
    try:
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            return None
        files = {name: os.lstat(os.path.join(path, name)) for name in os.listdir(path)}
    except OSError:
        return None
    return _stamp_of(path, info, files)


def _stamp_of(path: str, info: os.stat_result, files: dict[str, os.stat_result]) -> str | None:
    """:func:`entry_stamp` of the directory ``path`` whose ``lstat`` is ``info`` and whose
    files' are ``files``; ``None`` unless all are private (and the files regular)."""
    global _last_stamped  # noqa: PLW0603 - one slot, replaced whole
    if not stat.S_ISDIR(info.st_mode) or insecure(info):
        return None
    digest = sha256(_VERSION.encode())
    digest.update(_stat_text(".", info))
    for name in sorted(files):
        entry = files[name]
        if not stat.S_ISREG(entry.st_mode) or insecure(entry):
            return None
        digest.update(_stat_text(name, entry))
    _last_stamped = (path, info, files)
    return digest.hexdigest()


def stamped_files(path: str) -> tuple[os.stat_result, dict[str, os.stat_result]] | None:
    """The ``lstat`` of the hashed directory ``path`` and of each of its files, as the last
    :func:`entry_stamp` of it took them, once; ``None`` if that was another path, or if the
    directory has changed since (files added or removed). Saves the start-up memo a second
    ``lstat`` of every file of an entry just built or checked (``_tls/load.py``)."""
    global _last_stamped
    last, _last_stamped = _last_stamped, None
    if last is None or last[0] != path:
        return None
    try:
        now = os.lstat(path)
    except OSError:
        return None
    if _stat_text(".", now) != _stat_text(".", last[1]):
        return None
    return last[1], last[2]


def _stat_text(name: str, info: os.stat_result) -> bytes:
    fields = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    return f"{name}\0{fields}\n".encode("utf-8", "surrogateescape")


def hashed_dir_for_key(key: str, stamp: str | None = None) -> str | None:
    """The hashed directory of ``key``, or ``None`` if there is none to trust.

    ``key`` is a :func:`hashed_dir_key` (that store order) or a bare :func:`content_key` (that
    set in any order, sorted order first). With ``stamp`` (from :func:`entry_stamp`, taken
    right after :func:`materialize_hashed_dir` returned the directory for the store's
    certificates): only if its stat identity is still that. Without: only if it was checked in
    this process and is unchanged, or if its files are exactly those
    :func:`materialize_hashed_dir` writes for a set of certificates whose content key is the
    key's (so the name stands for exactly what is inside).
    """
    if not _is_dir_key(key):
        return None
    root = cache_dir()
    found = _trusted_entry(os.path.join(root, f"hashed-{key}"), key, stamp)
    if found is not None or stamp is not None or not _is_key(key):
        return found
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return None
    for name in names:
        dir_key = name[len("hashed-") :]
        if name.startswith(f"hashed-{key}-") and _is_dir_key(dir_key):
            found = _trusted_entry(os.path.join(root, name), dir_key, None)
            if found is not None:
                return found
    return None


def _is_key(text: str) -> bool:
    """A :func:`content_key`: 64 lower-case hex digits."""
    return len(text) == 64 and _HEX.issuperset(text)


def _is_dir_key(text: str) -> bool:
    """A :func:`hashed_dir_key`: the content key, then ``-`` and the store order's 32-digit
    digest when the order is not the sorted one."""
    if len(text) == 64:
        return _is_key(text)
    return len(text) == 97 and _is_key(text[:64]) and text[64] == "-" and _HEX.issuperset(text[65:])


def _trusted_entry(path: str, key: str, stamp: str | None) -> str | None:
    current = entry_stamp(path)
    if current is None:
        return None
    if stamp is not None:
        return path if current == stamp else None
    if _verified.get(key) == current:
        return path
    certs = _certificates_in(path)
    # The content part of the key names the set; the order part only which of two CAs with
    # one subject OpenSSL tries first, which the directory's own numbering then states.
    if certs is None or content_key(certs) != key[:64]:
        return None
    try:
        files = _hashed_files(certs)
    except UnnameableCertificateError:
        return None
    if not _hashed_dir_holds(path, key, files):
        return None
    _remember_verified(key, path)
    return path


def _certificates_in(path: str) -> list[bytes] | None:
    """The DER certificates of a hashed directory's files (one each), in its manifest's order.

    The manifest only orders what is checked: the caller rebuilds every file and the manifest
    from these certificates and compares them byte for byte.
    """
    manifest = _read_private_file(os.path.join(path, _MANIFEST))
    if manifest is None:
        return None
    lines = manifest.decode("ascii", "replace").splitlines()[2:-1]
    certs = []
    for line in lines:
        name = line.partition(" ")[0]
        if not is_hashed_name(name):
            return None
        data = _read_private_file(os.path.join(path, name))
        if data is None:
            return None
        scan = scan_pem(data)
        if len(scan.certificates) != 1:
            return None
        certs.append(scan.certificates[0].der)
    return certs


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
    name = sha256(key).hexdigest()
    return os.path.join(cache_dir(), f"note-{name}")


def _read_private_file(path: str) -> bytes | None:
    """The bytes of a regular, private file we own; ``None`` if missing or not trustworthy."""
    found = read_private_file(path, _MAX_FILE)
    return None if found is None else found[0]


def _write_atomically(directory: str, name: str, data: bytes) -> None:
    try:
        fd, tmp = new_private_file(directory, ".tmp-")
    except OSError as exc:
        raise TrustResolveError(
            f"could not write {os.path.join(directory, name)}: {exc}; set {ENV_VAR} to a "
            "writable private directory"
        ) from exc
    # No fsync: every file here is checked before it is used (a bundle by its bytes, a note
    # by its identity's key and value), so one a crash cut short is only rebuilt (§9).
    try:
        try:
            write_all(fd, data, tmp)
        finally:
            os.close(fd)
        os.replace(tmp, os.path.join(directory, name))
    except OSError as exc:
        _unlink_quietly(tmp)
        raise TrustResolveError(
            f"could not write {os.path.join(directory, name)}: {exc}; set {ENV_VAR} to a "
            "writable private directory"
        ) from exc


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
        _remove_tree(trash)
    else:
        _unlink_quietly(trash)


def _unlink_quietly(path: str) -> None:
    """Delete a file of ours that is no longer needed; one already gone is no error."""
    try:
        os.unlink(path)
    except OSError:
        pass  # a leftover temporary name is never read: entries are only ever renamed in


def _hashed_files(certs: Sequence[bytes]) -> list[tuple[str, bytes]]:
    """``(HHHHHHHH.N, PEM)`` for each certificate; equal hashes numbered in store order."""
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


def _fill_hashed_dir(
    directory: str, key: str, files: list[tuple[str, bytes]]
) -> dict[str, os.stat_result]:
    """Write ``files`` and the manifest into ``directory``: the ``fstat`` of each file."""
    written = {name: _write_new(os.path.join(directory, name), data) for name, data in files}
    # The manifest goes last: a directory that has one was written completely. It is for
    # people; whether an entry is used depends on its files, never on what this says.
    written[_MANIFEST] = _write_new(os.path.join(directory, _MANIFEST), _manifest(key, files))
    return written


def _manifest(key: str, files: list[tuple[str, bytes]]) -> bytes:
    lines = [_MANIFEST_HEADER, key]
    lines += [f"{name} {sha256(data).hexdigest()}" for name, data in files]
    return ("\n".join(lines) + "\nend\n").encode()


def _write_new(path: str, data: bytes) -> os.stat_result:
    """Create ``path`` holding ``data``: its ``fstat`` once written (see _remember_built)."""
    # No fsync per file: ~140 journal commits cost a second on a busy disk, and durability is
    # not needed where every entry is verified against its manifest before use. A crash that
    # leaves short files behind is caught there and the entry rebuilt.
    # os.write, not a file object: a first run writes one file per root (architecture §9.2).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        write_all(fd, data, path)
        return os.fstat(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes, path: str) -> None:
    """Write all of ``data`` to ``fd`` (the file ``path``, named in the error)."""
    view = memoryview(data)
    while view:  # a regular file takes it whole; a short write only on a full disk
        written = os.write(fd, view)
        if not written:  # never loop forever on a file system that takes nothing
            raise OSError(f"could not write {path}: no bytes written")
        view = view[written:]


def _hashed_dir_holds(path: str, key: str, files: list[tuple[str, bytes]]) -> bool:
    """Whether ``path`` is a private directory of exactly ``files`` (and its ``MANIFEST``)."""
    try:
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or insecure(info):
            return False
        names = set(os.listdir(path))
    except OSError:
        return False
    if names != {*(name for name, _ in files), _MANIFEST}:
        return False
    expected = [*files, (_MANIFEST, _manifest(key, files))]
    return all(_read_private_file(os.path.join(path, name)) == data for name, data in expected)


def _lock_entry(root: str, key: str) -> int | None:
    """Serialize builders of one entry across processes and threads (best effort): the lock
    file's descriptor, for :func:`_unlock`; ``None`` when no lock file is possible (then the
    atomic rename alone keeps the entry whole)."""
    try:
        fd = os.open(
            os.path.join(root, f".lock-{key}"),
            os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0),
            0o600,
        )
    except OSError:
        return None
    try:
        _acquire(fd)
    except OSError:
        pass  # LK_LOCK gives up after ~10 s; a file system may have no flock: build anyway
    except BaseException:
        os.close(fd)
        raise
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing releases the lock


def _acquire(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)
