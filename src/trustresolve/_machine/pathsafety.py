"""Who else could change a path: the one ownership-and-mode check (architecture §10).

The rule is OpenSSH's ``safe_path()`` / ``auth_secure_path()`` (misc.c), extended to every
symlink on the way: an entry is safe when nobody but root and the current user can change what
it leads to. So, walking the path from ``/`` one component at a time (links followed, each
target's own directory chain walked too):

- every directory passed through is owned by root or the user;
- no directory passed through lets group or others write, except a sticky directory
  (``/tmp``): there only an entry's owner can rename or delete it, so the entry is safe when
  *it* is owned by root or the user (a directory another user made in ``/tmp`` is not);
- the final entry is owned by root or the user and is not writable by group or others.

Callers decide what an unsafe path means: the cache and the config files are *refused* (not
used, with the reason and the fix), the system stores are *flagged* (used, as OpenSSL would,
with a warning ``--which`` prints). Windows has no POSIX owner or mode bits: nothing is
reported there (its per-user ACLs are the protection).
"""

from __future__ import annotations

import os
import posixpath
import stat
import sys

from .journal import note, stat_noted

__all__ = ["Unsafe", "first_unsafe_entry", "unsafe_reason", "who_else_can_change"]

_MAX_LINK_HOPS = 40  # Linux's own limit (MAXSYMLINKS), as in fs.py
_WRITE_GROUP_OTHER = stat.S_IWGRP | stat.S_IWOTH


#: ``(culprit, reason)``: the first entry on the way that another user could change (a plain
#: tuple: this module is on the start-up path of ``create_default_context()``).
Unsafe = tuple[str, str]


def unsafe_reason(
    path: str,
    *,
    root: str = "/",
    uid: int | None = None,
    verified: dict[str, os.stat_result] | None = None,
) -> str | None:
    """Why ``path`` could be changed by another user, with the fix; ``None`` when it cannot."""
    found = who_else_can_change(path, root=root, uid=uid, verified=verified)
    return found[1] if found else None


def who_else_can_change(
    path: str,
    *,
    root: str = "/",
    uid: int | None = None,
    verified: dict[str, os.stat_result] | None = None,
) -> Unsafe | None:
    """The first place where another user could change what ``path`` leads to, or ``None``.

    ``path`` is absolute in platform terms; under ``root`` (``--root``) it is walked inside the
    tree, as :class:`~trustresolve._machine.fs.FileSystem` does, and the directories above the
    tree are not judged (an image is judged by its own layout). A path that does not exist is
    judged as far as it exists. ``verified`` remembers directories already found safe, so that
    checking every entry of a hashed directory costs about one ``lstat`` per entry.
    """
    if sys.platform == "win32" or not path.startswith("/"):
        return None
    me = os.geteuid() if uid is None else uid
    top = os.path.abspath(root)
    memo = verified if verified is not None else {}

    def host(platform_path: str) -> str:
        return platform_path if top == "/" else top + platform_path.rstrip("/")

    try:
        current, current_st = "/", memo.get("/") or os.lstat(host("/") or "/")
    except OSError:
        return None
    note(host("/") or "/", False, current_st)
    problem = _directory_problem("/", current_st, me)
    if problem:
        return problem
    memo["/"] = current_st
    parts = [p for p in posixpath.normpath(path).split("/") if p]
    hops = 0
    while parts:
        name = parts.pop(0)
        if name == ".":
            continue
        if name == "..":
            current = posixpath.dirname(current) or "/"
            known = memo.get(current)  # walked (and verified) on the way down
            if known is None:
                return None
            current_st = known
            continue
        candidate = posixpath.join(current, name)
        known = memo.get(candidate)
        if known is not None:
            current, current_st = candidate, known
            continue
        entry_st = stat_noted(host(candidate), False)
        if entry_st is None:
            return None  # missing: nothing further to judge (the caller reports absence)
        problem = _entry_problem(current, current_st, candidate, entry_st, me)
        if problem:
            return problem
        if stat.S_ISLNK(entry_st.st_mode):
            hops += 1
            if hops > _MAX_LINK_HOPS:
                return None  # a loop: fs.locate reports it
            try:
                target = os.readlink(host(candidate))
            except OSError:
                return None
            parts = [p for p in target.split("/") if p] + parts
            if target.startswith("/"):
                current, current_st = "/", memo["/"]
            continue
        if parts:
            if not stat.S_ISDIR(entry_st.st_mode):
                return None  # "not a directory on the way": fs.locate reports it
            problem = _directory_problem(candidate, entry_st, me)
            if problem:
                return problem
            memo[candidate] = entry_st
        current, current_st = candidate, entry_st
    return _final_problem(current, current_st, me)


