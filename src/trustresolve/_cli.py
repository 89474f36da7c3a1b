"""``python -m trustresolve`` / ``trustresolve``: explain which trust store is used and why."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ._errors import NoTrustStoreError, TrustResolveError
from ._version import __version__

__all__ = ["main"]

EXIT_OK = 0
EXIT_NO_STORE = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, as the CLI reference promises (issue 2), instead of argparse's usage dump.
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="trustresolve",
        description="Find the CA certificates this machine trusts and explain the choice.",
    )
    parser.add_argument("--version", action="version", version=f"trustresolve {__version__}")
    parser.add_argument(
        "--which", action="store_true", help="show the chosen trust store and every attempt"
    )
    parser.add_argument("--json", action="store_true", help="with --which: print JSON")
    parser.add_argument(
        "--root", metavar="DIR", help="resolve inside DIR (an image, chroot or fixture tree)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Paths from the environment may hold undecodable bytes (surrogate escapes); show them
    # escaped rather than crash while explaining (issue 7).
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.which:
        parser.error("nothing to do: give --which")
    if args.json and not args.which:
        parser.error("--json goes with --which")
    return _which(args.root, as_json=args.json)


def _which(root: str | None, *, as_json: bool) -> int:
    from ._facts import PlatformFacts
    from ._resolve import resolve

    try:
        facts = PlatformFacts.from_root(root) if root else PlatformFacts.current()
        resolution = resolve(facts)
    except NoTrustStoreError as exc:
        _print_resolution(exc.resolution, as_json=as_json, error=str(exc).splitlines()[0])
        return EXIT_NO_STORE
    except TrustResolveError as exc:
        print(f"trustresolve: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _print_resolution(resolution, as_json=as_json)
    return EXIT_OK


def _print_resolution(resolution: object, *, as_json: bool, error: str | None = None) -> None:
    from ._model import Resolution

    assert isinstance(resolution, Resolution)
    if as_json:
        document = resolution.as_dict()
        if error:
            document["error"] = error
        print(json.dumps(document, indent=2))
        return
    if error:
        print(f"error: {error}\n")
    print(resolution.explain())
