"""``--install-hook`` / ``--uninstall-hook``: a start-up hook for portable interpreters.

An interpreter whose compiled-in OpenSSL paths do not exist where it runs (python-build-standalone
on RHEL 8, portable PyPy's ``/opt/prefix``, a relocated prefix; architecture §8.2 #6, #7)
trusts nothing: every ``ssl.create_default_context()`` fails with CERTIFICATE_VERIFY_FAILED. The
hook is one ``.pth`` file in site-packages, run by :mod:`site` at every start-up:

1. ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` set (even to a bad path): do nothing. The user decided,
   and OpenSSL treats a set variable as authoritative (python-build-standalone PR #976's review
   refused a fallback there too).
2. The interpreter's compiled-in ``openssl_cafile`` is a file, or its ``openssl_capath`` holds a
   hashed ``HHHHHHHH.N`` entry: do nothing. The paths are recorded in the ``.pth`` when it is
   installed, because asking ``ssl`` at start-up would load libssl (4-5 ms) in every process.
3. Otherwise import trustresolve, resolve the store and set ``SSL_CERT_FILE`` (and
   ``SSL_CERT_DIR`` when the store has a hashed directory) in ``os.environ``: the same values
   ``--env`` prints.

Step 3, and the directory scan of step 2, wait for the program's first ``import ssl``: at
start-up the ``.pth`` only puts a finder first on :data:`sys.meta_path` (:data:`_STARTUP`, a
dozen lines that import nothing), and the finder hands the import system ``ssl``'s own spec with
a loader that runs steps 1-3 right after ``ssl`` has executed (:func:`ssl_spec`). Resolving
costs tens of milliseconds (imports, reading the bundle): a program that never imports ``ssl``
makes no TLS connection through it and does not pay. One ``ssl`` already imported when the
``.pth`` runs (by an earlier ``.pth``) is handled at once.

Why environment variables and not a patched ``ssl``: OpenSSL reads them each time a context
loads its default paths (``load_default_certs``, ``set_default_verify_paths``), so every later
context of every library picks the store up, including C extensions linked to the same OpenSSL,
without depending on ``ssl``'s internals (which differ between CPython 3.9-3.13 and PyPy); the
precedence stays OpenSSL's own; child processes started after ``ssl`` was imported inherit the
fix; and ``ssl.get_default_verify_paths()`` shows what happened. The price: ``os.environ`` shows
the variables, and a later ``trustresolve.resolve(refresh=True)`` reports the ``env`` backend.

The hook never raises, at start-up or inside ``import ssl``: any error leaves the interpreter as
it would be without the hook. What installing needs (``ssl``, ``sysconfig``) is imported inside
the installing functions.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._errors import ConfigurationError
from .._machine.fs import is_hashed_name

__all__ = [
    "PTH_NAME",
    "HookResult",
    "activate",
    "activate_on_ssl_import",
    "default_target",
    "defaults_usable",
    "has_hashed_entry",
    "install_hook",
    "pth_text",
    "ssl_spec",
    "uninstall_hook",
]

PTH_NAME = "trustresolve-hook.pth"
_MARKER = "# trustresolve start-up hook"


def has_hashed_entry(path: str) -> bool:
    """Whether ``path`` is a directory holding at least one hashed entry (stops at the first)."""
    try:
        with os.scandir(path) as entries:
            return any(is_hashed_name(entry.name) for entry in entries)
    except OSError:
        return False


def defaults_usable(cafile: str | None, capath: str | None) -> bool:
    """Whether OpenSSL's compiled-in defaults give it any certificate to trust."""
    return bool(cafile and os.path.isfile(cafile)) or bool(capath and has_hashed_entry(capath))


def activate() -> list[tuple[str, str]]:
    """Point ``SSL_CERT_FILE``/``SSL_CERT_DIR`` at the resolved store; returns what was set."""
    from .._store.resolve import resolve
    from .export import env_assignments

    pairs = env_assignments(resolve())
    for name, value in pairs:
        os.environ[name] = value
    return pairs


