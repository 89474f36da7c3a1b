"""The filesystem as backends see it: confined to a root, links followed, reads bounded.

With ``--root DIR`` every path, including absolute symlink targets inside the tree, resolves
within DIR as in a chroot, so inspecting an image never reads the host's files.
For the real machine the root is ``/`` and the same code follows links the same way.
"""

from __future__ import annotations

import os
import posixpath
import stat

from .._limits import MIB, READ_CHUNK_BYTES, STORE_FILE_BYTES
from .._record import record
from .journal import note, note_listing, stat_noted

__all__ = [
    "MAX_BUNDLE_BYTES",
    "FileSystem",
    "Located",
    "ReadResult",
    "is_hashed_name",
    "split_hashed_name",
]

#: The largest file read as a CA bundle: the one store-file bound of _limits, which keeps
#: ``/dev/zero`` or a multi-GB file from hanging or exhausting memory (architecture §2).
MAX_BUNDLE_BYTES = STORE_FILE_BYTES
_MAX_LINK_HOPS = 40  # Linux's own limit (MAXSYMLINKS)
_LOWER_HEX = frozenset("0123456789abcdef")


def split_hashed_name(name: str) -> tuple[str, int] | None:
    """``(subject hash, number)`` of ``HHHHHHHH.N`` spelled exactly as OpenSSL's by_dir lookup
    spells it (``%08lx.%d``: eight lower-case hex digits, a dot, the number without leading
    zeros); ``None`` for any other name.

    String tests, not a regular expression: compiling one cost a first run 0.5 ms
    (architecture §9.2); ``tests/test_x509_walk.py`` compares the two on any text.
    """
    if len(name) < 10 or name[8] != ".":
        return None
    prefix, number = name[:8], name[9:]
    if not _LOWER_HEX.issuperset(prefix) or not (number.isascii() and number.isdigit()):
        return None
    if number[0] == "0" and number != "0":
        return None
    return prefix, int(number)


def is_hashed_name(name: str) -> bool:
    """The only names OpenSSL's by_dir lookup opens (architecture §2)."""
    return split_hashed_name(name) is not None


@record(frozen=True)
class Located:
    """Where a path leads. ``host_path`` is the real path to open; ``links`` the hops taken."""

    path: str
    host_path: str | None  # None when the path does not lead to an existing entry
    target: str  # the final path in platform terms (inside the root)
    links: tuple[str, ...]  # "link -> target" for every symlink followed
    problem: str | None  # "missing", "dangling", "loop", "not a directory on the way"
    mode: int = 0
    uid: int = -1
    size: int = 0
    mtime_ns: int = 0
    #: The directory holding the entry lets any user replace it (o+w without the sticky bit).
    parent_replaceable: bool = False

    @property
    def exists(self) -> bool:
        return self.host_path is not None

    @property
    def is_file(self) -> bool:
        return self.exists and stat.S_ISREG(self.mode)

    @property
    def is_dir(self) -> bool:
        return self.exists and stat.S_ISDIR(self.mode)

    @property
    def kind(self) -> str:
        """A word for what the entry is, for attempt details."""
        if not self.exists:
            return self.problem or "missing"
        for test, word in (
            (stat.S_ISREG, "regular file"),
            (stat.S_ISDIR, "directory"),
            (stat.S_ISFIFO, "FIFO"),
            (stat.S_ISCHR, "character device"),
            (stat.S_ISBLK, "block device"),
            (stat.S_ISSOCK, "socket"),
        ):
            if test(self.mode):
                return word
        return "special file"

    @property
    def writable_by_others(self) -> bool:
        return self.exists and bool(self.mode & stat.S_IWOTH)

    @property
    def link_note(self) -> str:
        if not self.links:
            return ""
        # A loop repeats its hops up to 40 times: name each hop once, and only the first few.
        hops = list(dict.fromkeys(self.links))
        shown = ", ".join(hops[:4]) + (f", and {len(hops) - 4} more" if len(hops) > 4 else "")
        return f" (via {shown})"


def _too_large(size: int, limit: int) -> str:
    return f"is {size:,} bytes, larger than the {limit // MIB} MiB any CA bundle needs; not read"


@record(frozen=True)
class ReadResult:
    data: bytes | None
    problem: str | None  # why nothing (or not all) could be read


