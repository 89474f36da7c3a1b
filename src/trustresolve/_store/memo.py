"""The start-up memo: a warm process answers with ``stat`` calls, not parsing (architecture §9.1).

A memo records what one full resolution and load plan decided (the ``capath`` list a context
loads, or the file :func:`~trustresolve.where` gives) together with everything that decided it:

- the interpreter, its OpenSSL and compiled-in paths, the package version and location, the
  user, the cache directory (the *key*; one memo file per key and purpose);
- every environment variable the backends and platformdirs read, set or not;
- the stat identity (device, inode, size, mtime, ctime, type and mode, owner) of every path
  the probe looked at, missing ones included (``_machine/journal.py``), of the store's files
  and hashed entries the plan read, and of the cache entry it built;
- the memo file's own device and inode.

:func:`recall` gives the decision back only when every one of those is unchanged, and the cache
directory and the memo file are private (``_store/private.py``). Anything else, including
any doubt, means "resolve fully" (and write a new memo). So a memo never widens trust: the
identities include ctimes and inodes, which nobody can set, so a store file edited in place
(even with its size and mtime restored), a file added to a hashed directory, a changed
variable or config file, a copied or restored cache (its files get new inodes and ctimes)
or a swapped cache file all miss, and the full path decides again by content.

The memo is used on Linux and the other Unix systems only: on macOS and Windows the OS stores
are not files a ``stat`` can vouch for. This module imports nothing heavier than ``os``: it is
the whole warm path of :func:`~trustresolve.create_default_context` and ``where()``.
"""

from __future__ import annotations

import os
import ssl
import stat
import sys

from .._machine.journal import LISTED, LSTAT, STAT, current
from .._machine.pathsafety import unsafe_reason
from .._version import __version__
from .private import insecure, read_private_file

TYPE_CHECKING = False  # not typing's (architecture §9.1)
if TYPE_CHECKING:
    from collections.abc import Iterable

    from .._machine.journal import Entry

__all__ = ["ALWAYS_READ", "CONTEXT", "WHERE", "applies", "forget", "recall", "remember"]

#: The purposes a memo answers for: the ``capath`` list of a default context, ``where()``.
CONTEXT = "context"
WHERE = "where"
_MAGIC = "trustresolve memo v2"
_MAX_MEMO = 4 * 1024 * 1024  # a memo of a 10,000-entry directory is ~1 MB
#: Read by platformdirs (config and cache directories) and by this module, not through facts.
ALWAYS_READ = (
    "HOME",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_CONFIG_DIRS",
    "TRUSTRESOLVE_CACHE_DIR",
)
_CACHE_VAR = "TRUSTRESOLVE_CACHE_DIR"
#: The variables that most often differ between the programs of one user (a service pinned to
#: its own bundle beside scripts using the system store): their values are part of the key, so
#: each environment keeps its own memo instead of the two replacing each other's on every run.
#: Only a slot: every variable the probe read is still checked on recall (:func:`_checked`).
_SLOT_VARIABLES = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "TRUSTRESOLVE_CONFIG",
    "TRUSTRESOLVE_NATIVE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)
# purpose -> results already recalled in this process, and the fields to re-check per call.
_recalled: dict[str, tuple[list[str], list[str]]] = {}


def applies() -> bool:
    """Whether this platform's trust is all in files a ``stat`` can vouch for."""
    return sys.platform not in ("win32", "darwin", "cygwin")


def _root() -> str | None:
    """The cache directory as platformdirs names it on Unix, without importing platformdirs.

    A guess that differs from platformdirs' answer only means no memo is found there: the key
    holds the directory the memo was written for.
    """
    configured = os.environ.get(_CACHE_VAR)
    if configured:
        return os.path.abspath(configured)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.expanduser("~/.cache")
    return os.path.join(base, "trustresolve") if os.path.isabs(base) else None


def _key(purpose: str, root: str) -> str:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    euid = os.geteuid() if hasattr(os, "geteuid") else -1
    return repr(
        (
            _MAGIC,
            purpose,
            __version__,
            here,
            sys.executable,
            sys.version,
            sys.platform,
            sys.implementation.name,
            ssl.OPENSSL_VERSION,
            tuple(ssl.get_default_verify_paths()),
            euid,
            root,
            tuple(os.environ.get(name) for name in _SLOT_VARIABLES),
        )
    )


def _path(purpose: str, root: str, key: str) -> str:
    import binascii  # loaded with ssl already

    return os.path.join(
        root, f"memo-{purpose}-{binascii.crc32(key.encode('utf-8', 'surrogateescape')):08x}"
    )


def recall(purpose: str) -> list[str] | None:
    """The results remembered for ``purpose``, or ``None``: then resolve fully."""
    if not applies():
        return None
    known = _recalled.get(purpose)
    if known is not None:
        results, quick = known
        # In one process a memo answers like resolve()'s per-process cache, with the checks
        # load.py makes of a plan: the variables, the directories and the files outside them.
        if _checked(quick) is not None:
            return results
        _recalled.pop(purpose, None)
    root = _root()
    if root is None:
        return None
    key = _key(purpose, root)
    found = read_private_file(_path(purpose, root, key), _MAX_MEMO)
    if found is None:
        return None
    data, opened = found
    body, _, check = data.rpartition(b"\0")
    if check != _checksum(body):
        return None  # cut short (it is not fsync'ed: a crash may leave part of it) or foreign
    fields = body.decode("utf-8", "surrogateescape").split("\0")
    if fields[:3] != [key, f"{opened.st_dev}:{opened.st_ino}", "entries"]:
        return None  # another key (a crc32 collision), or a copied or restored memo file
    checked = _checked(fields[3:])
    if not checked or not _root_private(root):
        return None
    _recalled[purpose] = (checked, _quick(fields[3:]))
    return checked


