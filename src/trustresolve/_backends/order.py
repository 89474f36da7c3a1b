"""The one ordered tuple of backends (architecture §2): the same order on every OS.

The order is stated here and nowhere else: ``native`` is handed the backends after it, which
make its snapshot.
"""

from __future__ import annotations

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

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from .base import Backend

__all__ = ["BACKENDS", "BACKEND_NAMES", "NATIVE"]

#: The backends after ``native``, in order: what resolution is when the OS does not verify.
_AFTER_NATIVE: tuple[Backend, ...] = (
    WindowsBackend(),
    WincertstoreBackend(),
    MacOSKeychainBackend(),
    MacOSPythonOrgBackend(),
    DistroBackend(),
    OpenSSLDefaultBackend(),
    CertifiBackend(),
)
NATIVE = NativeBackend(snapshot_backends=_AFTER_NATIVE)
BACKENDS: tuple[Backend, ...] = (EnvBackend(), ConfigBackend(), NATIVE, *_AFTER_NATIVE)
BACKEND_NAMES: tuple[str, ...] = tuple(backend.name for backend in BACKENDS)
