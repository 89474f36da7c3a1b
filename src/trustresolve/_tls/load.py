"""Loading a resolved trust source into an ``ssl.SSLContext``, lazily (architecture §9).

OpenSSL parses every certificate of a ``cafile`` when it is loaded (~40 ms for 140 roots, for
every new context), but reads a hashed directory (``capath``) only for the issuers a handshake
asks for. So a source is loaded as a hashed directory holding exactly its trust set:

1. the store's own directory, when it carries the same certificates as its bundle (Debian's
   ``/etc/ssl/certs`` beside ``ca-certificates.crt``); checked once per store identity (paths,
   sizes, mtimes, inodes of the bundle, the directory and its hashed files), remembered in memory
   and in the user cache;
2. otherwise a directory materialized in the user cache from the bundle and/or ``cadata``
   (:mod:`trustresolve._store.cache`), plus the source's own ``capath`` after it, as before;
3. otherwise, the source as given (eagerly): when the bundle holds anything a hashed directory
   cannot reproduce exactly (CRLs, keys, blocks that do not parse, a name whose hash OpenSSL
   could compute differently; ``TRUSTED CERTIFICATE`` blocks never get here, the backends
   hand their TLS anchors over as plain ``cadata``), or when the cache cannot be used (then a
   warning names the cache directory and the fix; also when its path holds the list separator).

The certificates trusted are the same in every case; only when they are parsed changes.
"""

from __future__ import annotations

import _thread
import os
import ssl
import stat

from .._errors import TrustResolveError, TrustSourceLoadError, warn_caller
from .._limits import LAZY_BUNDLE_BYTES
from .._machine.fs import is_hashed_name, split_hashed_name
from .._machine.journal import LISTED, LSTAT, MISSING, STAT, current, take_answers
from .._machine.journal import identity as stat_identity
from .._machine.model import TrustSource
from .._record import record
from .._store import cache as _cache
from .._x509.der import Certificate, DERError, parse_certificate
from .._x509.pem import der_to_pem, lone_certificate, scan_pem
from .._x509.subject_hash import name_hash, name_hash_old

__all__ = ["load_source", "plan_dependencies", "remember_plan"]

# Bigger bundles are loaded as given; the bound the probe read them under.
_MAX_BUNDLE = LAZY_BUNDLE_BYTES

StatId = tuple[int, int, int, int, int]
TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from .._machine.journal import Entry


@record(frozen=True)
class _Plan:
    """How to load one source: lazily from ``capaths`` (in order), or as given (``eager``)."""

    capaths: tuple[str, ...] = ()
    eager: bool = False
    entry: str | None = None  # a materialized directory that must still be in place
    entry_id: tuple[int, int] | None = None


_EAGER = _Plan(eager=True)
_plans: dict[tuple[object, ...], _Plan] = {}
_plans_lock = _thread.allocate_lock()  # not threading's: not imported by a first run
_warned: set[str] = set()


def _reinit_after_fork() -> None:
    """A child forked while another thread held the lock would wait for it forever."""
    global _plans_lock  # noqa: PLW0603 - replaced only in a fork child
    _plans_lock = _thread.allocate_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)


def load_source(context: ssl.SSLContext, source: TrustSource) -> None:
    """Load ``source``'s CA certificates into ``context``, lazily where that trusts the same.

    A ``native`` source verifies through the OS and has nothing to load here; its snapshot
    ``fallback`` is what a plain ``ssl.SSLContext`` gets.
    """
    plain = source.without_native()
    if plain is None:
        return
    source = plain
    try:
        plan = _plan_for(source)
        if not plan.eager:
            for capath in plan.capaths:
                context.load_verify_locations(capath=capath)
            return
        _load_as_given(context, source)
    except (OSError, ssl.SSLError, ValueError) as exc:
        path = source.cafile or source.capath
        raise TrustSourceLoadError(
            f"could not load the {source.backend} store {path or '(in memory)'}: {exc}; "
            "run `python -m trustresolve --which` to see what was resolved",
            backend=source.backend,
            path=path,
        ) from exc


