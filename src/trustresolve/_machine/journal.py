"""What a resolution looked at: every path stat'ed, opened or listed, with its identity then.

While :func:`recording` is active, ``_machine/fs.py`` and ``_machine/pathsafety.py`` note each
path they look at, with the stat identity it had *before* it was read (architecture §9.1): a
file changed after that moment then no longer matches, so a verdict drawn from the journal is
never vouched for by a later identity. The start-up memo (``_store/memo.py``) keeps the
journal and re-``stat``\\ s it instead of probing again.
"""

from __future__ import annotations

import os
import stat as _stat

TYPE_CHECKING = False  # not typing's: this module is on the warm path (architecture §9.1)
if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "LISTED",
    "LSTAT",
    "MISSING",
    "STAT",
    "Entry",
    "ReadEnviron",
    "current",
    "identity",
    "note",
    "note_listing",
    "recording",
    "stat_noted",
    "take_answers",
]

#: The identity of a path that could not be stat'ed (missing, dangling, unreadable).
MISSING = "-"
#: How a path was looked at: ``lstat``, ``stat`` (links followed), or listed (a directory).
LSTAT = "l"
STAT = "s"
LISTED = "d"
#: ``(LSTAT, STAT or LISTED, host path, identity)``.
Entry = tuple[str, str, str]

_active: list[Entry] | None = None
# What stat_noted answered during the recording: a probe asks about each hashed entry twice
# (does it lead to a file; can another user change it), and one answer, taken before anything
# was read, is what the journal keeps anyway.
_answered: dict[tuple[str, bool], os.stat_result | None] | None = None
# The answers of the recording that ended last, until someone takes them (take_answers).
_handed: dict[tuple[str, bool], os.stat_result | None] | None = None


def identity(info: os.stat_result, listed: bool = False) -> str:
    """Device, inode, size, mtime, ctime, type, mode and owner: what no copy or restore
    reproduces.

    A directory that was only walked through (not ``listed``) is its device, inode, type, mode
    and owner: its times change whenever a neighbour is created (``/etc`` often), while the
    entry walked to is in the journal itself.
    """
    if _stat.S_ISDIR(info.st_mode) and not listed:
        return f"{info.st_dev}:{info.st_ino}:{info.st_mode:o}:{getattr(info, 'st_uid', -1)}"
    return (
        f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:"
        f"{_stat.S_IFMT(info.st_mode) | _stat.S_IMODE(info.st_mode):o}:"
        f"{getattr(info, 'st_uid', -1)}"
    )


def current(path: str, how: str) -> str:
    """The identity ``path`` has now, looked at ``how`` (:data:`MISSING`: cannot be stat'ed)."""
    try:
        info = os.lstat(path) if how == LSTAT else os.stat(path)
    except (OSError, ValueError):
        return MISSING
    return identity(info, how == LISTED)


def note(path: str, follow: bool, info: os.stat_result | None) -> None:
    """Record ``path`` as looked at; ``info`` is what ``stat``/``lstat`` gave (``None``: failed)."""
    active = _active  # read once: another thread may end the recording meanwhile
    if active is not None:
        how = STAT if follow else LSTAT
        active.append((how, path, MISSING if info is None else identity(info)))


def stat_noted(path: str, follow: bool) -> os.stat_result | None:
    """``stat`` (``follow``) or ``lstat`` of ``path``, noted; ``None`` when it fails.

    During a recording a path is stat'ed once per way: later calls get the first answer.
    """
    answered = _answered
    if answered is not None and (path, follow) in answered:
        return answered[path, follow]
    try:
        info: os.stat_result | None = os.stat(path) if follow else os.lstat(path)
    except (OSError, ValueError):
        info = None
    note(path, follow, info)
    if answered is not None:
        answered[path, follow] = info
    return info


def note_listing(path: str) -> None:
    """Record a directory about to be listed: an entry added or removed changes its identity."""
    active = _active
    if active is not None:
        active.append((LISTED, path, current(path, LISTED)))


class recording:
    """Collect the journal of everything looked at inside the ``with`` block.

    Not reentrant and not per-thread: whoever else looks at files meanwhile only adds entries,
    which can only make a memo stricter.
    """

    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def __enter__(self) -> recording:
        global _active, _answered  # the one journal being written
        _active, _answered = self.entries, {}
        return self

    def __exit__(self, *exc: object) -> None:
        global _active, _answered, _handed
        _active, _answered, _handed = None, None, _answered

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)


def take_answers() -> dict[tuple[str, bool], os.stat_result | None]:
    """What :func:`stat_noted` answered during the recording that ended last, once.

    ``(path, follow)`` -> the ``stat``/``lstat`` result (``None``: it failed). Each was taken
    before the path was read, as a journal entry is, so a plan made right after the probe may
    take them as its own "before" (``_tls/load.py`` ``plan_dependencies``) instead of
    ``stat``-ing every hashed entry again. Handed over once: a later caller gets ``{}``.
    """
    global _handed
    found, _handed = _handed, None
    return found or {}


class ReadEnviron(dict[str, str]):
    """The environment, noting every name a backend asks for (set or not)."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.read.add(name)
        return super().get(name, default)

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return str(super().__getitem__(name))

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.read.add(name)
        return super().__contains__(name)
