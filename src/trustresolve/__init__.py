"""trustresolve: which CA certificates does this machine trust, and how to load them fast.

Importing this package does no I/O and imports neither certifi, platformdirs nor truststore
(architecture §6). It does not even import ``ssl`` or ``dataclasses``: every name below except the
exceptions loads on first use, so ``import trustresolve`` costs next to nothing beside
``import ssl``.
"""

from __future__ import annotations

from ._errors import ConfigurationError, NoTrustStoreError, TrustResolveError, TrustSourceLoadError
from ._version import __version__

# Not ``from typing import TYPE_CHECKING``: importing typing alone would cost more than the
# rest of this module (type checkers understand the constant).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._machine.facts import PlatformFacts
    from ._machine.model import Attempt, Resolution, TrustSource
    from ._store.resolve import contents, resolve, where
    from ._tls.context import InsecureContextWarning, create_default_context
    from ._tls.directory import where_dir
    from ._tls.inject import extract_from_ssl, inject_into_ssl, is_injected
    from ._tls.options import (
        OPTION_NAMES,
        TLSOptions,
        TLSOptionWarning,
        context_from_options,
        context_from_uri,
    )

__all__ = [
    "OPTION_NAMES",
    "Attempt",
    "ConfigurationError",
    "InsecureContextWarning",
    "NoTrustStoreError",
    "PlatformFacts",
    "Resolution",
    "TLSOptionWarning",
    "TLSOptions",
    "TrustResolveError",
    "TrustSource",
    "TrustSourceLoadError",
    "__version__",
    "contents",
    "context_from_options",
    "context_from_uri",
    "create_default_context",
    "extract_from_ssl",
    "inject_into_ssl",
    "is_injected",
    "resolve",
    "where",
    "where_dir",
]

# name -> the private module that defines it; imported on first access.
_LAZY = {
    "Attempt": "._machine.model",
    "Resolution": "._machine.model",
    "TrustSource": "._machine.model",
    "PlatformFacts": "._machine.facts",
    "TLSOptions": "._tls.options",
    "TLSOptionWarning": "._tls.mongodb",
    "OPTION_NAMES": "._tls.mongodb",
    "InsecureContextWarning": "._tls.context",
    "is_injected": "._tls.inject",
    "contents": "._store.resolve",
    "resolve": "._store.resolve",
    "where": "._store.resolve",
    "context_from_options": "._tls.options",
    "context_from_uri": "._tls.options",
    "create_default_context": "._tls.context",
    "extract_from_ssl": "._tls.inject",
    "inject_into_ssl": "._tls.inject",
    "where_dir": "._tls.directory",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trustresolve' has no attribute {name!r}")
    # __import__, not importlib.import_module: nothing more to import on a first run.
    value = getattr(__import__(module.lstrip("."), globals(), None, (name,), 1), name)
    globals()[name] = value  # later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    # The public API only: not the module's plumbing (TYPE_CHECKING, annotations, _LAZY...).
    return sorted(__all__)
