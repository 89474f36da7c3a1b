"""The one ordered tuple of backends (DESIGN §2): the same order on every OS."""

from __future__ import annotations

from ._backend import Backend
from ._certifi import CertifiBackend
from ._config import ConfigBackend
from ._distro import DistroBackend
from ._env import EnvBackend
from ._macos_keychain import MacOSKeychainBackend
from ._macos_python_org import MacOSPythonOrgBackend
from ._native import NativeBackend
from ._openssl_default import OpenSSLDefaultBackend
from ._wincertstore import WincertstoreBackend
from ._windows import WindowsBackend

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
