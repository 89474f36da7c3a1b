"""``--export FILE`` and ``--env``: hand the resolved store to programs that are not trustresolve.

``--export`` writes the store as one PEM bundle, atomically (a temporary file in the same
directory, fsync'ed, then renamed over FILE), with the certificates ``--which`` counts, in store
order. ``--env`` prints shell lines setting ``SSL_CERT_FILE`` (and ``SSL_CERT_DIR`` when the
store has a hashed directory), which OpenSSL, and so every ``ssl`` context of a Python built on
it, reads when it loads its default paths.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile

from .._errors import ConfigurationError, TrustResolveError
from .._machine.model import Resolution, TrustSource
from .._x509.pem import der_to_pem

__all__ = ["SHELLS", "env_assignments", "export_bundle", "render_env"]

SHELLS = ("sh", "fish", "powershell", "cmd")
# PowerShell ends a single-quoted string at any of these, and doubles each to escape it.
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"
# cmd.exe cannot protect these inside `set "NAME=value"` in every way the line may be run
# (interactive, a batch file, `for /f ... do %i`, delayed expansion).
_CMD_UNSAFE = '"%!\r\n'


def _snapshot(resolution: Resolution) -> TrustSource:
    source = resolution.source
    if source is None:  # pragma: no cover - resolve() raises instead
        raise TrustResolveError("no trust store was resolved")
    # The OS verifies: its snapshot is what a file can hold. Without one, the native source
    # itself, which has no certificate to export (export_bundle says so).
    return source.without_native() or source


def export_bundle(resolution: Resolution, path: str) -> int:
    """Write the resolved store to ``path`` as PEM; returns the number of certificates.

    ``path`` ``"-"`` writes to standard output. Raises :class:`ConfigurationError` naming the
    path when it cannot be written.
    """
    source = _snapshot(resolution)
    certificates = source.certificates
    if not certificates:
        raise TrustResolveError(
            f"the {source.backend} store holds no certificates that can be exported"
        )
    text = "".join(der_to_pem(der) for der in certificates)
    if path == "-":
        sys.stdout.write(text)
        return len(certificates)
    target = os.path.abspath(path)
    if os.path.isdir(target):
        raise ConfigurationError(f"--export {path!r} is a directory; give a file name")
    directory = os.path.dirname(target)
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory
        )
    except OSError as exc:
        raise ConfigurationError(
            f"--export {path!r}: cannot create a file in {directory} ({exc.strerror or exc})"
        ) from exc
    try:
        with os.fdopen(handle, "w", encoding="ascii", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        # A CA bundle is public data: readable by all (within the umask), like the distro's.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o644 & ~umask)
        os.replace(temporary, target)
    except OSError as exc:
        os.unlink(temporary)
        raise ConfigurationError(f"--export {path!r}: {exc.strerror or exc}") from exc
    _fsync_directory(directory)
    return len(certificates)


def _fsync_directory(directory: str) -> None:
    if sys.platform == "win32":
        return  # directories cannot be opened for fsync there; the rename is durable enough
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def env_assignments(resolution: Resolution, *, in_tree: bool = False) -> list[tuple[str, str]]:
    """``SSL_CERT_FILE``, ``SSL_CERT_DIR`` and ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`` for the store.

    gRPC does not read OpenSSL's variables: it trusts the roots bundled in the grpcio wheel
    unless ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`` names a PEM file (gRPC core's
    ``src/core/lib/security/security_connector/load_system_roots``/``ssl_utils.cc``), so the
    bundle is named a second time under that name.

    On this machine the file is :func:`trustresolve.where` (materialized in the cache for stores
    that are not one file). For a ``--root`` tree the paths are those *inside* the tree, as the
    image will see them; a store with no file there cannot be named, and the error says what
    to do instead.
    """
    source = _snapshot(resolution)
    if in_tree:
        pairs = []
        if source.kind == "file" and source.cafile_complete and source.display_cafile:
            pairs.append(("SSL_CERT_FILE", source.display_cafile))
        if source.display_capath:
            pairs.append(("SSL_CERT_DIR", source.display_capath))
        if not pairs:
            raise ConfigurationError(
                f"the {source.backend} store of this tree is not a file or directory inside "
                "it; write one with --root DIR --export DIR/path/bundle.pem and set "
                "SSL_CERT_FILE=/path/bundle.pem in the image"
            )
        return _with_grpc(pairs)
    from .._store.resolve import where

    pairs = [("SSL_CERT_FILE", where(resolution))]
    if source.capath:
        pairs.append(("SSL_CERT_DIR", source.capath))
    return _with_grpc(pairs)


def _with_grpc(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    bundle = dict(pairs).get("SSL_CERT_FILE")
    return [*pairs, ("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", bundle)] if bundle else pairs


def _quote(shell: str, name: str, value: str) -> str:
    if shell == "sh":
        return f"export {name}={shlex.quote(value)}"
    if shell == "fish":
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        return f"set -gx {name} '{escaped}'"
    if shell == "powershell":
        escaped = "".join(c + c if c in _PS_QUOTES else c for c in value)
        return f"$env:{name} = '{escaped}'"
    if shell == "cmd":
        bad = sorted({c for c in value if c in _CMD_UNSAFE})
        if bad:
            raise ConfigurationError(
                f"--shell cmd: the path {value!r} holds {' '.join(map(repr, bad))}, which cmd.exe "
                "cannot quote reliably; use --shell powershell, or --export the store to a "
                "plain path"
            )
        return f'set "{name}={value}"'
    raise ConfigurationError(f"--shell {shell!r} is not one of {', '.join(SHELLS)}")


def render_env(pairs: list[tuple[str, str]], shell: str) -> str:
    """The lines for ``shell`` (``eval "$(python -m trustresolve --env)"`` and friends)."""
    return "\n".join(_quote(shell, name, value) for name, value in pairs)