def _quick(fields: list[str]) -> list[str]:
    """The recorded variables, listed directories and files outside them, with the results."""
    listed = {fields[i + 1] for i in range(0, len(fields), 3) if fields[i] == LISTED}
    quick: list[str] = []
    for index in range(0, len(fields), 3):
        tag, name, _value = fields[index : index + 3]
        outside = tag == STAT and os.path.dirname(name) not in listed
        if tag in ("v", "w", "r", LISTED) or outside:
            quick += fields[index : index + 3]
    return quick


def _checked(fields: list[str]) -> list[str] | None:
    """The results, if every recorded fact is unchanged and every result was stat'ed."""
    if len(fields) % 3:
        return None
    vouched: set[str] = set()
    results: list[str] = []
    for index in range(0, len(fields), 3):
        tag, name, value = fields[index : index + 3]
        if tag in (LSTAT, STAT, LISTED):
            if current(name, tag) != value:
                return None
            if tag != LSTAT:
                vouched.add(name)
        elif tag == "v":
            found = os.environ.get(name)
            if ("" if found is None else "=" + found) != value:
                return None
        elif tag == "w":
            if os.getcwd() != value:
                return None
        elif tag == "r":
            results.append(value)
        else:
            return None
    if not all(path in vouched for path in results):
        return None  # a result nothing vouches for is not ours
    return results


def _root_private(root: str) -> bool:
    try:
        info = os.lstat(root)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and not insecure(info) and unsafe_reason(root) is None


def forget() -> None:
    """Drop what this process recalled (``resolve(refresh=True)``)."""
    _recalled.clear()


def remember(
    purpose: str,
    journal: Iterable[Entry],
    environ_read: dict[str, str | None],
    results: list[str],
) -> None:
    """Write the memo for ``purpose``; best effort (a cache that cannot be written is no error).

    ``journal`` must hold a ``stat`` identity, taken before it was read, of everything the
    results were decided from, each result path included; ``environ_read`` every variable
    read, with the value it had then (``None``: unset), :data:`ALWAYS_READ` among them.
    """
    if not applies() or not results:
        return
    root = _root()
    from .cache import cache_location

    if root is None or root != cache_location()[0]:
        return  # the warm path would not find it there (see _root)
    entries = _entries(journal)
    vouched = {path for (how, path) in (entries or {}) if how != LSTAT}
    if entries is None or not vouched.issuperset(results):
        return
    key = _key(purpose, root)
    fields = ["entries"]
    for (how, path), ident in sorted(entries.items()):
        fields += [how, path, ident]
    for name, value in sorted(environ_read.items()):
        fields += ["v", name, "" if value is None else "=" + value]
    if any(_relative(value) for value in environ_read.values()):
        # SSL_CERT_FILE=bundle.pem means another file in another working directory.
        fields += ["w", "", os.getcwd()]
    for result in results:
        fields += ["r", "", result]
    if any("\0" in field for field in fields):
        return
    _write(root, _path(purpose, root, key), key, fields)


def _relative(value: str | None) -> bool:
    """Whether a variable's value names a path relative to the working directory (conservative:
    any part of a ``:`` list that is not absolute, so ``TRUSTRESOLVE_NATIVE=0`` counts too)."""
    return value is not None and any(p and not os.path.isabs(p) for p in value.split(os.pathsep))


def _entries(journal: Iterable[Entry]) -> dict[tuple[str, str], str] | None:
    """One identity per path; ``None`` if a path was seen with two (it changed meanwhile)."""
    entries: dict[tuple[str, str], str] = {}
    for how, path, ident in journal:
        if entries.setdefault((how, path), ident) != ident:
            return None
    return entries


def _checksum(body: bytes) -> bytes:
    import binascii  # loaded with ssl already

    return b"%08x" % binascii.crc32(body)


def _write(root: str, path: str, key: str, fields: list[str]) -> None:
    from .cache import new_private_file, write_all

    try:
        fd, tmp = new_private_file(root, ".tmp-memo-")  # mode 0600
    except OSError:
        return
    try:
        try:
            info = os.fstat(fd)
            # The memo names its own inode: a copy of the file (a restored cache) has
            # another, so it is never taken for one written here. No fsync: the checksum
            # last makes a memo a crash cut short (the results are at its end: a shorter
            # list of directories would trust less) fail in recall(), and the full path
            # runs (§9.1).
            text = "\0".join([key, f"{info.st_dev}:{info.st_ino}", *fields])
            body = text.encode("utf-8", "surrogateescape")
            write_all(fd, body + b"\0" + _checksum(body), tmp)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass  # best effort, as the whole memo is
