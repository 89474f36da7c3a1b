"""The exceptions trustresolve raises (architecture §3)."""

from __future__ import annotations

import os
import sys
import warnings

TYPE_CHECKING = False  # not typing's: ``import trustresolve`` must not import typing
if TYPE_CHECKING:
    from ._machine.model import Resolution

__all__ = [
    "ConfigurationError",
    "NoTrustStoreError",
    "TrustResolveError",
    "TrustSourceLoadError",
    "warn_caller",
]


class TrustResolveError(Exception):
    """Base class of every error trustresolve raises on purpose."""


class NoTrustStoreError(TrustResolveError):
    """No backend yielded a usable store, or a pinned store (``SSL_CERT_FILE``, config) is bad.

    ``resolution`` holds every attempt; the message lists them, so the exception alone
    says what was tried and why each candidate was refused.
    """

    def __init__(self, message: str, resolution: Resolution) -> None:
        super().__init__(message)
        self.resolution = resolution


class ConfigurationError(TrustResolveError, ValueError):
    """A TLS option, config key or environment variable has a value trustresolve refuses.

    A ``ValueError`` too, so callers that catch what ``ssl`` raises for bad arguments keep working.
    """


class TrustSourceLoadError(TrustResolveError):
    """A resolved store could not be loaded into an ``ssl.SSLContext``; names backend and path."""

    def __init__(self, message: str, *, backend: str, path: str | None) -> None:
        super().__init__(message)
        self.backend = backend
        self.path = path


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_caller(message: str, category: type[Warning]) -> None:
    """Warn, pointing at the first frame outside trustresolve (the caller's own line).

    The public entry points reach this at different depths (``from_uri``, ``context_from_uri``,
    the builder), so a fixed ``stacklevel`` would blame trustresolve half of the time.
    """
    frame = sys._getframe(0)
    level = 1
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        _PACKAGE_DIR
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
