"""``inject_into_ssl()`` / ``extract_from_ssl()``: the resolved store as the process default.

Two patches on the ``ssl.SSLContext`` class reach every context, whoever made it and whenever
its module was imported, because methods are looked up on the class at call time:

- ``load_default_certs``: what ``ssl.create_default_context()`` calls when no CA is given (also
  through references taken with ``from ssl import create_default_context`` before injection),
  what urllib3's ``ssl_wrap_socket``, asyncio's streams, ``urllib.request`` and PyMongo's
  ``get_ssl_context`` reach without a CA of their own.
- ``load_verify_locations``: a library whose *default* is certifi's bundle (requests'
  ``DEFAULT_CA_BUNDLE_PATH``, httpx's ``create_ssl_context``, pip's vendored copies) hands that
  file to this method. A ``cafile`` that is a certifi package's ``cacert.pem`` is the library's
  default, not a user's choice, so the resolved store is loaded in its place. Any other file,
  directory or ``cadata`` the user named is loaded as given: an explicit CA keeps its meaning.

Some libraries build a context when they are imported and keep it; those objects are swapped
here, the way truststore's ``inject_into_ssl`` swaps requests' preloaded context (truststore
``src/truststore/_api.py``): aiohttp's ``connector._SSL_CONTEXT_VERIFIED`` and requests 2.32's
``adapters._preloaded_ssl_context``. If such a module is first imported *during* injection, its
context already holds the resolved store; extraction rebuilds it with the library's own factory,
so that after :func:`extract_from_ssl` every library is as it would be had injection never
happened. Contexts that user code created during injection keep what they loaded.

Only modules already imported are touched (nothing is imported for the sake of patching it),
and importing this module patches nothing.
"""

from __future__ import annotations

import os
import ssl
import sys
import threading
import warnings
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

from .context import InsecureContextWarning, resolved_source
from .load import load_source

__all__ = ["extract_from_ssl", "inject_into_ssl", "is_injected"]

_MISSING = object()  # "the attribute did not exist" (restored by deleting it)
_lock = threading.RLock()  # re-entrant: resolving under the lock may build contexts itself


@dataclass(frozen=True)
class _Swap:
    """One attribute replaced by injection, and what it held before."""

    holder: Any
    name: str
    original: Any
    replacement: Any

    def apply(self) -> None:
        setattr(self.holder, self.name, self.replacement)

    def undo(self) -> None:
        # Put back only what we put there: if someone replaced it since, theirs stays.
        if _own_attribute(self.holder, self.name) is not self.replacement:
            return
        if self.original is _MISSING:
            delattr(self.holder, self.name)
        else:
            setattr(self.holder, self.name, self.original)


@dataclass
class _State:
    stdlib_load_default_certs: Callable[..., None]
    stdlib_load_verify_locations: Callable[..., None]
    swaps: list[_Swap] = field(default_factory=list)
    # Preloaded-context holders already imported at injection (swapped, so restored by undo).
    preloaded_at_injection: set[str] = field(default_factory=set)
    # Contexts that got the resolved store from the patched load_default_certs.
    loaded: weakref.WeakSet[ssl.SSLContext] = field(default_factory=weakref.WeakSet)
    # urllib.request's cached default opener before injection (None: none cached).
    urllib_opener: Any = None


_active: dict[str, _State] = {}  # "state" -> the injection in effect (no `global` needed)
_warned: set[str] = set()


def _own_attribute(holder: Any, name: str) -> Any:
    # vars(): a class's own attribute, not one inherited (restoring must not copy it down).
    return vars(holder).get(name, _MISSING)


def inject_into_ssl() -> None:
    """Make the resolved store the default trust store of every ``ssl`` context in the process.

    Every client that would verify against ``ssl``'s defaults or against certifi's bundle
    verifies against the resolved store instead, whether it was imported before or after this
    call: ``ssl.create_default_context()``, urllib3, requests, httpx, aiohttp, ``urllib.request``,
    asyncio streams, PyMongo and pip's vendored requests. A CA file, directory or ``cadata``
    that the user passed explicitly is kept. Contexts built before injection keep their roots,
    except the import-time contexts of aiohttp and requests, which are swapped.

    Idempotent and thread-safe; :func:`extract_from_ssl` undoes it exactly. Resolves first, so a
    machine without a usable store fails here with :class:`NoTrustStoreError` rather than inside
    someone else's handshake.
    """
    with _lock:
        if "state" in _active:
            return
        resolved_source()
        state = _State(ssl.SSLContext.load_default_certs, ssl.SSLContext.load_verify_locations)
        # Active before the swaps: rebuilding a preloaded context goes through the patches.
        _active["state"] = state
        try:
            _swap(state, ssl.SSLContext, "load_default_certs", _patched_load_default_certs)
            _swap(state, ssl.SSLContext, "load_verify_locations", _patched_load_verify_locations)
            _swap_pyopenssl_context(state)
            _swap_preloaded_contexts(state)
            _forget_urllib_default_opener(state)
        except BaseException:
            del _active["state"]
            for swap in reversed(state.swaps):
                swap.undo()
            raise


