"""The one ordered tuple of backends (architecture §2): the same order on every OS."""

from __future__ import annotations

from .base import Backend
from .certifi import CertifiBackend
from .config import ConfigBackend
from .distro import DistroBackend
from .env import EnvBackend
from .macos_keychain import MacOSKeychainBackend
from .macos_python_org import MacOSPythonOrgBackend
from .native import NativeBackend
from .openssl_default import OpenSSLDefaultBackend
from .wincertstore import WincertstoreBackend
from .windows import WindowsBackend

__all__ = ["BACKENDS", "BACKEND_NAMES"]

BACKENDS: tuple[Backend, ...] = (
    EnvBackend(),
    ConfigBackend(),
    NativeBackend(),
    WindowsBackend(),
    WincertstoreBackend(),
    MacOSKeychainBackend(),
    MacOSPythonOrgBackend(),
    DistroBackend(),
    OpenSSLDefaultBackend(),
    CertifiBackend(),
)
BACKEND_NAMES: tuple[str, ...] = tuple(backend.name for backend in BACKENDS)
