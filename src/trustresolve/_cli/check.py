"""``--check``: what this interpreter's TLS can do, offline.

Python and TLS library versions (OpenSSL, LibreSSL or BoringSSL), which protocol versions
exist and which a default context allows, the compiled-in default paths and whether they
exist, and the store trustresolve resolves. No network, no writes.
"""

from __future__ import annotations

import os
import ssl
import sys
from dataclasses import dataclass
from typing import Any

from .._machine.facts import PlatformFacts
from .._machine.words import counted
from .._tls import versions
from .hook import defaults_usable, has_hashed_entry

__all__ = ["LibraryInfo", "check_report", "describe_library", "render_check"]

_VERSION_LABELS = {
    ssl.TLSVersion.MINIMUM_SUPPORTED: "the lowest the library supports",
    ssl.TLSVersion.MAXIMUM_SUPPORTED: "the highest the library supports",
    ssl.TLSVersion.SSLv3: "SSL 3.0",
    **versions.NAMES,
}


@dataclass(frozen=True)
class LibraryInfo:
    flavour: str  # "OpenSSL" | "LibreSSL" | "BoringSSL"
    version: str  # ssl.OPENSSL_VERSION
    warnings: tuple[str, ...]


def describe_library(version: str, info: tuple[int, ...]) -> LibraryInfo:
    """Tell OpenSSL, LibreSSL and BoringSSL apart and call out libraries too old for TLS 1.2.

    LibreSSL reports ``OPENSSL_VERSION_INFO`` as 2.0.0 whatever its real version, and BoringSSL
    as 1.1.1, so the version string decides the flavour.
    """
    if "LibreSSL" in version:
        return LibraryInfo("LibreSSL", version, ())
    if "BoringSSL" in version:
        return LibraryInfo(
            "BoringSSL",
            version,
            ("BoringSSL is not a supported backend of CPython's ssl module; expect gaps",),
        )
    notes = []
    if info[:3] < (1, 0, 1):
        notes.append(
            "OpenSSL older than 1.0.1 cannot speak TLS 1.1 or 1.2, which nearly every server "
            "requires: use a Python built against OpenSSL 1.1.1 or newer"
        )
    elif info[:3] < (1, 1, 1):
        notes.append("OpenSSL older than 1.1.1 cannot speak TLS 1.3; upgrade when you can")
    return LibraryInfo("OpenSSL", version, tuple(notes))


def _label(version: ssl.TLSVersion) -> str:
    return _VERSION_LABELS.get(version, version.name)


def _path_state(path: str | None) -> str:
    if not path:
        return "none"
    if os.path.isfile(path):
        return "exists (file)"
    if os.path.isdir(path):
        hashed = has_hashed_entry(path)
        return "exists (directory" + (", hashed entries)" if hashed else ", no hashed entries)")
    return "MISSING" if not os.path.lexists(path) else "MISSING (dangling link)"


def check_report(root: str | None = None) -> dict[str, Any]:
    """The capability report as data (``--check --json`` prints it as it is)."""
    library = describe_library(ssl.OPENSSL_VERSION, tuple(ssl.OPENSSL_VERSION_INFO))
    context = ssl.create_default_context()
    paths = ssl.get_default_verify_paths()
    report: dict[str, Any] = {
        "python": {
            "version": sys.version.split()[0],
            "implementation": sys.implementation.name,
            "executable": sys.executable,
        },
        "tls_library": {
            "flavour": library.flavour,
            "version": library.version,
            "version_info": list(ssl.OPENSSL_VERSION_INFO),
            "warnings": list(library.warnings),
        },
        "protocols": {
            "TLS 1.0": ssl.HAS_TLSv1,
            "TLS 1.1": ssl.HAS_TLSv1_1,
            "TLS 1.2": ssl.HAS_TLSv1_2,
            "TLS 1.3": ssl.HAS_TLSv1_3,
        },
        "default_context": {
            "minimum_version": _label(context.minimum_version),
            "maximum_version": _label(context.maximum_version),
        },
        "default_paths": {
            "openssl_cafile": paths.openssl_cafile,
            "openssl_cafile_state": _path_state(paths.openssl_cafile),
            "openssl_capath": paths.openssl_capath,
            "openssl_capath_state": _path_state(paths.openssl_capath),
            "SSL_CERT_FILE": os.environ.get(paths.openssl_cafile_env),
            "SSL_CERT_DIR": os.environ.get(paths.openssl_capath_env),
            "usable": defaults_usable(paths.openssl_cafile, paths.openssl_capath),
        },
        "store": _store(root),
    }
    if not ssl.HAS_TLSv1_2:
        library_warnings = report["tls_library"]["warnings"]
        library_warnings.append("this TLS library cannot speak TLS 1.2")
    return report


def _store(root: str | None) -> dict[str, Any]:
    from .._errors import NoTrustStoreError, TrustResolveError
    from .._store.resolve import resolve

    try:
        facts = PlatformFacts.from_root(root) if root else PlatformFacts.current()
        resolution = resolve(facts)
    except NoTrustStoreError as exc:
        return {"error": str(exc).splitlines()[0]}
    except TrustResolveError as exc:
        return {"error": str(exc)}
    assert resolution.source is not None  # resolve() raises otherwise
    return resolution.source.as_dict()


def render_check(report: dict[str, Any]) -> str:
    """The text ``--check`` prints."""
    python, library = report["python"], report["tls_library"]
    lines = [
        f"Python:       {python['version']} ({python['implementation']}) {python['executable']}",
        f"TLS library:  {library['version']} ({library['flavour']})",
    ]
    lines += [f"  WARNING: {w}" for w in library["warnings"]]
    protocols = report["protocols"]
    lines.append(
        "Protocols:    "
        + ", ".join(f"{name} {'yes' if ok else 'no'}" for name, ok in protocols.items())
    )
    default = report["default_context"]
    lines.append(
        f"ssl.create_default_context() allows: {default['minimum_version']} "
        f"to {default['maximum_version']}"
    )
    paths = report["default_paths"]
    lines.append("Compiled-in default paths:")
    lines.append(f"  openssl_cafile: {paths['openssl_cafile']}  [{paths['openssl_cafile_state']}]")
    lines.append(f"  openssl_capath: {paths['openssl_capath']}  [{paths['openssl_capath_state']}]")
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        if paths[name]:
            lines.append(f"  {name} is set: {paths[name]} (overrides the default)")
    if not paths["usable"]:
        lines.append(
            "  -> neither default exists: plain ssl contexts trust nothing here. "
            "See --env or --install-hook."
        )
    store = report["store"]
    if "error" in store:
        lines.append(f"trustresolve store: none ({store['error']})")
    else:
        where = store["cafile"] or store["capath"] or "(in memory)"
        lines.append(
            f"trustresolve store: {store['backend']} ({store['kind']}) {where}, "
            f"{counted(store['cert_count'], 'certificate')}"
        )
        lines += [f"  WARNING: {w}" for w in store["warnings"]]
    return "\n".join(lines)
