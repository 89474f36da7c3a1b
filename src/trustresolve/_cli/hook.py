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

Why environment variables and not a patched ``ssl``: OpenSSL reads them each time a context
loads its default paths (``load_default_certs``, ``set_default_verify_paths``), so every later
context of every library picks the store up, including C extensions linked to the same OpenSSL,
without importing ``ssl`` at start-up or depending on its internals (which differ between
CPython 3.9-3.13 and PyPy); the precedence stays OpenSSL's own; child processes inherit the fix;
and ``ssl.get_default_verify_paths()`` shows what happened. The price: ``os.environ`` shows the
two variables, and a later ``trustresolve.resolve(refresh=True)`` reports the ``env`` backend.

Steps 1-2 cost two dictionary lookups and one or two ``stat`` calls (a directory scan only when
the cafile is missing). The hook never raises: any error leaves the interpreter as it would be
without the hook.

The start-up path (``activate``) imports only what resolving needs; what installing needs
(``inspect``, ``sysconfig``) is imported inside the installing functions.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass

from .._errors import ConfigurationError

__all__ = [
    "PTH_NAME",
    "HookResult",
    "activate",
    "default_target",
    "defaults_usable",
    "has_hashed_entry",
    "install_hook",
    "pth_text",
    "startup",
    "uninstall_hook",
]

PTH_NAME = "trustresolve-hook.pth"
_MARKER = "# trustresolve start-up hook"


def _is_hashed_name(name: str) -> bool:
    """``c_rehash`` names as OpenSSL opens them (``5ad8a5d6.0``): lower-case hex, a dot, a
    number without leading zeros. Self-contained (no ``re``): it is copied into the ``.pth``."""
    head, dot, tail = name.partition(".")
    return (
        len(head) == 8
        and dot == "."
        and tail.isdigit()
        and (tail == "0" or not tail.startswith("0"))
        and all(c in "0123456789abcdef" for c in head)
    )


def has_hashed_entry(path: str) -> bool:
    """Whether ``path`` is a directory holding at least one hashed entry (stops at the first)."""
    try:
        with os.scandir(path) as entries:
            return any(_is_hashed_name(entry.name) for entry in entries)
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


def startup(cafile: str | None, capath: str | None) -> None:
    """What the ``.pth`` runs at interpreter start-up. Never raises."""
    try:
        if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
            return
        if defaults_usable(cafile, capath):
            return
        from trustresolve._cli.hook import activate

        activate()
    except BaseException:  # noqa: S110 - not even SystemExit/KeyboardInterrupt may abort start-up
        pass


def _startup_code(cafile: str | None, capath: str | None) -> str:
    """The start-up functions above as compact source (docstrings dropped), then the call."""
    import ast

    functions = (_is_hashed_name, has_hashed_entry, defaults_usable, startup)
    import inspect

    module = ast.parse("\n".join(inspect.getsource(function) for function in functions))
    for node in module.body:
        assert isinstance(node, ast.FunctionDef)
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            node.body = node.body[1:]
        node.returns = None
        for argument in node.args.args:
            argument.annotation = None
    return f"import os\n{ast.unparse(module)}\nstartup({cafile!r}, {capath!r})\n"


def pth_text(cafile: str | None, capath: str | None) -> str:
    """The ``.pth`` file: comments, then one ``import`` line that :mod:`site` executes.

    The line tests the environment and the compiled-in cafile itself (two dictionary lookups
    and one ``stat``); only when both leave the question open does it ``exec`` the start-up
    functions above, copied in as source so that nothing is imported at start-up but ``os``
    (already imported by :mod:`site`).
    """
    code = _startup_code(cafile, capath)
    quick = 'os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")' + (
        f" or os.path.isfile({cafile!r})" if cafile else ""
    )
    return (
        f"{_MARKER}: written by `python -m trustresolve --install-hook`, removed by\n"
        "# `python -m trustresolve --uninstall-hook`. When neither SSL_CERT_FILE nor SSL_CERT_DIR\n"
        "# is set and this interpreter's compiled-in CA paths (below) hold no certificate, it\n"
        "# sets them to the store trustresolve resolves. Otherwise it costs a stat call or two.\n"
        f"# openssl_cafile={cafile!r} openssl_capath={capath!r}\n"
        f'import os; {quick} or exec({code!r}, {{"__name__": "trustresolve_hook"}})\n'
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
