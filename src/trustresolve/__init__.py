"""trustresolve: which CA certificates does this machine trust, and how to load them fast.

Importing this package does no I/O and imports neither certifi, platformdirs nor truststore
(DESIGN §6): everything past the names below loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError, NoTrustStoreError, TrustResolveError, TrustSourceLoadError
from ._model import Attempt, Resolution, TrustSource
from ._resolve import contents, resolve, where
from ._version import __version__

if TYPE_CHECKING:
    from ._facts import PlatformFacts

__all__ = [
    "Attempt",
    "ConfigurationError",
    "NoTrustStoreError",
    "PlatformFacts",
    "Resolution",
    "TrustResolveError",
    "TrustSource",
    "TrustSourceLoadError",
    "__version__",
    "contents",
    "resolve",
    "where",
]

_LAZY = {
    "PlatformFacts": "._facts",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trustresolve' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
