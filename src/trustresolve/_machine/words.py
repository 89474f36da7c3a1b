"""Counted nouns in messages: "1 certificate", "2 certificates" (the one rule for every message)."""

from __future__ import annotations

__all__ = ["counted"]

_IRREGULAR = {"entry": "entries"}


def counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, the noun in the plural unless ``count`` is 1.

    ``noun`` is singular and may be several words ("hashed entry"): only the last one changes.
    """
    if count == 1:
        return f"{count} {noun}"
    head, _, last = noun.rpartition(" ")
    plural = _IRREGULAR.get(last, last + "s")
    return f"{count} {head + ' ' if head else ''}{plural}"
