"""The on/off words trustresolve accepts, in one table.

Two dialects, both here so they cannot drift apart: the switches trustresolve owns
(``TRUSTRESOLVE_NATIVE``, ``native =`` in ``trustresolve.ini``) take configparser's words
(CPython ``configparser.RawConfigParser.BOOLEAN_STATES``), case-insensitive; a driver option
given as a string takes exactly ``true`` or ``false``, as PyMongo's
``validate_boolean_or_string`` (``pymongo/common.py``) does, so ``1``, ``yes`` and ``TRUE`` are
refused there (architecture §4).
"""

from __future__ import annotations

__all__ = ["DRIVER_WORDS", "SWITCH_WORDS", "switch_value"]

#: The words of trustresolve's own switches (compared lower-case, surrounding spaces ignored).
SWITCH_WORDS: dict[str, bool] = {
    "1": True,
    "yes": True,
    "true": True,
    "on": True,
    "0": False,
    "no": False,
    "false": False,
    "off": False,
}
#: The only strings a driver's boolean option accepts (case-sensitive).
DRIVER_WORDS: dict[str, bool] = {word: SWITCH_WORDS[word] for word in ("true", "false")}


def switch_value(word: str) -> bool | None:
    """What a switch word means; ``None`` when it is neither on nor off."""
    return SWITCH_WORDS.get(word.strip().lower())
