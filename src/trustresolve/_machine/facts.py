"""PlatformFacts: the one seam between trustresolve and the machine (architecture §1, §5).

Backends read facts, never ``sys.platform``, ``os.environ`` or ``/``. ``PlatformFacts.current()``
reads the running interpreter; ``PlatformFacts.from_root(DIR)`` reads a tree and its optional
``platform.json``, so that Windows and macOS backends run and are tested on Linux.
"""

from __future__ import annotations

import base64
import binascii
import os
import ssl
import sys
from collections.abc import Mapping, Sequence

from .._errors import ConfigurationError
from .._record import field, record
from .fs import FileSystem

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from typing import Any, Callable, Union

__all__ = [
    "WINCERTSTORE_FIXTURE_KEY",
    "DefaultVerifyPaths",
    "PackageUnavailable",
    "PlatformFacts",
    "SecurityCommandError",
]

# For type checkers only, like model.py's Outcome: a first run imports no typing (§9.2).
if TYPE_CHECKING:
    #: One ``ssl.enum_certificates`` row: DER bytes, encoding name, ``True`` or a set of EKU
    #: OIDs.
    WindowsStoreEntry = tuple[bytes, str, Union[bool, frozenset[str]]]
    EnumCertificates = Callable[[str], Sequence[WindowsStoreEntry]]
    #: Runs ``security ARGS...`` (macOS) and returns its standard output.
    SecurityRunner = Callable[[Sequence[str]], bytes]

#: The ``platform.json`` key recording what the wincertstore package returned, per store.
WINCERTSTORE_FIXTURE_KEY = "wincertstore_stores"
_SECURITY = "/usr/bin/security"
_SECURITY_TIMEOUT = 60.0  # trust-settings reads take seconds on managed Macs
# A fixture's platform.json records stores as base64; the largest in the repository is far
# below this, and the bound keeps /dev/zero or a multi-GB file from being read.
_MAX_PLATFORM_JSON = 16 * 1024 * 1024


