"""The one ordered tuple of backends (architecture §2): the same order on every OS.

The order is stated here and nowhere else: ``native`` is handed the backends after it, which
make its snapshot. Each backend's module is imported when its turn comes (architecture §9.2):
a store named by ``SSL_CERT_FILE`` never imports the Windows, macOS or distribution backends,
a resolution that stops at ``distro`` never imports the two after it, and a backend for another
OS family (``base.wrong_os``) is not imported at all. A backend's ``name``
is written here too, so a backend that is not tried can be listed without importing it;
``tests/test_backend_order.py`` checks it is the class's own.
"""

from __future__ import annotations

from .base import wrong_os

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from .._machine.facts import PlatformFacts
    from .base import Backend, Probe
    from .native import NativeBackend

__all__ = ["BACKENDS", "BACKEND_NAMES", "NATIVE"]  # noqa: F822 - NATIVE: __getattr__ below


class OnTurn:
    """A backend named here and imported from ``module`` (beside this one) on first use."""

    __slots__ = ("_arguments", "_class", "_made", "_module", "name")

    def __init__(self, name: str, module: str, cls: str, *arguments: object) -> None:
        self.name = name
        self._module, self._class, self._arguments = module, cls, arguments
        self._made: Backend | None = None

    def backend(self) -> Backend:
        """The backend itself (imported now if it was not yet)."""
        if self._made is None:
            # __import__, not importlib: nothing more to import on a first run.
            module = __import__(self._module, globals(), None, (self._class,), 1)
            made: Backend = getattr(module, self._class)(*self._arguments)
            self._made = made
        return self._made

    def probe(self, facts: PlatformFacts) -> Probe:
        # The OS rule is asked before the import: a backend for another OS family is never
        # imported to say it does not apply. The backend's own probe asks the same rule.
        elsewhere = wrong_os(self.name, facts)
        return elsewhere if elsewhere is not None else self.backend().probe(facts)

    def __repr__(self) -> str:
        return f"<backend {self.name!r} from {__package__}.{self._module}>"


#: The backends after ``native``, in order: what resolution is when the OS does not verify.
_AFTER_NATIVE: tuple[OnTurn, ...] = (
    OnTurn("windows", "windows", "WindowsBackend"),
    OnTurn("wincertstore", "wincertstore", "WincertstoreBackend"),
    OnTurn("macos-keychain", "macos_keychain", "MacOSKeychainBackend"),
    OnTurn("macos-python-org", "macos_python_org", "MacOSPythonOrgBackend"),
    OnTurn("distro", "distro", "DistroBackend"),
    OnTurn("openssl-default", "openssl_default", "OpenSSLDefaultBackend"),
    OnTurn("certifi", "certifi", "CertifiBackend"),
)
_NATIVE = OnTurn("native", "native", "NativeBackend", _AFTER_NATIVE)
BACKENDS: tuple[OnTurn, ...] = (
    OnTurn("env", "env", "EnvBackend"),
    OnTurn("config", "config", "ConfigBackend"),
    _NATIVE,
    *_AFTER_NATIVE,
)
BACKEND_NAMES: tuple[str, ...] = tuple(backend.name for backend in BACKENDS)


def __getattr__(name: str) -> NativeBackend:
    # NATIVE is the backend itself (its snapshot methods), so asking for it imports it.
    if name == "NATIVE":
        from .native import NativeBackend

        native = _NATIVE.backend()
        assert isinstance(native, NativeBackend)  # for the type checker: the row above
        return native
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