def _owner_ok(info: os.stat_result, me: int) -> bool:
    return info.st_uid in (0, me)


def _owner_problem(path: str, info: os.stat_result, me: int) -> Unsafe | None:
    if _owner_ok(info, me):
        return None
    return path, (
        f"{path} is owned by uid {info.st_uid}, not by root or you (uid {me}), so its owner "
        f"can change it; fix it with `chown root {path}` (or your own user)"
    )


def _directory_problem(path: str, info: os.stat_result, me: int) -> Unsafe | None:
    """A directory passed through: its owner; its write bits are judged per entry."""
    return _owner_problem(path, info, me)


def _entry_problem(
    directory: str, dir_st: os.stat_result, entry: str, entry_st: os.stat_result, me: int
) -> Unsafe | None:
    """Whether ``directory`` lets someone else replace ``entry``."""
    if not dir_st.st_mode & _WRITE_GROUP_OTHER:
        return None
    mode = f"mode {stat.S_IMODE(dir_st.st_mode):04o}"
    if dir_st.st_mode & stat.S_ISVTX:
        if _owner_ok(entry_st, me):
            return None  # sticky: only the entry's owner (root or you) can replace it
        return entry, (
            f"{entry} is owned by uid {entry_st.st_uid} inside the shared directory {directory} "
            f"({mode}), so that user can replace it; use a path that you or root own"
        )
    return directory, (
        f"{directory} is writable by group or others ({mode}), so another user can replace "
        f"{entry}; fix it with `chmod go-w {directory}`"
    )


def _final_problem(path: str, info: os.stat_result, me: int) -> Unsafe | None:
    problem = _owner_problem(path, info, me)
    if problem:
        return problem
    if info.st_mode & _WRITE_GROUP_OTHER:
        return path, (
            f"{path} is writable by group or others (mode {stat.S_IMODE(info.st_mode):04o}); "
            f"fix it with `chmod go-w {path}`"
        )
    return None


def first_unsafe_entry(
    entries: list[str], *, root: str = "/", uid: int | None = None
) -> tuple[int, Unsafe | None]:
    """How many of a hashed directory's ``entries`` another user could change, and the first.

    The directory itself must already be judged safe. On the real machine this follows each
    entry's links by ``readlink`` and judges each distinct target directory once (Debian's
    ``/etc/ssl/certs`` links every hash to a ``.pem`` beside it, which links into
    ``/usr/share/ca-certificates``), and the file finally reached by one ``stat``: about four
    system calls an entry, not one per component.
    """
    if sys.platform == "win32":
        return 0, None
    me = os.geteuid() if uid is None else uid
    if os.path.abspath(root) != "/":
        verified: dict[str, os.stat_result] = {}
        hits = [who_else_can_change(e, root=root, uid=me, verified=verified) for e in entries]
        found = [hit for hit in hits if hit is not None]
        return len(found), (found[0] if found else None)
    directories: dict[str, Unsafe | None] = {}
    count, first = 0, None
    for entry in entries:
        hit = _entry_on_machine(entry, me, directories)
        if hit is not None:
            count += 1
            first = first or hit
    return count, first


def _entry_on_machine(entry: str, me: int, directories: dict[str, Unsafe | None]) -> Unsafe | None:
    final = stat_noted(entry, True)
    if final is None:
        return None  # gone: OpenSSL will not read it either
    problem = _final_problem(entry, final, me)
    if problem:
        return problem
    path = entry
    for _ in range(_MAX_LINK_HOPS):
        try:
            target = os.readlink(path)
        except OSError:
            return None  # not a link (EINVAL): the file reached is judged above
        path = _hop(path, target)
        directory = posixpath.dirname(path) or "/"
        if directory not in directories:
            directories[directory] = who_else_can_change(directory, uid=me)
        if directories[directory] is not None:
            return directories[directory]
    return None


def _hop(link: str, target: str) -> str:
    """Where the symlink ``link`` (a normalized path) leads: ``target`` from its directory,
    normalized. The two forms every real store uses skip ``join``/``normpath`` (3.1 us a hop
    against 0.65 us on CPython 3.11, and Debian's 150 entries take two hops each): a bare name
    beside the link (``HHHHHHHH.0 -> Name.pem``) and an absolute path with nothing to
    normalize (``-> /usr/share/ca-certificates/...``)."""
    normal = "//" not in link and "/." not in link
    if normal and "/" not in target and target not in ("", ".", ".."):
        head = link.rpartition("/")[0]
        return f"{head}/{target}" if head else f"/{target}"
    if target[:1] == "/" and "//" not in target and "/." not in target and target[-1] != "/":
        return target
    return posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