def activate_on_ssl_import(cafile: str | None, capath: str | None) -> None:
    """Steps 1-3 of the module docstring, when ``ssl`` has just been imported. Never raises.

    A variable set since start-up wins as one set before it would (the program decided); the
    store that cannot be resolved leaves ``ssl`` as it would be without the hook.
    """
    try:
        if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
            return
        if defaults_usable(cafile, capath):
            return
        activate()
    except BaseException:  # noqa: S110 - an import of ssl must not fail because of the hook
        pass


def ssl_spec(path: Any, target: Any, defaults: tuple[str | None, str | None]) -> Any:
    """``ssl``'s spec as the finders after the hook's find it, its loader wrapped so that
    :func:`activate_on_ssl_import` runs right after the module has executed.

    The module is the one the interpreter would load, executed once; other threads importing
    ``ssl`` meanwhile wait for its module lock, so none can make a context before the
    variables are set. ``None`` lets the import system look on by itself. Called with ``ssl``
    already imported (the ``.pth`` does, when an earlier one imported it), it activates at once.
    """
    if "ssl" in sys.modules and not path and target is None:
        activate_on_ssl_import(*defaults)
        return None
    for other in sys.meta_path:
        find = None if type(other).__name__ == _FINDER else getattr(other, "find_spec", None)
        spec = find("ssl", path, target) if find is not None else None
        if spec is not None:
            if hasattr(spec.loader, "exec_module"):
                spec.loader = _ActivateAfter(spec.loader, defaults)
            return spec
    return None


class _ActivateAfter:
    """``ssl``'s own loader, then :func:`activate_on_ssl_import`; the module keeps its real
    loader."""

    def __init__(self, loader: Any, defaults: tuple[str | None, str | None]) -> None:
        self.loader = loader
        self.defaults = defaults

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)  # get_source, get_filename, is_package...

    def create_module(self, spec: Any) -> Any:
        create = getattr(self.loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: Any) -> None:
        try:
            self.loader.exec_module(module)
        finally:
            module.__loader__ = module.__spec__.loader = self.loader
        activate_on_ssl_import(*self.defaults)


_FINDER = "_ActivateOnSSLImport"
# Run by the .pth when neither a variable nor the compiled-in cafile settles it. It is compiled
# at every start-up, so it is only a finder that answers one name and leaves the rest to
# ssl_spec; "ssl" already imported (by an earlier .pth) is passed on at once. The finder stays
# on sys.meta_path, inert once ssl is imported (only an import of "ssl" reaches ssl_spec):
# removing it could make another thread's import, iterating the same list, skip a finder.
_STARTUP = f"""\
import sys
class {_FINDER}:
    def find_spec(self, name, path=None, target=None):
        if name == 'ssl':
            try:
                from trustresolve._cli.hook import ssl_spec
                return ssl_spec(path, target, (%r, %r))
            except BaseException:
                pass
sys.meta_path.insert(0, {_FINDER}())
'ssl' in sys.modules and sys.meta_path[0].find_spec('ssl')
"""


def pth_text(cafile: str | None, capath: str | None) -> str:
    """The ``.pth`` file: comments, then one ``import`` line that :mod:`site` executes.

    The line tests the environment and the compiled-in cafile itself (two dictionary lookups
    and one ``stat``); only when both leave the question open does it ``exec`` the few lines of
    :data:`_STARTUP`, which import nothing (``os`` and ``sys`` are :mod:`site`'s already).
    """
    code = _STARTUP % (cafile, capath)
    quick = 'os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")' + (
        f" or os.path.isfile({cafile!r})" if cafile else ""
    )
    # A venv's site runs every .pth twice (CPython's site.venv() adds the venv's site-packages
    # "to take precedence over user-site", then main() adds them again): the second run sees
    # the finder of the first and compiles nothing.
    quick += f" or type(sys.meta_path[0]).__name__ == {_FINDER!r}"
    return (
        f"{_MARKER}: written by `python -m trustresolve --install-hook`, removed by\n"
        "# `python -m trustresolve --uninstall-hook`. When neither SSL_CERT_FILE nor SSL_CERT_DIR\n"
        "# is set and this interpreter's compiled-in CA paths (below) hold no certificate, it\n"
        "# sets them to the store trustresolve resolves, when the program first imports ssl.\n"
        f"# openssl_cafile={cafile!r} openssl_capath={capath!r}\n"
        f'import os, sys; {quick} or exec({code!r}, {{"__name__": "trustresolve_hook"}})\n'
    )