def plan_dependencies(source: TrustSource) -> list[Entry]:
    r"""The stat identity of every store file a plan for ``source`` reads, taken *before* it is
    made (``_machine/journal.py``): the bundle, each directory and each hashed entry in it.

    A hashed entry the probe just ``stat``\ ed keeps that answer (``take_answers``: also taken
    before anything was read), and the listing with its ``stat`` results is handed to the plan
    (:func:`_hashed_entries`), so a first run ``stat``\ s each entry once, not three times.
    Each is listed here even though the probe's journal holds it too: if another thread's
    probe has replaced that journal meanwhile, two identities for one path make the memo
    refuse to be written (``_store/memo.py`` ``_entries``), never vouch for a later one.
    """
    plain = source.without_native()
    if plain is None:
        return []
    answers = take_answers()
    found: list[Entry] = []
    if plain.cafile:
        found.append((STAT, plain.cafile, current(plain.cafile, STAT)))
    for directory in _dirs(plain):
        found.append((LISTED, directory, current(directory, LISTED)))
        entries = _list_hashed(directory, answers)
        _listed[directory] = entries
        for name, info in entries.items():
            path = os.path.join(directory, name)
            found.append((STAT, path, MISSING if info is None else stat_identity(info)))
    return found


def remember_plan(source: TrustSource, dependencies: list[Entry]) -> None:
    """Keep a lazy plan for ``source`` in the start-up memo (architecture §9.1).

    ``dependencies`` come from :func:`plan_dependencies`, called before the plan was made; an
    eager plan is not remembered (the full path serves it as given).
    """
    from .._store import memo
    from .._store.resolve import current_journal

    known = current_journal()
    plain = source.without_native()
    if known is None or plain is None or not memo.applies():
        return
    plan = _plan_for(plain)
    if plan.eager or not plan.capaths:
        return
    journal, environ_read = known
    entries = [*journal, *dependencies]
    if plan.entry is not None:
        entries += _entry_identities(plan.entry)
    memo.remember(memo.CONTEXT, entries, environ_read, list(plan.capaths))


def _entry_identities(entry: str) -> list[Entry]:
    r"""The identity of a materialized directory and of each of its files, for the memo: as
    the cache's stamp of it took them when it was just built or checked (the same ``lstat``,
    nothing read since), else ``lstat``\ ed now."""
    stamped = _cache.stamped_files(entry)
    if stamped is not None:
        info, files = stamped
        found = [(LISTED, entry, stat_identity(info, listed=True))]
        for name, file_info in files.items():
            found.append((LSTAT, os.path.join(entry, name), stat_identity(file_info)))
        return found
    found = [(LISTED, entry, current(entry, LISTED))]
    try:
        names = os.listdir(entry)
    except OSError:
        names = []  # gone: the memo then vouches for nothing there and is not written
    for name in names:
        path = os.path.join(entry, name)
        found.append((LSTAT, path, current(path, LSTAT)))
    return found


def _load_as_given(context: ssl.SSLContext, source: TrustSource) -> None:
    """The source as given, except a directory OpenSSL must not be handed.

    A hashed name that is a FIFO, device, socket or directory would block (or fail) OpenSSL's
    by_dir lookup at handshake time, long after this call: such a directory is not given as a
    ``capath``; the certificates of its regular hashed entries are loaded instead.
    """
    dirs = _dirs(source)
    odd = [directory for directory in dirs if _special(_hashed_entries(directory))]
    capath = os.pathsep.join(d for d in dirs if d not in odd) or None
    if source.cafile or capath:
        context.load_verify_locations(cafile=source.cafile, capath=capath)
    if source.cadata:
        context.load_verify_locations(cadata=source.cadata)
    for directory in odd:
        pem = _regular_entries_pem(directory)
        if pem:
            context.load_verify_locations(cadata=pem)


def _regular_entries_pem(directory: str) -> str:
    """The TLS roots of ``directory``'s regular hashed files, as one PEM text."""
    blocks = []
    for name, info in sorted(_hashed_entries(directory).items()):
        if info is None or not stat.S_ISREG(info.st_mode):
            continue
        try:
            data = _read(os.path.join(directory, name))
        except OSError:
            continue  # gone or unreadable: by_dir would skip it too
        if data is not None:
            blocks += [der_to_pem(cert.der) for cert in scan_pem(data).certificates]
    return "".join(blocks)


