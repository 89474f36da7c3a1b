"""``inject_into_ssl()`` / ``extract_from_ssl()``: the resolved store as the process default.

The one patch that matters is ``ssl.SSLContext.load_default_certs``, set on the class: every
context, whoever made it and whenever its module was imported, looks the method up on the class
at call time. ``ssl.create_default_context()`` calls it when no CA is given (also through
references taken with ``from ssl import create_default_context`` before injection), urllib3's
``ssl_wrap_socket`` calls it, and PyMongo's ``get_ssl_context`` calls it without ``tlsCAFile``.

Some libraries build a context at import time and keep it, so the class patch comes too late
for them; those objects are swapped here and put back on extraction, the way truststore's
``inject_into_ssl`` swaps requests' preloaded context (truststore ``src/truststore/_api.py``):

- aiohttp: ``aiohttp.connector._SSL_CONTEXT_VERIFIED``, made by ``ssl.create_default_context()``
  when ``aiohttp.connector`` is imported, is what every ``ssl=True`` request uses.
- requests 2.32.x: ``requests.adapters._preloaded_ssl_context`` (certifi, loaded at import).
- requests (all versions): ``verify=True`` means ``DEFAULT_CA_BUNDLE_PATH`` (certifi), read from
  ``requests.adapters``; it is pointed at :func:`trustresolve.where`. ``REQUESTS_CA_BUNDLE``
  still wins, as requests documents.
- PyMongo with PyOpenSSL (``pymongo[ocsp]``): its own ``SSLContext`` class is patched like the
  stdlib's, loading :func:`trustresolve.where`.

Only modules already imported are touched (nothing is imported for the sake of patching it),
and nothing happens at import time. A module imported *after* injection builds its contexts
through ``load_default_certs`` and is covered, except requests, which reads certifi's path at
import: import it first, or pass ``verify=trustresolve.where()``.
"""

from __future__ import annotations

import ssl
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from .context import resolved_source
from .load import load_source

__all__ = ["extract_from_ssl", "inject_into_ssl", "is_injected"]

_MISSING = object()  # "the attribute did not exist" (restored by deleting it)
_lock = threading.Lock()


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
    swaps: list[_Swap] = field(default_factory=list)


_active: dict[str, _State] = {}  # "state" -> the injection in effect (no `global` needed)


def _own_attribute(holder: Any, name: str) -> Any:
    # vars(): a class's own attribute, not one inherited (restoring must not copy it down).
    return vars(holder).get(name, _MISSING)


def inject_into_ssl() -> None:
    """Make the resolved store the default trust store of every ``ssl`` context in the process.

    Idempotent and thread-safe. Resolves first, so a machine without a usable store fails here
    with :class:`NoTrustStoreError` rather than inside someone else's handshake.
    """
    with _lock:
        if "state" in _active:
            return
        resolved_source()
        state = _State(ssl.SSLContext.load_default_certs)
        _swap(state, ssl.SSLContext, "load_default_certs", _patched_load_default_certs)
        _swap_pyopenssl_context(state)
        _swap_preloaded_contexts(state)
        _active["state"] = state


def extract_from_ssl() -> None:
    """Undo :func:`inject_into_ssl` exactly: every replaced attribute gets its original back."""
    with _lock:
        state = _active.pop("state", None)
        if state is None:
            return
        for swap in reversed(state.swaps):
            swap.undo()


def is_injected() -> bool:
    """Whether :func:`inject_into_ssl` is in effect."""
    return "state" in _active


def _swap(state: _State, holder: Any, name: str, replacement: Any) -> None:
    swap = _Swap(holder, name, _own_attribute(holder, name), replacement)
    swap.apply()
    state.swaps.append(swap)


def _patched_load_default_certs(
    self: ssl.SSLContext, purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH
) -> None:
    """The resolved store for contexts that verify servers; ``ssl``'s own for the rest.

    A server verifying client certificates (``Purpose.CLIENT_AUTH``) has nothing to do with the
    roots a client trusts, so it keeps ``ssl``'s behaviour. A native (OS-verified) source
    without a snapshot has no file to load either: such contexts keep ``ssl``'s defaults.
    """
    state = _active.get("state")
    source = resolved_source() if purpose == ssl.Purpose.SERVER_AUTH else None
    if source is None or source.without_native() is None:
        # After extraction (a bound method kept from before) the class has its method back.
        original = state.stdlib_load_default_certs if state else ssl.SSLContext.load_default_certs
        original(self, purpose)
        return
    load_source(self, source)


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


def _swap_preloaded_contexts(state: _State) -> None:
    aiohttp_connector = sys.modules.get("aiohttp.connector")
    make_context = getattr(aiohttp_connector, "_make_ssl_context", None)
    if callable(make_context) and hasattr(aiohttp_connector, "_SSL_CONTEXT_VERIFIED"):
        # aiohttp's own factory, now reaching the patched load_default_certs.
        _swap(state, aiohttp_connector, "_SSL_CONTEXT_VERIFIED", make_context(True))
    adapters = sys.modules.get("requests.adapters")
    if adapters is None:
        return
    from .._store.resolve import where

    if hasattr(adapters, "DEFAULT_CA_BUNDLE_PATH"):
        _swap(state, adapters, "DEFAULT_CA_BUNDLE_PATH", where())
    if getattr(adapters, "_preloaded_ssl_context", None) is not None:
        _swap(state, adapters, "_preloaded_ssl_context", _requests_preloaded_context())


def _requests_preloaded_context() -> ssl.SSLContext:
    # requests 2.32.x: create_urllib3_context() + the CA bundle; the bundle is now ours.
    from urllib3.util.ssl_ import create_urllib3_context

    context = create_urllib3_context()
    load_source(context, resolved_source())
    return context
