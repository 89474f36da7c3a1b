"""What makes a cache file or directory ours: the privacy rule of architecture §9, in one place.

Light on purpose (``os``, ``stat``, ``sys``): the start-up memo (``memo.py``) checks the cache
with it before anything heavier is imported.
"""

from __future__ import annotations

import os
import stat
import sys

from .._limits import CACHED_FILE_BYTES

__all__ = ["insecure", "read_private_file"]


def insecure(info: os.stat_result) -> str | None:
    """Why a cache file or directory must not be used, or ``None`` when it is private enough."""
    if sys.platform == "win32":
        return None  # no POSIX owner or mode bits; %LOCALAPPDATA% is per-user by ACL
    uid = os.geteuid()
    if info.st_uid != uid:
        return f"owned by uid {info.st_uid}, not by you (uid {uid})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"writable by group or others (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


def read_private_file(
    path: str, limit: int = CACHED_FILE_BYTES
) -> tuple[bytes, os.stat_result] | None:
    """The bytes of a regular, private file we own, and its ``fstat``; ``None`` if missing or not
    trustworthy (a link, another owner, writable by others, larger than ``limit``, changing)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or insecure(info) or info.st_size > limit:
            return None
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as handle:
            opened = os.fstat(handle.fileno())
            if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
                return None  # replaced between lstat and open
            data = handle.read(info.st_size + 1)
    except OSError:
        return None
    return (data, opened) if len(data) == info.st_size else None  # changed under us