def _plan_for(source: TrustSource) -> _Plan:
    try:
        return _planned(source)
    finally:
        # A listing plan_dependencies handed over is for the plan that follows it only (the
        # one made now, or none when the plan was made before): never a later one's "before".
        for directory in _dirs(source):
            _listed.pop(directory, None)


def _planned(source: TrustSource) -> _Plan:
    identity = (
        source.cafile,
        _stat_id(source.cafile),
        source.capath,
        tuple(_stat_id(path) for path in _dirs(source)),
        source.cadata,
    )
    plan = _plans.get(identity)
    if plan is not None and _in_place(plan):
        return plan
    with _plans_lock:  # one thread builds; the others reuse its plan
        plan = _plans.get(identity)
        if plan is None or not _in_place(plan):
            plan = _make_plan(source)
            if len(_plans) >= 64:  # stores come and go (tests, cadata snapshots): stay small
                _plans.clear()
            _plans[identity] = plan
    return plan


def _make_plan(source: TrustSource) -> _Plan:
    if not source.cafile and not source.cadata:
        return _EAGER  # only a capath: OpenSSL already reads it lazily
    try:
        return _lazy_plan(source) or _EAGER
    except _cache.UnnameableCertificateError:
        return _EAGER
    except TrustResolveError as exc:
        message = f"trustresolve loads the CA bundle eagerly (slower, same trust): {exc}"
        if message not in _warned:
            _warned.add(message)
            # The caller's line, however deep the public entry point that got here.
            warn_caller(message, RuntimeWarning)
        return _EAGER
    except OSError:
        return _EAGER  # loading the source as given reports the problem, as it always has


def _lazy_plan(source: TrustSource) -> _Plan | None:
    dirs = _dirs(source)
    ders: list[bytes] | None = None
    entries = {d: _hashed_entries(d) for d in dirs}
    special = tuple(d for d in dirs if _special(entries[d]))
    if source.cadata is not None or special:
        return _materialized_with(source, dirs, special)
    assert source.cafile is not None  # _make_plan checked
    bundle_id = _stat_id(source.cafile)
    if bundle_id is None:
        return None
    if len(dirs) == 1:
        same_id = _same_identity(source.cafile, bundle_id, dirs[0], entries[dirs[0]])
        verdict = _recall(same_id)
        if verdict is None:
            ders = _certs_of(source)
            if ders is None:
                return None
            found = _reachable(dirs[0], entries[dirs[0]])
            verdict = "same" if found == set(ders) else "different"
            _remember(same_id, verdict)
        if verdict == "same":
            return _Plan(capaths=dirs)
    # The note says which entry was built from this very bundle, and the stat identity that
    # entry had when it was checked against the bundle's certificates (architecture §9). A
    # note from another machine's cache (a restored CI cache) names an identity no file here
    # has, so the entry is checked against the bundle again: a cache never adds a root.
    bundle_note = f"hashed\0{source.cafile}\0{bundle_id}"
    key, _, stamp = (_recall(bundle_note) or "").partition(" ")
    path = _cache.hashed_dir_for_key(key, stamp) if key and stamp else None
    if path is None:
        ders = ders if ders is not None else _certs_of(source)
        if ders is None:
            return None
        path = _cache.materialize_hashed_dir(ders)
        new_stamp = _cache.verified_stamp(ders)  # taken right after the check (or the build)
        if new_stamp is not None:
            _remember(bundle_note, f"{_cache.hashed_dir_key(ders)} {new_stamp}")
    return _materialized(path, dirs)


def _materialized_with(
    source: TrustSource, dirs: tuple[str, ...], special: tuple[str, ...]
) -> _Plan | None:
    """One entry for the bundle, ``cadata`` and every directory OpenSSL must not be given.

    A hashed name that is a FIFO, device, socket or directory would block or fail OpenSSL's
    by_dir lookup at handshake time; such a directory's certificates are copied (those by_dir
    reaches before the odd entry) and the directory itself is not handed to OpenSSL.
    """
    ders = _certs_of(source)
    if ders is None:
        return None
    for directory in special:
        found = _reachable(directory, _hashed_entries(directory))
        if found is None:
            return None
        ders.extend(sorted(found))
    if not ders:
        return None
    rest = tuple(d for d in dirs if d not in special)
    return _materialized(_cache.materialize_hashed_dir(ders), rest)