def extract_from_ssl() -> None:
    """Undo :func:`inject_into_ssl` exactly: every replaced attribute gets its original back.

    Import-time contexts of libraries first imported while injection was in effect are rebuilt
    with the library's own factory, so they trust what they would have trusted without it.
    """
    with _lock:
        state = _active.pop("state", None)
        if state is None:
            return
        for swap in reversed(state.swaps):
            swap.undo()
        _rebuild_preloaded_contexts(state)
        _restore_urllib_default_opener(state)


def is_injected() -> bool:
    """Whether :func:`inject_into_ssl` is in effect."""
    return "state" in _active


def _swap(state: _State, holder: Any, name: str, replacement: Any) -> None:
    swap = _Swap(holder, name, _own_attribute(holder, name), replacement)
    swap.apply()
    state.swaps.append(swap)


def _store_to_load() -> Any:
    """The resolved source to load for a client context, or None to keep ``ssl``'s behaviour.

    A native (OS-verified) source without a snapshot has no file to load.
    """
    source = resolved_source()
    return source if source.without_native() is not None else None


def _patched_load_default_certs(
    self: ssl.SSLContext, purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH
) -> None:
    """The resolved store for contexts that verify servers; ``ssl``'s own for the rest.

    A server verifying client certificates (``Purpose.CLIENT_AUTH``) has nothing to do with the
    roots a client trusts, so it keeps ``ssl``'s behaviour.
    """
    state = _active.get("state")
    source = _store_to_load() if purpose == ssl.Purpose.SERVER_AUTH else None
    if source is None:
        # After extraction (a bound method kept from before) the class has its method back.
        original = state.stdlib_load_default_certs if state else ssl.SSLContext.load_default_certs
        original(self, purpose)
        return
    _warn_if_called_by_pymysql()
    load_source(self, source)
    if state is not None:
        state.loaded.add(self)


def _patched_load_verify_locations(
    self: ssl.SSLContext, cafile: Any = None, capath: Any = None, cadata: Any = None
) -> None:
    """A certifi bundle given as a library's default becomes the resolved store."""
    state = _active.get("state")
    original = state.stdlib_load_verify_locations if state else ssl.SSLContext.load_verify_locations
    source = _store_to_load() if cafile is not None and _is_certifi_bundle(cafile) else None
    if source is None:
        original(self, cafile, capath, cadata)
        return
    load_source(self, source)
    if capath is not None or cadata is not None:
        original(self, None, capath, cadata)


def _is_certifi_bundle(cafile: Any) -> bool:
    """Whether ``cafile`` is a certifi package's ``cacert.pem`` (certifi, pip's vendored copy)."""
    try:
        path = os.fsdecode(os.fspath(cafile))
    except TypeError:
        return False  # let ssl raise its own error for what is not a path
    directory, name = os.path.split(os.path.normpath(path))
    return name == "cacert.pem" and os.path.basename(directory) == "certifi"


def _warn_if_called_by_pymysql() -> None:
    """PyMySQL turns hostname checking off when it is given no CA (``_create_ssl_ctx``).

    Injection gives that context trusted roots, so a certificate for another host signed by a
    trusted CA would be accepted without a word: say so once, with the fix.
    """
    caller = sys._getframe(3) if hasattr(sys, "_getframe") else None
    if caller is None or caller.f_globals.get("__name__") != "pymysql.connections":
        return
    if "pymysql" in _warned:
        return
    _warned.add("pymysql")
    warnings.warn(
        "PyMySQL was given no CA, so it turns hostname checking off (ssl_verify_identity has no "
        "effect): inject_into_ssl() does not change that. Pass the CA explicitly to keep the "
        "hostname check: pymysql.connect(..., ssl_ca=trustresolve.where(), "
        "ssl_verify_identity=True)",
        InsecureContextWarning,
        stacklevel=4,
    )


