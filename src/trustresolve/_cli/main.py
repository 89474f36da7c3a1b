"""``python -m trustresolve`` / ``trustresolve``: explain, diagnose and export the trust store.

One action per run: ``--which`` (the default question), ``--check``, ``--connect``,
``--export``, ``--env``, ``--install-hook``, ``--uninstall-hook``. Exit codes: 0 success, 1 the
answer is "no" (no store found, or a connection that does not verify), 2 a usage error or a
value trustresolve refuses (one line on stderr).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._errors import NoTrustStoreError, TrustResolveError
from .._machine.words import counted
from .._version import __version__
from .terminal import escape_undecodable_output, safe

if TYPE_CHECKING:
    from .._machine.facts import PlatformFacts
    from .._machine.model import Resolution
    from .._store.age import StoreAge

__all__ = ["main"]

EXIT_OK = 0
EXIT_NO_STORE = 1
EXIT_USAGE = 2

_ACTIONS = ("which", "check", "connect", "export", "env", "install_hook", "uninstall_hook")
# Which modifiers go with which actions (a modifier with another action is a usage error).
_MODIFIERS = {
    "json": ("which", "check"),
    "verbose": ("which",),
    "root": ("which", "check", "export", "env"),
    "cafile": ("connect",),
    "crlfile": ("connect",),
    "cert": ("connect",),
    "key": ("connect",),
    "timeout": ("connect",),
    "starttls": ("connect",),
    "shell": ("env",),
    "target": ("install_hook", "uninstall_hook"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, as the CLI reference promises, instead of argparse's usage dump.
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="trustresolve",
        description="Find the CA certificates this machine trusts and explain the choice.",
    )
    parser.add_argument("--version", action="version", version=f"trustresolve {__version__}")
    actions = parser.add_argument_group("actions (one per run)")
    actions.add_argument(
        "--which", action="store_true", help="show the chosen trust store and every attempt"
    )
    actions.add_argument(
        "--check", action="store_true", help="report this interpreter's TLS capabilities (offline)"
    )
    actions.add_argument(
        "--connect",
        metavar="HOST[:PORT]|URI",
        help="connect (port 443, or a database URI's first host: mongodb://, postgresql://, "
        "mysql://, rediss://) and explain the result",
    )
    actions.add_argument(
        "--export", metavar="FILE", help="write the resolved store to FILE as a PEM bundle"
    )
    actions.add_argument(
        "--env", action="store_true", help="print shell lines setting SSL_CERT_FILE/SSL_CERT_DIR"
    )
    actions.add_argument(
        "--install-hook",
        action="store_true",
        help="install a start-up hook for interpreters whose OpenSSL default paths are missing",
    )
    actions.add_argument("--uninstall-hook", action="store_true", help="remove the start-up hook")
    modifiers = parser.add_argument_group("modifiers")
    modifiers.add_argument("--json", action="store_true", help="with --which/--check: JSON")
    modifiers.add_argument(
        "--verbose", action="store_true", help="with --which: list every certificate"
    )
    modifiers.add_argument(
        "--root", metavar="DIR", help="resolve inside DIR (an image, chroot or fixture tree)"
    )
    modifiers.add_argument(
        "--cafile", metavar="FILE", help="with --connect: trust FILE instead of the store"
    )
    modifiers.add_argument(
        "--crlfile", metavar="FILE", help="with --connect: check the leaf against this PEM CRL"
    )
    modifiers.add_argument(
        "--cert",
        metavar="FILE",
        help="with --connect: present this PEM client certificate (and its key, unless --key)",
    )
    modifiers.add_argument(
        "--key",
        metavar="FILE",
        help="with --connect --cert: the PEM private key (passphrase: TRUSTRESOLVE_KEY_PASSWORD)",
    )
    modifiers.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        help="with --connect: time for the whole run, in seconds (default 10)",
    )
    modifiers.add_argument(
        "--starttls",
        choices=("postgres", "mysql"),
        help="with --connect HOST[:PORT]: start TLS inside PostgreSQL's or MySQL's protocol "
        "(default port 5432 or 3306)",
    )
    modifiers.add_argument(
        "--shell",
        choices=("sh", "fish", "powershell", "cmd"),
        help="with --env: the syntax (default sh; powershell on Windows)",
    )
    modifiers.add_argument(
        "--target",
        metavar="SITE_PACKAGES",
        help="with --install-hook/--uninstall-hook (default: this interpreter's purelib)",
    )
    return parser


def _chosen_action(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    given = [name for name in _ACTIONS if getattr(args, name) not in (None, False)]
    if not given:
        parser.error(
            "nothing to do: give --which, --check, --connect, --export, --env, "
            "--install-hook or --uninstall-hook"
        )
    if len(given) > 1:
        shown = " and ".join("--" + name.replace("_", "-") for name in given)
        parser.error(f"{shown} cannot be combined: give one action")
    action = given[0]
    for modifier, allowed in _MODIFIERS.items():
        if getattr(args, modifier) not in (None, False) and action not in allowed:
            owners = "/".join("--" + name.replace("_", "-") for name in allowed)
            parser.error(f"--{modifier} goes with {owners}")
    if args.timeout is not None and not args.timeout > 0:
        parser.error(f"--timeout must be a positive number of seconds, not {args.timeout}")
    return action


def main(argv: Sequence[str] | None = None) -> int:
    escape_undecodable_output()
    try:
        return _main(argv)
    except BrokenPipeError:
        # `trustresolve --which | head`: the reader left; say nothing more (Python's
        # documented recipe: point stdout at devnull so the interpreter's final flush is quiet).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_NO_STORE


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    action = _chosen_action(parser, args)
    try:
        if action == "which":
            return _which(args.root, as_json=args.json, verbose=args.verbose)
        if action == "check":
            return _check(args.root, as_json=args.json)
        if action == "connect":
            from .connect import connect

            timeout = 10.0 if args.timeout is None else args.timeout
            return connect(
                args.connect,
                cafile=args.cafile,
                crlfile=args.crlfile,
                timeout=timeout,
                cert=args.cert,
                key=args.key,
                starttls=args.starttls,
            )
        if action == "export":
            return _export(args.root, args.export)
        if action == "env":
            return _env(args.root, args.shell)
        return _hook(args.target, install=action == "install_hook")
    except NoTrustStoreError as exc:
        print(f"trustresolve: error: {safe(str(exc))}", file=sys.stderr)
        return EXIT_NO_STORE
    except TrustResolveError as exc:
        print(f"trustresolve: error: {safe(str(exc))}", file=sys.stderr)
        return EXIT_USAGE


def _facts(root: str | None) -> PlatformFacts:
    from .._machine.facts import PlatformFacts

    return PlatformFacts.from_root(root) if root else PlatformFacts.current()


def _resolve(root: str | None) -> Resolution:
    from .._store.resolve import resolve

    return resolve(_facts(root)) if root else resolve()


def _which(root: str | None, *, as_json: bool, verbose: bool = False) -> int:
    try:
        resolution = _resolve(root)
    except NoTrustStoreError as exc:
        _print_resolution(exc.resolution, as_json=as_json, error=str(exc).splitlines()[0])
        return EXIT_NO_STORE
    _print_resolution(resolution, as_json=as_json, verbose=verbose)
    note = None if (as_json or root) else _cache_note()
    if note:
        print(f"\nnote: {note}")
    return EXIT_OK


def _cache_note() -> str | None:
    """What contexts do about the cache, when it is not the usual user cache directory."""
    from .._store import cache

    where, how = cache.cache_location()
    try:
        cache.cache_dir()
    except TrustResolveError as exc:
        return f"the cache is not used, so contexts load the store eagerly (same trust): {exc}"
    return f"the cache is {where} ({how})" if how == cache.NO_HOME else None


def _print_resolution(
    resolution: Resolution, *, as_json: bool, error: str | None = None, verbose: bool = False
) -> None:
    if as_json:
        document = resolution.as_dict()
        if error:
            document["error"] = error
        if verbose:
            document["certificates"] = _certificate_rows(resolution)
        age = _store_age(resolution)
        document.update(age.as_dict() if age else {})
        print(json.dumps(document, indent=2))
        return
    if error:
        print(f"error: {error}\n")
    print(resolution.explain())
    age = _store_age(resolution)
    if age is not None:
        print("\n" + "\n".join(age.lines()))
    if verbose:
        rows = _certificate_rows(resolution)
        expired = sum(1 for row in rows if row["expired"])
        print(f"\nCertificates ({len(rows)}, {expired} expired):")
        for row in rows:
            flag = "  EXPIRED" if row["expired"] else ""
            print(f"  {row['not_after']}  {row['subject']}{flag}")


def _store_age(resolution: Resolution) -> StoreAge | None:
    from .._store.age import store_age

    if resolution.source is None:
        return None
    return store_age(resolution.source, datetime.datetime.now(datetime.timezone.utc))


def _certificate_rows(resolution: Resolution) -> list[dict[str, object]]:
    from .._x509.certinfo import summarize
    from .._x509.der import DERError

    source = resolution.source.without_native() if resolution.source else None
    if source is None:
        return []
    now = datetime.datetime.now(datetime.timezone.utc)
    rows: list[dict[str, object]] = []
    for der in source.certificates:
        try:
            cert = summarize(der)
        except DERError as exc:  # the store counted it, so it parsed once; be safe anyway
            rows.append({"subject": f"<unparsable: {exc}>", "not_after": "?", "expired": False})
            continue
        rows.append(
            {
                "subject": cert.subject,
                "not_after": f"{cert.not_after:%Y-%m-%d}",
                "expired": cert.not_after < now,
            }
        )
    return rows


def _check(root: str | None, *, as_json: bool) -> int:
    from .check import check_report, render_check

    report = check_report(root)
    print(json.dumps(report, indent=2) if as_json else render_check(report))
    return EXIT_OK


def _export(root: str | None, path: str) -> int:
    from .export import export_bundle

    resolution = _resolve(root)
    count = export_bundle(resolution, path)
    source = resolution.source
    backend = source.backend if source else "?"
    if path != "-":
        print(f"wrote {counted(count, 'certificate')} from the {backend} store to {path}")
    return EXIT_OK


def _env(root: str | None, shell: str | None) -> int:
    from .export import env_assignments, render_env

    chosen = shell or ("powershell" if sys.platform == "win32" else "sh")
    pairs = env_assignments(_resolve(root), in_tree=root is not None)
    print(render_env(pairs, chosen))
    return EXIT_OK


def _hook(target: str | None, *, install: bool) -> int:
    from .hook import install_hook, uninstall_hook

    if install:
        result = install_hook(target)
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        verb = "installed" if result.changed else "already installed (unchanged)"
        print(f"start-up hook {verb}: {result.path}")
        return EXIT_OK
    removed = uninstall_hook(target)
    if not removed:
        print("no start-up hook was installed there")
    for path in removed:
        print(f"removed {path}")
    return EXIT_OK