# directory -> its hashed entries as plan_dependencies just listed and stat'ed them, for the
# plan it precedes (one use each; a plan made any other way lists the directory itself).
_listed: dict[str, dict[str, os.stat_result | None]] = {}


def _hashed_entries(directory: str) -> dict[str, os.stat_result | None]:
    """``stat()`` (links followed) of every hashed name in ``directory``; ``None``: dangling."""
    handed = _listed.pop(directory, None)
    return handed if handed is not None else _list_hashed(directory, {})


def _list_hashed(
    directory: str, answers: dict[tuple[str, bool], os.stat_result | None]
) -> dict[str, os.stat_result | None]:
    """:func:`_hashed_entries`, taking the ``stat`` of an entry from ``answers`` when it is
    there (``take_answers``: what the probe saw before anything was read)."""
    found: dict[str, os.stat_result | None] = {}
    try:
        names = os.listdir(directory)
    except OSError:
        return found
    for name in names:
        if is_hashed_name(name):
            path = os.path.join(directory, name)
            if (path, True) in answers:
                found[name] = answers[path, True]
                continue
            try:
                found[name] = os.stat(path)
            except (OSError, ValueError):
                found[name] = None  # by_dir's stat() fails too and it moves on
    return found


def _special(entries: dict[str, os.stat_result | None]) -> bool:
    """Whether a hashed name leads to something that is not a regular file (never opened)."""
    return any(info is not None and not stat.S_ISREG(info.st_mode) for info in entries.values())


def _materialized(path: str, dirs: tuple[str, ...]) -> _Plan:
    if os.pathsep in path:
        # OpenSSL would split this one directory in two, one relative to the working directory.
        raise TrustResolveError(
            f"the cache directory {path!r} contains {os.pathsep!r}, OpenSSL's capath list "
            "separator; set TRUSTRESOLVE_CACHE_DIR (or XDG_CACHE_HOME) to a path without it"
        )
    info = os.lstat(path)
    # The store's own capath stays after the copy of its bundle, as when both were loaded.
    return _Plan(capaths=(path, *dirs), entry=path, entry_id=(info.st_dev, info.st_ino))


def _in_place(plan: _Plan) -> bool:
    """Whether a materialized directory is still the one planned (not deleted or replaced)."""
    if plan.entry is None:
        return True
    try:
        info = os.lstat(plan.entry)
    except OSError:
        return False
    return (info.st_dev, info.st_ino) == plan.entry_id


def _dirs(source: TrustSource) -> tuple[str, ...]:
    # OpenSSL splits a capath on the platform's list separator, as SSL_CERT_DIR does.
    return tuple(part for part in (source.capath or "").split(os.pathsep) if part)


def _stat_id(path: str | None) -> StatId | None:
    if not path:
        return None
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _same_identity(
    bundle: str,
    bundle_id: StatId,
    directory: str,
    entries: dict[str, os.stat_result | None],
) -> str:
    """The bundle, the directory and every hashed file in it, by path, size, mtime and inode."""
    parts = [f"same\0{bundle}\0{bundle_id}\0{directory}\0{_stat_id(directory)}"]
    for name in sorted(entries):
        parts.append(f"{name}\0{_id_of(entries[name])}")
    return "\0".join(parts)


def _id_of(info: os.stat_result | None) -> StatId | None:
    if info is None:
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _recall(identity: str) -> str | None:
    try:
        return _cache.read_note(identity)
    except TrustResolveError:
        return None  # no usable cache: decide again in every process


def _remember(identity: str, value: str) -> None:
    try:
        _cache.write_note(identity, value)
    except TrustResolveError:
        pass  # no usable cache: the next process decides again