class SecurityCommandError(Exception):
    """``security`` failed; ``stderr`` says why (e.g. no trust settings in that domain)."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"security {' '.join(args)} exited {returncode}: {stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


class PackageUnavailable(Exception):
    """An optional package a fact is read through is installed but does not import."""


def _read_wincertstore_package(store: str) -> Sequence[WindowsStoreEntry]:
    """One Windows store through the wincertstore package (``ssl.enum_certificates``' rows)."""
    try:
        import wincertstore  # the optional extra: loaded only here (architecture §6)
    except Exception as exc:  # ctypes raises OSError, ImportError or AttributeError
        raise PackageUnavailable(repr(exc)) from exc
    rows: list[WindowsStoreEntry] = []  # pragma: no cover - Windows only from here
    with wincertstore.CertSystemStore(store) as opened:  # pragma: no cover
        for context in opened.itercerts(usage=None):
            # wincertstore says "CERTIFICATE" or "PKCS7"; use enum_certificates' words.
            encoding = "pkcs_7_asn" if context.encoding_type == "PKCS7" else "x509_asn"
            usage = context.enhanced_keyusage()
            trust: bool | frozenset[str] = True if usage is True else frozenset(usage)
            rows.append((bytes(context.get_encoded()), encoding, trust))
    return rows  # pragma: no cover


@record(frozen=True)
class DefaultVerifyPaths:
    """``ssl.get_default_verify_paths()``: what the interpreter's OpenSSL was built to use."""

    cafile: str | None = None
    capath: str | None = None
    openssl_cafile_env: str = "SSL_CERT_FILE"
    openssl_cafile: str | None = None
    openssl_capath_env: str = "SSL_CERT_DIR"
    openssl_capath: str | None = None

    @classmethod
    def current(cls) -> DefaultVerifyPaths:
        paths = ssl.get_default_verify_paths()
        return cls(
            paths.cafile,
            paths.capath,
            paths.openssl_cafile_env,
            paths.openssl_cafile,
            paths.openssl_capath_env,
            paths.openssl_capath,
        )


@record(frozen=True)
class PlatformFacts:
    """Everything backends may know about the machine, frozen at one moment."""

    #: ``sys.platform`` style: ``linux``, ``darwin``, ``win32``, ``freebsd14``, ``android``...
    platform: str
    #: ``cpython`` or ``pypy``.
    implementation: str = "cpython"
    #: The interpreter's version, ``"3.12.0"``.
    python_version: str = "3.12.0"
    #: The interpreter's path (python.org builds on macOS are recognized by it).
    executable: str = "/usr/bin/python3"
    #: The environment variables the backends read (``SSL_CERT_FILE``...).
    environ: Mapping[str, str] = field(default_factory=dict)
    #: The top of the tree every path is read inside: ``/`` for this machine.
    root: str = "/"
    #: The interpreter's compiled-in ``openssl_cafile``/``openssl_capath``.
    default_verify_paths: DefaultVerifyPaths = field(default_factory=DefaultVerifyPaths)
    #: Whether truststore can be imported (native verification on macOS and Windows).
    truststore: bool = False
    #: Whether wincertstore can be imported (PyPy on Windows).
    wincertstore: bool = False
    #: ``ssl.enum_certificates`` or a stand-in (Windows stores); ``None`` elsewhere.
    enum_certificates: EnumCertificates | None = None
    #: The same rows through the wincertstore package (used without ``enum_certificates``):
    #: the package itself on a machine, the recorded ``wincertstore_stores`` of a tree
    #: (``None``: the tree records none).
    wincertstore_stores: EnumCertificates | None = _read_wincertstore_package
    #: Runs macOS's ``security`` tool, or a stand-in; ``None`` elsewhere.
    security: SecurityRunner | None = None
    #: Directories searched for ``trustresolve.ini`` (user first); ``None``: ask platformdirs.
    config_dirs: tuple[str, ...] | None = None
    #: Where the tree came from, for ``--which`` ("" for the running machine).
    source: str = ""

    @property
    def fs(self) -> FileSystem:
        """The file system confined to :attr:`root`."""
        return FileSystem(self.root)

    @property
    def os_family(self) -> str:
        """A coarse family for the distro tables: linux, android, freebsd, openbsd, ..."""
        return os_family(self.platform, self.environ)

    @property
    def python_version_info(self) -> tuple[int, ...]:
        """:attr:`python_version` as ``(major, minor)``."""
        return tuple(int(part) for part in self.python_version.split(".")[:2] if part.isdigit())

    def getenv(self, name: str) -> str | None:
        """An environment variable, with an empty value counted as unset."""
        value = self.environ.get(name)
        return value or None

    def describe(self) -> dict[str, Any]:
        """The facts ``--which`` reports (``Resolution.platform``), as JSON-ready data."""
        return {
            "platform": self.platform,
            "os_family": self.os_family,
            "implementation": self.implementation,
            "python_version": self.python_version,
            "executable": self.executable,
            "root": self.root,
            "openssl_cafile": self.default_verify_paths.openssl_cafile,
            "openssl_capath": self.default_verify_paths.openssl_capath,
            "truststore": self.truststore,
        }

    @classmethod
    def current(cls) -> PlatformFacts:
        """The running interpreter and machine."""
        enum = getattr(ssl, "enum_certificates", None)
        return cls(
            platform=sys.platform,
            implementation=sys.implementation.name,
            python_version=".".join(str(part) for part in sys.version_info[:3]),
            executable=sys.executable,
            environ=dict(os.environ),
            root="/",
            default_verify_paths=DefaultVerifyPaths.current(),
            truststore=_importable("truststore"),
            wincertstore=sys.platform == "win32" and _importable("wincertstore"),
            enum_certificates=_wrap_enum_certificates(enum) if enum else None,
            security=_run_security if sys.platform == "darwin" else None,
            config_dirs=None,
        )

    @classmethod
    def from_root(cls, root: str) -> PlatformFacts:
        """A tree (an image, a chroot, a fixture) and its optional ``platform.json``."""
        root = os.path.abspath(root)
        if not os.path.isdir(root):
            raise ConfigurationError(
                f"--root {root!r} is not a directory; give the top of an image or chroot"
            )
        document = _read_platform_json(root)
        platform = str(document.get("platform", "linux"))
        environ = _str_map(document.get("environ", {}), "environ")
        return cls(
            platform=platform,
            implementation=str(document.get("implementation", "cpython")),
            python_version=str(document.get("python_version", "3.12.0")),
            executable=str(document.get("executable", "/usr/bin/python3")),
            environ=environ,
            root=root,
            default_verify_paths=_verify_paths(document.get("default_verify_paths")),
            truststore=bool(document.get("truststore", False)),
            wincertstore=bool(document.get("wincertstore", False)),
            enum_certificates=_fixture_enum(document.get("windows_stores")),
            wincertstore_stores=_fixture_enum(
                document.get(WINCERTSTORE_FIXTURE_KEY), WINCERTSTORE_FIXTURE_KEY
            ),
            security=_fixture_security(root, document.get("macos")),
            config_dirs=_fixture_config_dirs(document, platform, environ),
            source=root,
        )


def os_family(platform: str, environ: Mapping[str, str]) -> str:
    if platform.startswith("linux"):
        # A Linux-targeted interpreter on Android (Termux) still sees Android's stores
        # (architecture §8.3 #8: detect via $PREFIX, TERMUX_VERSION or ANDROID_ROOT).
        if "TERMUX_VERSION" in environ or "ANDROID_ROOT" in environ:
            return "android"
        return "linux"
    for prefix in (
        "freebsd",
        "openbsd",
        "netbsd",
        "dragonfly",
        "midnightbsd",
        "aix",
        "haiku",
        "android",
    ):
        if platform.startswith(prefix):
            return prefix
    if platform.startswith(("sunos", "solaris", "illumos")):
        return "solaris"
    if platform in ("win32", "cygwin", "msys"):
        return "windows"
    if platform == "darwin":
        return "darwin"
    return "unix"


def _importable(name: str) -> bool:
    """Whether the top-level module ``name`` can be imported, without importing it.

    What ``importlib.util.find_spec`` does for a top-level name, asked of ``sys.meta_path``
    directly: importing ``importlib.util`` costs a first run about 1.5 ms (architecture §9.2).
    """
    if name in sys.modules:
        return True
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        try:
            if find_spec is not None and find_spec(name, None) is not None:
                return True
        except (ImportError, ValueError):
            return False
    return False


def _wrap_enum_certificates(enum: Callable[[str], Any]) -> EnumCertificates:
    def enumerate_store(store: str) -> Sequence[WindowsStoreEntry]:
        rows = []
        for der, encoding, trust in enum(store):
            rows.append((bytes(der), str(encoding), trust if trust is True else frozenset(trust)))
        return rows

    return enumerate_store


def _run_security(args: Sequence[str]) -> bytes:  # pragma: no cover - runs on macOS only
    import subprocess  # only on a Mac: resolve() elsewhere must not pay for it

    done = subprocess.run(  # noqa: S603 - fixed binary, arguments built by trustresolve
        [_SECURITY, *args],
        capture_output=True,
        timeout=_SECURITY_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise SecurityCommandError(args, done.returncode, done.stderr.decode("utf-8", "replace"))
    return done.stdout


def _read_platform_json(root: str) -> dict[str, Any]:
    """The tree's ``platform.json``, read inside the tree and bounded (architecture §5).

    A link out of the tree resolves inside it, as every path under ``--root`` does; a FIFO or
    device is refused without blocking; a huge, deeply nested or invalid document is a
    :class:`ConfigurationError` naming the file.
    """
    fs = FileSystem(root)
    located = fs.locate("/platform.json")
    shown = os.path.join(root, "platform.json")
    if not located.exists and located.problem == "missing" and not located.links:
        return {}
    read = fs.read_bounded(located, limit=_MAX_PLATFORM_JSON)
    if read.data is None:
        raise ConfigurationError(
            f"{shown}{located.link_note} {read.problem}; make it a JSON file in the tree"
        )
    import json  # only for a --root tree: resolve() on the machine itself never parses JSON

    try:
        document = json.loads(read.data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ConfigurationError(f"{shown}: not a readable JSON document ({why})") from exc
    if not isinstance(document, dict):
        raise ConfigurationError(f"{shown}: must hold a JSON object (architecture §5)")
    return document


def _str_map(value: Any, key: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigurationError(f"platform.json: {key!r} must map strings to strings")
    return dict(value)


def _optional_str(value: Any, key: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ConfigurationError(f"platform.json: {key!r} must be a string or null")


def _verify_paths(value: Any) -> DefaultVerifyPaths:
    if value is None:
        return DefaultVerifyPaths()
    if not isinstance(value, dict):
        raise ConfigurationError("platform.json: 'default_verify_paths' must be an object")
    names = ("cafile", "capath", "openssl_cafile", "openssl_capath")
    fields = {
        name: _optional_str(value.get(name), f"default_verify_paths.{name}") for name in names
    }
    return DefaultVerifyPaths(
        cafile=fields["cafile"],
        capath=fields["capath"],
        openssl_cafile=fields["openssl_cafile"],
        openssl_capath=fields["openssl_capath"],
    )


def _fixture_enum(value: Any, key: str = "windows_stores") -> EnumCertificates | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigurationError(f"platform.json: {key!r} must be an object")
    stores: dict[str, list[WindowsStoreEntry]] = {}
    for store, rows in value.items():
        if not isinstance(rows, list):
            raise ConfigurationError(f"platform.json: {key}.{store} must be a list")
        stores[str(store).upper()] = [_windows_row(f"{key}.{store}", row) for row in rows]

    def enumerate_store(store: str) -> Sequence[WindowsStoreEntry]:
        return list(stores.get(store.upper(), []))

    return enumerate_store


def _windows_row(where: str, row: Any) -> WindowsStoreEntry:
    where = f"platform.json: {where}"
    if not (isinstance(row, list) and len(row) == 3 and isinstance(row[1], str)):
        raise ConfigurationError(f"{where}: each entry is [base64 DER, encoding, trust]")
    try:
        der = base64.b64decode(str(row[0]), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(f"{where}: an entry is not base64 ({exc})") from exc
    trust = row[2]
    if trust is True:
        return der, row[1], True
    if isinstance(trust, list) and all(isinstance(oid, str) for oid in trust):
        return der, row[1], frozenset(trust)
    raise ConfigurationError(f"{where}: trust must be true or a list of OIDs, not {trust!r}")


def _fixture_security(root: str, value: Any) -> SecurityRunner | None:
    """Answer ``security`` commands from the recorded outputs of a fixture (architecture §5)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigurationError("platform.json: 'macos' must be an object")
    keychains = _str_map(value.get("keychains", {}), "macos.keychains")
    trust = _str_map(value.get("trust_settings", {}), "macos.trust_settings")
    fs = FileSystem(root)

    def read(path: str) -> bytes:
        located = fs.locate(path)
        result = fs.read_bounded(located)
        if result.data is None:
            raise ConfigurationError(f"platform.json names {path}, which {result.problem}")
        return result.data

    def run(args: Sequence[str]) -> bytes:
        args = list(args)
        if args[:3] == ["find-certificate", "-a", "-p"] and len(args) == 4:
            if args[3] not in keychains:
                raise SecurityCommandError(
                    args,
                    50,
                    "security: SecKeychainSearchCopyNext: The specified item could "
                    "not be found in the keychain.",
                )
            return read(keychains[args[3]])
        if args and args[0] == "trust-settings-export":
            domain = "admin" if "-d" in args else ("system" if "-s" in args else "user")
            if domain not in trust:
                raise SecurityCommandError(
                    args,
                    1,
                    "SecTrustSettingsCreateExternalRepresentation: No Trust Settings were found.",
                )
            with open(args[-1], "wb") as out:
                out.write(read(trust[domain]))
            return b""
        raise SecurityCommandError(args, 2, f"fixture has no answer for security {args}")

    return run


def _fixture_config_dirs(
    document: Mapping[str, Any], platform: str, environ: Mapping[str, str]
) -> tuple[str, ...]:
    explicit = document.get("config_dirs")
    if explicit is not None:
        if not isinstance(explicit, list) or not all(isinstance(d, str) for d in explicit):
            raise ConfigurationError("platform.json: 'config_dirs' must be a list of paths")
        return tuple(explicit)
    # What platformdirs would answer on that platform, for appname "trustresolve".
    home = environ.get("HOME")
    if platform == "darwin":
        user = [f"{home}/Library/Application Support/trustresolve"] if home else []
        return (*user, "/Library/Application Support/trustresolve")
    if platform == "win32":
        appdata = environ.get("LOCALAPPDATA")
        user = [f"{appdata}\\trustresolve"] if appdata else []
        return (*user, "C:\\ProgramData\\trustresolve")
    xdg_home = environ.get("XDG_CONFIG_HOME") or (f"{home}/.config" if home else None)
    user = [f"{xdg_home}/trustresolve"] if xdg_home else []
    site = [f"{d}/trustresolve" for d in environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":") if d]
    return (*user, *site)
