"""Text that is safe to print on a terminal: the one rule for every string the CLI did not write.

A certificate, a server or a file name can hold control characters (ESC starts an ANSI
sequence, CR returns to the start of the line, BEL rings), C1 controls (U+009B is a
one-character CSI), or bidirectional overrides and isolates (U+202E) that reorder what
follows. Printed raw, any of them can rewrite the report, e.g. draw a fake "VERIFIED" line
over the real verdict. :func:`safe` writes each such character in a
visible Python escape (``\\x1b``, ``\\u202e``) instead.
"""

from __future__ import annotations

import io
import sys

__all__ = ["escape_undecodable_output", "safe"]

# Categories that never print as themselves: Cc (C0, DEL, C1), Cf (format: bidi overrides and
# isolates, zero-width characters, BOM), Cs (lone surrogates: undecodable bytes of a path),
# Co/Cn (private use, unassigned), Zl/Zp (line and paragraph separators break lines).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _escaped(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe(text: str) -> str:
    """``text`` with every character a terminal would act on written as a visible escape."""
    if text.isascii() and text.isprintable():
        return text  # the common case, and cheap
    import unicodedata

    return "".join(
        _escaped(char) if unicodedata.category(char) in _UNSAFE_CATEGORIES else char
        for char in text
    )


def escape_undecodable_output() -> None:
    """Make stdout/stderr escape what they cannot encode instead of raising.

    Paths from the environment may hold undecodable bytes (surrogate escapes); text that went
    through :func:`safe` has none left, this covers whatever did not.
    """
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if getattr(stream, "errors", None) == "backslashreplace":
            continue  # already done (main() runs more than once in one process, e.g. tests)
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
        elif hasattr(stream, "buffer"):  # PyPy 3.9's text streams cannot be reconfigured
            wrapped = io.TextIOWrapper(
                stream.buffer,
                encoding=stream.encoding,
                errors="backslashreplace",
                line_buffering=stream.line_buffering,
            )
            setattr(sys, name, wrapped)