def default_target() -> str:
    """The running interpreter's purelib (site-packages) directory."""
    import sysconfig

    return sysconfig.get_paths()["purelib"]


@dataclass(frozen=True)
class HookResult:
    path: str
    changed: bool
    notes: tuple[str, ...] = ()


def install_hook(
    target: str | None = None, *, defaults: Sequence[str | None] | None = None
) -> HookResult:
    """Write the ``.pth`` into ``target`` (default: :func:`default_target`); idempotent.

    ``defaults`` is ``(openssl_cafile, openssl_capath)``, the compiled-in paths the hook tests at
    start-up; by default the running interpreter's, which is why the hook must be installed by
    the interpreter it is for.
    """
    directory = os.path.abspath(target or default_target())
    if not os.path.isdir(directory):
        raise ConfigurationError(
            f"--target {directory!r} is not a directory; give the interpreter's site-packages"
        )
    if defaults is None:
        import ssl

        paths = ssl.get_default_verify_paths()
        defaults = (paths.openssl_cafile, paths.openssl_capath)
    cafile, capath = defaults
    text = pth_text(cafile, capath)
    path = os.path.join(directory, PTH_NAME)
    notes = []
    if directory not in _site_directories():
        notes.append(
            f"{directory} is not a site directory of this interpreter: the hook runs only if "
            "the interpreter it is for processes .pth files there, and it tests this "
            f"interpreter's compiled-in paths ({cafile}, {capath})"
        )
    if _installed_as(path, text):
        return HookResult(path, False, tuple(notes))
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        _write_private_then_publish(temporary, text)
        os.replace(temporary, path)
    except OSError as exc:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise ConfigurationError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return HookResult(path, True, tuple(notes))


_PTH_MODE = 0o644  # site runs the file in every process: only its owner may change it


def _installed_as(path: str, text: str) -> bool:
    """The hook is there with this text and a mode no other user can write through."""
    try:
        with open(path, encoding="utf-8") as handle:
            same = handle.read() == text
        # Windows reports 0o666 for any writable file: its ACLs, not the mode, decide there.
        return same and (os.name != "posix" or not os.stat(path).st_mode & 0o022)
    except OSError:
        return False


def _write_private_then_publish(temporary: str, text: str) -> None:
    """Created 0600 (a umask can only take bits away), written, then chmod 0644 explicitly.

    ``open(..., "w")`` would create it ``0666 & ~umask``: world-writable under ``umask 000``,
    and any local user could then make every start-up of this interpreter run their code.
    """
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)  # left by an interrupted install of the same process id
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, _PTH_MODE)


def uninstall_hook(target: str | None = None) -> list[str]:
    """Remove the ``.pth`` (and any temporary file an interrupted install left); the paths removed.

    A file of that name that trustresolve did not write is left alone, with an error.
    """
    directory = os.path.abspath(target or default_target())
    path = os.path.join(directory, PTH_NAME)
    removed = []
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as handle:
            if not handle.read(len(_MARKER)) == _MARKER:
                raise ConfigurationError(
                    f"{path} was not written by trustresolve; remove it yourself if it is yours"
                )
        os.unlink(path)
        removed.append(path)
    try:
        leftovers = [
            name
            for name in os.listdir(directory)
            if name.startswith(PTH_NAME + ".") and name.endswith(".tmp")
        ]
    except OSError:
        leftovers = []
    for name in leftovers:
        os.unlink(os.path.join(directory, name))
        removed.append(os.path.join(directory, name))
    return removed


def _site_directories() -> set[str]:
    import site
    import sysconfig

    found = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    # Old virtualenv's site.py lacks getsitepackages().
    with contextlib.suppress(AttributeError):
        found.update(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        found.add(site.getusersitepackages())
    return {os.path.abspath(d) for d in found}