def _swap_pyopenssl_context(state: _State) -> None:
    module = sys.modules.get("pymongo.pyopenssl_context")
    context_class = getattr(module, "SSLContext", None)
    if context_class is None or not hasattr(context_class, "load_default_certs"):
        return

    def load_default_certs(self: Any) -> None:
        from .._store.resolve import where

        # PyOpenSSL's wrapper takes files only; where() is the resolved set as one PEM file.
        self.load_verify_locations(where())

    _swap(state, context_class, "load_default_certs", load_default_certs)


# module -> attribute holding a context built when the module was imported.
_PRELOADED = {
    "aiohttp.connector": "_SSL_CONTEXT_VERIFIED",
    "requests.adapters": "_preloaded_ssl_context",
    "pip._vendor.requests.adapters": "_preloaded_ssl_context",
}


def _swap_preloaded_contexts(state: _State) -> None:
    from .._store.resolve import where

    for module_name, attribute in _PRELOADED.items():
        module = sys.modules.get(module_name)
        if getattr(module, attribute, None) is None:
            continue
        state.preloaded_at_injection.add(module_name)
        _swap(state, module, attribute, _rebuilt_context(module_name, module))
    for module_name in ("requests.adapters", "pip._vendor.requests.adapters"):
        adapters = sys.modules.get(module_name)
        if adapters is not None and hasattr(adapters, "DEFAULT_CA_BUNDLE_PATH"):
            _swap(state, adapters, "DEFAULT_CA_BUNDLE_PATH", where())


def _rebuild_preloaded_contexts(state: _State) -> None:
    """After undoing the patches: contexts that modules built at import *during* injection."""
    for module_name, attribute in _PRELOADED.items():
        module = sys.modules.get(module_name)
        if module_name in state.preloaded_at_injection:
            continue
        if getattr(module, attribute, None) is None:
            continue
        setattr(module, attribute, _rebuilt_context(module_name, module))


def _rebuilt_context(module_name: str, module: Any) -> ssl.SSLContext:
    """The context the library itself builds at import, made now (patched or not)."""
    if module_name == "aiohttp.connector":
        context: ssl.SSLContext = module._make_ssl_context(True)
        return context
    # requests 2.32.x: create_urllib3_context() + load_verify_locations(DEFAULT_CA_BUNDLE_PATH),
    # with the urllib3 the requests copy uses (pip vendors its own).
    urllib3_ssl: Any = sys.modules.get(
        module_name.replace("requests.adapters", "urllib3.util.ssl_")
    )
    if urllib3_ssl is None:
        import urllib3.util.ssl_

        urllib3_ssl = urllib3.util.ssl_
    context = urllib3_ssl.create_urllib3_context()
    context.load_verify_locations(module.DEFAULT_CA_BUNDLE_PATH)
    return context


def _forget_urllib_default_opener(state: _State) -> None:
    """``urlopen()`` caches the opener it builds, and from Python 3.12 its HTTPS handler makes
    its context when built: drop a cached *default* opener, so the next ``urlopen()`` builds
    one under injection. An opener the user installed (other handlers, or a context whose
    roots are not ``ssl``'s defaults) is kept."""
    module = sys.modules.get("urllib.request")
    opener = getattr(module, "_opener", None)
    if opener is None or not _is_default_opener(module, opener, _default_stats(state)):
        return
    state.urllib_opener = opener
    module._opener = None  # type: ignore[union-attr]


def _restore_urllib_default_opener(state: _State) -> None:
    """After the patches are undone: an opener ``urlopen()`` cached during injection holds the
    resolved store; put back the one from before (or none), so the next call builds anew."""
    module = sys.modules.get("urllib.request")
    opener = getattr(module, "_opener", None)
    if opener is None:
        if state.urllib_opener is not None:
            module._opener = state.urllib_opener  # type: ignore[union-attr]
        return
    contexts = [getattr(handler, "_context", None) for handler in opener.handlers]
    if any(context is not None and context in state.loaded for context in contexts):
        module._opener = state.urllib_opener  # type: ignore[union-attr]


def _default_stats(state: _State) -> dict[str, int]:
    """What ``ssl``'s own defaults load (the patches may already be in place)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    state.stdlib_load_default_certs(context)
    return context.cert_store_stats()


def _is_default_opener(module: Any, opener: Any, default_stats: dict[str, int]) -> bool:
    """Whether ``opener`` is what ``urlopen()`` builds itself (``build_opener()``, no context)."""
    default_types = {type(handler) for handler in module.build_opener().handlers}
    if {type(handler) for handler in opener.handlers} != default_types:
        return False
    for handler in opener.handlers:
        context = getattr(handler, "_context", None)
        if isinstance(context, ssl.SSLContext) and context.cert_store_stats() != default_stats:
            return False
    return True
