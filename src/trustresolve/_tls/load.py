"""Loading a resolved trust source into an ``ssl.SSLContext``, lazily (architecture §4).

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
   cannot reproduce exactly (``TRUSTED CERTIFICATE`` blocks with their trust bits, CRLs, blocks
   that do not parse, a name whose hash OpenSSL could compute differently), or when the cache
   cannot be used (then a warning names the cache directory and the fix).

The certificates trusted are the same in every case; only when they are parsed changes.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import threading
from dataclasses import dataclass

from .._errors import TrustResolveError, TrustSourceLoadError
from .._machine.fs import HASHED_NAME
from .._machine.model import TrustSource
from .._store import cache as _cache
from .._x509.der import Certificate, DERError
from .._x509.pem import scan_pem
from .._x509.subject_hash import name_hash
from .options import warn_caller

__all__ = ["load_source"]

# Bigger bundles are loaded as given; real ones are well under 1 MB.
_MAX_BUNDLE = 64 * 1024 * 1024

StatId = tuple[int, int, int, int, int]


@dataclass(frozen=True)
class _Plan:
    """How to load one source: lazily from ``capaths`` (in order), or as given (``eager``)."""

    capaths: tuple[str, ...] = ()
    eager: bool = False
    entry: str | None = None  # a materialized directory that must still be in place
    entry_id: tuple[int, int] | None = None


_EAGER = _Plan(eager=True)
_plans: dict[tuple[object, ...], _Plan] = {}
_plans_lock = threading.Lock()
_warned: set[str] = set()


def load_source(context: ssl.SSLContext, source: TrustSource) -> None:
    """Load ``source``'s CA certificates into ``context``, lazily where that trusts the same.

    A ``native`` source verifies through the OS and has nothing to load here; its snapshot
    ``fallback`` is what a plain ``ssl.SSLContext`` gets.
    """
    if source.kind == "native":
        if source.fallback is None:
            return
        source = source.fallback
    try:
        plan = _plan_for(source)
        if not plan.eager:
            for capath in plan.capaths:
                context.load_verify_locations(capath=capath)
            return
        if source.cafile or source.capath:
            context.load_verify_locations(cafile=source.cafile, capath=source.capath)
        if source.cadata:
            context.load_verify_locations(cadata=source.cadata)
    except (OSError, ssl.SSLError, ValueError) as exc:
        path = source.cafile or source.capath
        raise TrustSourceLoadError(
            f"could not load the {source.backend} store {path or '(in memory)'}: {exc}; "
            "run `python -m trustresolve --which` to see what was resolved",
            backend=source.backend,
            path=path,
        ) from exc


def _plan_for(source: TrustSource) -> _Plan:
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
    if source.cadata is not None:
        ders = _certs_of(source)
        if ders is None:
            return None
        return _materialized(_cache.materialize_hashed_dir(ders), dirs)
    assert source.cafile is not None  # _make_plan checked
    bundle_id = _stat_id(source.cafile)
    if bundle_id is None:
        return None
    if len(dirs) == 1:
        same_id = _same_identity(source.cafile, bundle_id, dirs[0])
        verdict = _recall(same_id)
        if verdict is None:
            ders = _certs_of(source)
            if ders is None:
                return None
            verdict = "same" if _reachable(dirs[0]) == set(ders) else "different"
            _remember(same_id, verdict)
        if verdict == "same":
            return _Plan(capaths=dirs)
    bundle_note = f"hashed\0{source.cafile}\0{bundle_id}"
    key = _recall(bundle_note)
    path = _cache.hashed_dir_for_key(key) if key else None
    if path is None:
        ders = ders if ders is not None else _certs_of(source)
        if ders is None:
            return None
        path = _cache.materialize_hashed_dir(ders)
        _remember(bundle_note, _cache.content_key(ders))
    return _materialized(path, dirs)


def _materialized(path: str, dirs: tuple[str, ...]) -> _Plan:
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


def _same_identity(bundle: str, bundle_id: StatId, directory: str) -> str:
    """The bundle, the directory and every hashed file in it, by path, size, mtime and inode."""
    parts = [f"same\0{bundle}\0{bundle_id}\0{directory}\0{_stat_id(directory)}"]
    for name in sorted(os.listdir(directory)):
        if HASHED_NAME.match(name):
            parts.append(f"{name}\0{_stat_id(os.path.join(directory, name))}")
    return "\0".join(parts)


def _recall(identity: str) -> str | None:
    try:
        return _cache.read_note(identity)
    except TrustResolveError:
        return None  # no usable cache: decide again in every process


def _remember(identity: str, value: str) -> None:
    with contextlib.suppress(TrustResolveError):
        _cache.write_note(identity, value)


def _read(path: str) -> bytes | None:
    """A regular file's bytes, or ``None`` (too big, not regular, changing while read)."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > _MAX_BUNDLE:
            return None
        data = handle.read(size + 1)
    return data if len(data) == size else None


def _clean(data: bytes) -> tuple[Certificate, ...] | None:
    """The certificates of ``data`` if that is all OpenSSL would load from it, else ``None``."""
    scan = scan_pem(data)
    if scan.bad_blocks or scan.trusted_blocks or scan.other_blocks:
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


def _reachable(directory: str) -> set[bytes] | None:
    """The certificates OpenSSL's by_dir lookup can find in ``directory``.

    ``None`` when a hashed file holds anything else (several certificates loaded together, a
    certificate filed under another hash, content that is not plain certificates).
    """
    numbers: dict[str, set[int]] = {}
    for name in os.listdir(directory):
        match = HASHED_NAME.match(name)
        if match:
            numbers.setdefault(match.group(1), set()).add(int(match.group(2)))
    found: set[bytes] = set()
    for prefix, present in numbers.items():
        number = 0
        while number in present:  # by_dir stops at the first missing number
            data = _read(os.path.join(directory, f"{prefix}.{number}"))
            certs = None if data is None else _clean(data)
            if not certs or len(certs) != 1:
                return None
            try:
                if name_hash(certs[0].subject) != prefix:
                    return None
            except DERError:
                return None
            found.add(certs[0].der)
            number += 1
    return found