class FileSystem:
    """Path operations confined to ``root``."""

    def __init__(self, root: str = "/") -> None:
        self.root = os.path.abspath(root)

    def host(self, path: str) -> str:
        """The real path of ``path`` inside the root, without following links."""
        if self.root == "/":
            return path
        return self.root + path if path.startswith("/") else os.path.join(self.root, path)

    def locate(self, path: str) -> Located:
        """Follow ``path`` component by component, links resolved inside the root."""
        if os.sep != "/" and self.root == os.path.abspath("/"):
            return self._locate_native(path)
        if not path.startswith("/"):
            # Relative to the working directory, as OpenSSL opens it; inside a
            # --root tree there is no working directory, so relative means from its top.
            path = os.path.abspath(path) if self.root == "/" else "/" + path
        path = posixpath.normpath(path)
        links: list[str] = []
        parts = [p for p in path.split("/") if p]
        current = "/"
        hops = 0
        # How many components remain when the last link's target ends: a miss on that very
        # component is a dangling link, a miss further down is an ordinary missing file.
        link_target_end = -1
        while parts:
            name = parts.pop(0)
            if name == ".":
                continue
            if name == "..":
                current = posixpath.dirname(current) or "/"
                continue
            candidate = posixpath.join(current, name)
            try:
                st = os.lstat(self.host(candidate))
                note(self.host(candidate), False, st)
            except FileNotFoundError:
                note(self.host(candidate), False, None)
                inside_target = link_target_end >= 0 and len(parts) >= link_target_end
                problem = "dangling" if inside_target else "missing"
                return Located(path, None, candidate, tuple(links), problem)
            except NotADirectoryError:
                note(self.host(candidate), False, None)
                return Located(path, None, candidate, tuple(links), "not a directory on the way")
            except OSError as exc:
                note(self.host(candidate), False, None)
                return Located(path, None, candidate, tuple(links), exc.strerror or str(exc))
            if stat.S_ISLNK(st.st_mode):
                hops += 1
                if hops > _MAX_LINK_HOPS:
                    return Located(path, None, candidate, tuple(links), "symlink loop")
                target = os.readlink(self.host(candidate))
                links.append(f"{candidate} -> {target}")
                base = "/" if target.startswith("/") else current
                link_target_end = len(parts)
                parts = [p for p in target.split("/") if p] + parts
                current = base
                continue
            if parts and not stat.S_ISDIR(st.st_mode):
                return Located(path, None, candidate, tuple(links), "not a directory on the way")
            current = candidate
        try:
            st = os.stat(self.host(current), follow_symlinks=False)
        except OSError as exc:  # pragma: no cover - raced away between the walk and here
            return Located(path, None, current, tuple(links), exc.strerror or str(exc))
        return Located(
            path,
            self.host(current),
            current,
            tuple(links),
            None,
            st.st_mode,
            getattr(st, "st_uid", -1),
            st.st_size,
            st.st_mtime_ns,
            self._parent_replaceable(current),
        )

    def _parent_replaceable(self, path: str) -> bool:
        info = stat_noted(self.host(posixpath.dirname(path) or "/"), True)
        if info is None:
            return False
        mode = info.st_mode
        return bool(mode & stat.S_IWOTH) and not mode & stat.S_ISVTX

    def _locate_native(self, path: str) -> Located:
        """Windows paths (drive letters, backslashes): the OS resolves links; no root to keep."""
        target = os.path.realpath(path)
        links = (
            (f"{path} -> {target}",)
            if os.path.normcase(target) != os.path.normcase(os.path.abspath(path))
            else ()
        )
        try:
            st = os.stat(target)
        except OSError as exc:
            problem = "missing" if isinstance(exc, FileNotFoundError) else str(exc.strerror)
            return Located(path, None, target, links, problem)
        return Located(
            path, target, target, links, None, st.st_mode, -1, st.st_size, st.st_mtime_ns
        )

    def leads_to_file(self, path: str) -> bool:
        """Whether ``path`` ends at a regular file; the cheap test for a hashed directory's
        entries. On the real machine the kernel follows the links (one ``stat`` instead of a
        walk per component): nothing needs confining there."""
        if self.root == "/" and os.sep == "/":
            info = stat_noted(path, True)
            return info is not None and stat.S_ISREG(info.st_mode)
        return self.locate(path).is_file

    def read_bounded(self, located: Located, limit: int = MAX_BUNDLE_BYTES) -> ReadResult:
        """Read a regular file, at most ``limit`` bytes; refuse anything else without blocking."""
        if located.host_path is None:
            return ReadResult(None, located.problem or "missing")
        if not stat.S_ISREG(located.mode):
            return ReadResult(None, f"is a {located.kind}, not a regular file")
        if located.size > limit:
            return ReadResult(None, _too_large(located.size, limit))
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(located.host_path, flags)
        except OSError as exc:
            return ReadResult(None, f"cannot be opened: {exc.strerror or exc}")
        try:
            # The entry may have been swapped for a FIFO or device since it was stat'ed.
            opened = os.fstat(fd)
            note(located.host_path, True, opened)  # before reading: see _machine/journal.py
            if not stat.S_ISREG(opened.st_mode):
                return ReadResult(None, "is no longer a regular file")
            chunks = []
            remaining = limit + 1
            while remaining > 0:
                chunk = os.read(fd, min(remaining, READ_CHUNK_BYTES))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
        except OSError as exc:
            return ReadResult(None, f"cannot be read: {exc.strerror or exc}")
        finally:
            os.close(fd)
        data = b"".join(chunks)
        if len(data) > limit:
            return ReadResult(None, _too_large(len(data), limit))
        return ReadResult(data, None)

    def list_dir(self, located: Located) -> list[str] | None:
        if located.host_path is None:
            return None
        note_listing(located.host_path)
        try:
            return sorted(os.listdir(located.host_path))
        except OSError:
            return None
