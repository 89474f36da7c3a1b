"""``where_dir()``: the resolved store as one hashed directory, for clients that take a ``capath``.

requests hands a directory given as ``verify=`` to urllib3 as ``ca_cert_dir``
(``requests/adapters.py`` ``cert_verify``), which OpenSSL loads lazily, as the contexts of
:func:`trustresolve.create_default_context` load it (architecture §9). The directory is the one
the loader itself picks (``_tls/load.py`` ``_plan_for``), so a warm process only ``stat``\\ s it:

1. the store's own hashed directory, when it carries exactly the certificates of its bundle;
2. a directory-only store as it is, since OpenSSL reads it as given anyway;
3. otherwise a directory materialized in the user cache from the certificates :func:`where`
   holds (a bundle-only store, a snapshot, a bundle beside a directory that differs from it).

It lives beside the loader, not in ``_store``: it needs the loader's plan, and imports follow the
data flow (architecture §1). Here lives the one extra rule: a plan of several directories, or a
store that no hashed directory can reproduce, is never handed out as a single directory that
would trust more or less.
"""

from __future__ import annotations

import os

from .._errors import NoTrustStoreError, TrustResolveError
from .._store import memo

# Not typing's, and the loader only when needed: a warm where_dir() is the start-up memo's
# answer (architecture §9.1), which imports neither typing, dataclasses nor the loader.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._machine.journal import Entry
    from .._machine.model import Resolution, TrustSource

__all__ = ["where_dir"]


def where_dir(resolution: Resolution | None = None) -> str:
    """The path of a hashed directory (OpenSSL ``capath``) holding the resolved trust set.

    The same certificates as :func:`where`, named as ``openssl rehash`` names them, so OpenSSL
    reads only the issuers a handshake needs: hand it to requests as
    ``verify=trustresolve.where_dir()``. The store's own directory when it carries exactly the
    bundle's certificates (Debian's ``/etc/ssl/certs``); otherwise a private directory in the
    user cache, built once per trust set. Where the OS verifies (macOS, Windows), the snapshot
    :func:`where` writes, as for :func:`where`.

    Raises :class:`NoTrustStoreError` when no directory can hold exactly that set (a
    certificate whose subject hash OpenSSL could compute differently, or no usable cache); use
    :func:`where` then.
    """
    if resolution is None:
        return _remembered_or_resolved()
    return _where_dir(resolution)


def _remembered_or_resolved() -> str:
    """The memo's directory when the context memo holds exactly one (the loader's own pick,
    the case ``_loaders_directory`` returns, checked by stat identity like every memo);
    otherwise resolve, and leave that memo for the next process."""
    remembered = memo.recall(memo.CONTEXT)
    if remembered is not None and len(remembered) == 1:
        return remembered[0]
    from .._store.resolve import resolve
    from . import load as _load

    resolution = resolve()
    source = resolution.source
    # As the context's full path decides (_tls/context.py _load_and_remember): no memo for a
    # store the OS verifies, nor where memos do not apply.
    remember = source is not None and not source.verified_by_os and memo.applies()
    dependencies: list[Entry] = []
    if remember and source is not None:
        dependencies = _load.plan_dependencies(source)  # before the plan reads anything
    path = _where_dir(resolution)
    if remember and source is not None:
        _load.remember_plan(source, dependencies)
    return path


def _where_dir(resolution: Resolution) -> str:
    from .._store.resolve import written_source

    source = written_source(resolution, "a hashed directory")
    found = _loaders_directory(source)
    if found is not None:
        return found
    return _cache_directory(source, resolution)


def _cache_directory(source: TrustSource, resolution: Resolution) -> str:
    """A hashed directory of ``where()``'s certificates in the user cache."""
    from .._store import cache as _cache

    try:
        path = _cache.materialize_hashed_dir(source.certificates)
    except TrustResolveError as exc:
        raise _no_directory(str(exc), resolution) from exc
    if os.pathsep in path:
        # OpenSSL splits a capath on it: one half could be a directory relative to the cwd.
        raise _no_directory(
            f"the cache directory {path!r} contains {os.pathsep!r}, OpenSSL's capath list "
            "separator; set TRUSTRESOLVE_CACHE_DIR (or XDG_CACHE_HOME) to a path without it",
            resolution,
        )
    return path


def _no_directory(reason: str, resolution: Resolution) -> NoTrustStoreError:
    return NoTrustStoreError(
        f"the resolved store cannot be written as a hashed directory that trusts exactly its "
        f"certificates: {reason}; use trustresolve.where() (one PEM bundle) instead",
        resolution,
    )


def _loaders_directory(source: TrustSource) -> str | None:
    """The one directory the loader would hand OpenSSL for ``source``, if it is just one."""
    from . import load as _load

    dirs = _load._dirs(source)
    if not source.cafile and source.cadata is None:
        # A directory-only store, loaded as given: one plain directory is the store itself.
        if len(dirs) == 1 and not _load._special(_load._hashed_entries(dirs[0])):
            return dirs[0]
        return None
    plan = _load._plan_for(source)
    if not plan.eager and len(plan.capaths) == 1:
        return plan.capaths[0]
    return None  # eager, or a copy of the bundle with the store's own directory after it
