"""Outputs the documentation shows, matched against what the code really prints.

A page shows a run's output in a ``text`` block; ``...`` alone on a line stands for any lines,
``...`` inside a line for any text. Outputs that need a live server (``--connect``) cannot be
run from the page itself: the page marks the block with an RST comment naming a scenario,

.. code-block:: rst

   .. doctor-output: self-signed

   .. code-block:: text

      $ python -m trustresolve --connect localhost:8443
      Connecting to localhost:8443
      ...

and the test that builds that scenario (a loopback server, a store) runs the command its own way
and calls ``assert_shown("self-signed", printed, {"54321": "8443"})``: the page's output, after
the substitutions (the test's port and paths for the page's), must match what was printed.
tests/test_docs.py checks that every marked block is claimed by a test and every ``--connect``
output on a page is marked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = ["MARKER", "assert_shown", "marked_outputs", "output_pattern", "shown_output"]

REPO = Path(__file__).resolve().parent.parent.parent
MARKER = re.compile(r"^\.\. doctor-output: *(\S+)\s*$")
_BLOCK = re.compile(r"^(\s*)\.\. code-block:: *text\s*$")


# CPython's ssl ends its messages with where it raised them ("(_ssl.c:1006)"); PyPy's does not.
_SSL_C = " (_ssl.c:...)"


def output_pattern(expected: list[str]) -> re.Pattern[str]:
    """A pattern for the lines a page shows, with its ``...`` elisions; a line ending in
    ``(_ssl.c:...)`` also matches without it (PyPy)."""
    parts = []
    for line in expected:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        text, where = line.rstrip(), ""
        if text.endswith(_SSL_C):
            text, where = text[: -len(_SSL_C)], r"(?: \(_ssl\.c:[^\n]*\))?"
        pieces = [re.escape(piece) for piece in text.split("...")]
        parts.append(r"[^\n]*".join(pieces) + where + r"[ \t]*\n")
    return re.compile("".join(parts))


def marked_outputs(page: Path) -> Iterator[tuple[str, int, list[str]]]:
    """(scenario, line number, the block's lines) of every marked block of ``page``."""
    lines = page.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        marker = MARKER.match(line)
        if not marker:
            continue
        following = [n for n in range(number + 1, len(lines)) if lines[n].strip()]
        start = following[0] if following else len(lines)
        block = _BLOCK.match(lines[start]) if start < len(lines) else None
        if block is None:
            raise AssertionError(
                f"{page.name}:{number + 1}: a doctor-output marker must be followed by a "
                "text code block"
            )
        yield marker.group(1), start + 1, _block_body(lines, start, len(block.group(1)))


def _block_body(lines: list[str], start: int, indent: int) -> list[str]:
    body: list[str] = []
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    margin = min((len(b) - len(b.lstrip()) for b in body if b.strip()), default=0)
    return [b[margin:] for b in body]


def shown_output(scenario: str, page: str = "docs/troubleshooting.rst") -> tuple[str, list[str]]:
    """The command (without ``$ ``) and the output lines the page shows for ``scenario``."""
    found = [body for name, _, body in marked_outputs(REPO / page) if name == scenario]
    if len(found) != 1:
        raise AssertionError(f"{page}: {len(found)} blocks marked doctor-output: {scenario}")
    body = found[0]
    if not body or not body[0].startswith("$ "):
        raise AssertionError(f"{page}: the {scenario} block must start with the `$ ` command")
    return body[0][2:], body[1:]


def assert_shown(
    scenario: str,
    printed: str,
    substitutions: Mapping[str, str] | None = None,
    page: str = "docs/troubleshooting.rst",
) -> None:
    """The page's output for ``scenario`` matches ``printed``, after replacing each key of
    ``substitutions`` (the test's port, paths) in ``printed`` with its value (the page's)."""
    for real, shown in (substitutions or {}).items():
        printed = printed.replace(real, shown)
    _, expected = shown_output(scenario, page)
    assert output_pattern(expected).fullmatch(printed.rstrip("\n") + "\n"), (
        f"{page} shows for {scenario}:\n" + "\n".join(expected) + f"\n\nthe run prints:\n{printed}"
    )