def _read(path: str) -> bytes | None:
    """A regular file's bytes, or ``None`` (too big, not regular, changing while read).

    Opened without blocking (a FIFO named like a hash would otherwise wait for a writer
    forever), and judged by ``fstat`` of what was opened, as ``_machine/fs.py`` does.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)  # no file object: a first run reads a whole hashed directory
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_BUNDLE:
            return None
        wanted = info.st_size + 1  # one byte more shows a file that grew
        data = os.read(fd, wanted)
        # A regular file gives all it has at once: getting exactly its size back is its end,
        # so there is no second read just to see the end (one call less per hashed file).
        chunks, got = [data], len(data)
        while data and got < wanted and got != info.st_size:
            data = os.read(fd, wanted - got)
            chunks.append(data)
            got += len(data)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return data if len(data) == info.st_size else None


def _clean(data: bytes) -> tuple[Certificate, ...] | None:
    """The certificates of ``data`` if that is all OpenSSL would load from it, else ``None``."""
    scan = scan_pem(data)
    if not scan.exact:  # trust settings, CRLs, keys, garbage: OpenSSL would read more or fail
        return None
    # A block our scanner did not see at all (odd framing) might still be read by OpenSSL.
    if data.count(b"-----BEGIN ") != len(scan.certificates):
        return None
    return scan.certificates


def _certs_of(source: TrustSource) -> list[bytes] | None:
    """The DER certificates of the source's bundle and cadata, or ``None`` if not reproducible."""
    ders: list[bytes] = []
    chunks: list[bytes | None] = []
    if source.cafile:
        chunks.append(_read(source.cafile))
    if source.cadata is not None:
        try:
            chunks.append(source.cadata.encode("ascii"))
        except UnicodeEncodeError:
            return None
    for data in chunks:
        certs = None if data is None else _clean(data)
        if not certs:
            return None  # an empty bundle errors when loaded as given; keep that
        ders.extend(cert.der for cert in certs)
    return ders


def _one_certificate(data: bytes | None) -> Certificate | None:
    """The certificate of a hashed file that holds exactly one and nothing else, or ``None``.

    A file framed as the layouts of ``update-ca-certificates``, ``openssl rehash`` and
    ``c_rehash`` frame every root (``lone_certificate``) is decoded and parsed through the
    memos the bundle's scan filled, not scanned again: scanning 150 of them was a third of a
    first run (architecture §9.2). Any other bytes (CRLF line ends, text around the block,
    several blocks) are scanned.
    """
    if data is None:
        return None
    der = lone_certificate(data)
    if der is not None:
        try:
            return parse_certificate(der)  # memoized: the probe parsed the bundle's copy
        except DERError:
            return None  # as the scan says of a block that does not parse
    certs = _clean(data)
    return certs[0] if certs and len(certs) == 1 else None


def _reachable(directory: str, entries: dict[str, os.stat_result | None]) -> set[bytes] | None:
    """The certificates OpenSSL's by_dir lookup can find in ``directory``, whose hashed names
    ``stat`` as ``entries`` (:func:`_hashed_entries`: one listing and one ``stat`` each); each
    file is read by :func:`_one_certificate`.

    ``None`` when a hashed file holds anything else (several certificates loaded together, a
    certificate filed under another hash, content that is not plain certificates). A link under
    a certificate's old MD5 hash (p11-kit ``trust extract`` and ``c_rehash`` write one beside
    the lookup link) is counted as reachable: OpenSSL opens it when another subject's lookup
    hash collides with it.
    """
    numbers: dict[str, set[int]] = {}
    for name in entries:
        split = split_hashed_name(name)
        if split is not None:
            numbers.setdefault(split[0], set()).add(split[1])
    found: set[bytes] = set()
    for prefix, present in numbers.items():
        number = 0
        while number in present:  # by_dir stops at the first missing number
            name = f"{prefix}.{number}"
            info = entries.get(name)
            if info is None or not stat.S_ISREG(info.st_mode):
                break  # never opened: by_dir would block or fail on it (see _materialized_with)
            cert = _one_certificate(_read(os.path.join(directory, name)))
            if cert is None:
                return None
            try:
                # The old hash only when the lookup hash is not the name (memoized, unlike it).
                if prefix != name_hash(cert.subject) and prefix != name_hash_old(cert.subject):
                    return None
            except DERError:
                return None
            found.add(cert.der)
            number += 1
    return found
