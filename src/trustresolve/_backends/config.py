"""Backend ``config``: a store pinned in trustresolve's own config file.

``TRUSTRESOLVE_CONFIG=PATH`` names the one file to read. Otherwise ``trustresolve.ini`` is read
from the user config directory and then the site config directories (platformdirs); keys in the
user file win. Format: INI, section ``[trustresolve]``. ``cafile`` and ``capath`` pin the store
with the strictness of ``SSL_CERT_FILE``; relative paths are relative to the file that sets them.
``native = false`` turns native verification off. Unknown keys are errors, so a typo
never silently leaves the system store in place.

Comments: a line starting with ``#`` or ``;``, and an inline ``; ...`` or ``# ...`` after a
value, as the quickstart shows them. An inline prefix counts only after whitespace
(configparser's ``inline_comment_prefixes`` rule), so ``cafile = /srv/a;b.pem`` keeps its ``;``;
a path whose ``;`` or ``#`` follows a space cannot be written here (rename it, or use
``SSL_CERT_FILE``).
"""

from __future__ import annotations

import posixpath

from .._limits import CONFIG_FILE_BYTES
from .._machine.facts import PlatformFacts
from .._machine.model import Attempt
from .._machine.pathsafety import who_else_can_change
from .._machine.xdg import plain_unix_home, plain_unix_site_config
from .._record import field, record, replace
from .._switches import switch_value
from .base import Probe
from .candidates import DirCheck, check_bundle, check_dir, source_from_checks

__all__ = ["CONFIG_FILE_NAME", "KNOWN_KEYS", "ConfigBackend", "ConfigValues", "read_config"]

CONFIG_FILE_NAME = "trustresolve.ini"
SECTION = "trustresolve"
KNOWN_KEYS = ("cafile", "capath", "native")
_FIX = "fix the path or remove the key"


@record(frozen=True)
class ConfigValues:
    files: tuple[str, ...] = ()  # every file read, in order
    values: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (value, file)
    error: str | None = None
    ignored_dirs: tuple[str, ...] = ()  # relative config directories, never looked in

    def boolean(self, key: str) -> bool | None:
        if key not in self.values:
            return None
        return switch_value(self.values[key][0])


def _config_dirs(facts: PlatformFacts) -> tuple[str, ...]:
    if facts.config_dirs is not None:
        return facts.config_dirs
    plain_user, plain_site = (
        plain_unix_home("XDG_CONFIG_HOME", "~/.config"),
        plain_unix_site_config(),
    )
    if plain_user is not None and plain_site is not None:
        return (plain_user, plain_site)
    import platformdirs  # only when a config file is looked for (architecture §6)

    try:
        user: tuple[str, ...] = (platformdirs.user_config_dir("trustresolve", appauthor=False),)
    except (RuntimeError, KeyError, OSError):
        user = ()  # no home directory (an arbitrary uid in a container): site files only
    # Older platformdirs return "~/.config/..." unexpanded: a path relative to the working
    # directory, where anyone could plant a config file. Only absolute directories count.
    user = tuple(d for d in user if posixpath.isabs(d) or ":\\" in d)
    site = platformdirs.site_config_dir("trustresolve", appauthor=False, multipath=True)
    return (*user, *site.split(":" if facts.os_family != "windows" else ";"))


def _is_absolute(directory: str) -> bool:
    """POSIX ``/...``, or a Windows drive (``C:\\...``, ``C:/...``) or UNC (``\\\\host``) path."""
    if directory.startswith("/"):
        return True
    drive = directory[:1].isalpha() and directory[1:3] in (":\\", ":/")
    return drive or directory.startswith("\\\\")


def _absolute_config_dirs(facts: PlatformFacts) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(looked in, ignored)``: only absolute directories are ever considered.

    An empty entry in ``XDG_CONFIG_DIRS`` (``:/etc/xdg``) or a relative ``XDG_CONFIG_HOME``
    makes some platformdirs versions return a relative directory, and a config file found
    relative to the working directory would let whoever controls that directory pin the store
    of every process started there (architecture §10). The XDG Base Directory spec says the
    same: a relative path in these variables is invalid and must be ignored.
    """
    kept: list[str] = []
    ignored: list[str] = []
    for directory in _config_dirs(facts):
        (kept if _is_absolute(directory) else ignored).append(directory)
    return tuple(kept), tuple(ignored)


def _join(directory: str, name: str, facts: PlatformFacts) -> str:
    sep = "\\" if facts.os_family == "windows" and "\\" in directory else "/"
    return directory.rstrip("/\\") + sep + name


def read_config(facts: PlatformFacts) -> ConfigValues:
    """Read the config files; a bad file gives ``error`` naming it and what is wrong."""
    pinned = facts.getenv("TRUSTRESOLVE_CONFIG")
    if pinned and "\0" in pinned:
        # os.lstat would raise a bare ValueError; only a fixture's environ can hold a NUL.
        nul = "TRUSTRESOLVE_CONFIG contains a NUL character; point it at an INI file or unset it"
        return ConfigValues((), {}, nul)
    directories, ignored = ((), ()) if pinned else _absolute_config_dirs(facts)
    candidates = [pinned] if pinned else [_join(d, CONFIG_FILE_NAME, facts) for d in directories]
    files: list[str] = []
    values: dict[str, tuple[str, str]] = {}
    for path in reversed(candidates):  # site first, so the user file overrides it
        located = facts.fs.locate(path)
        if not located.exists and not pinned:
            continue
        unsafe = who_else_can_change(located.path, root=facts.fs.root) if located.exists else None
        if unsafe is not None:
            # Refused, not flagged: a file another user can edit would choose your roots.
            return ConfigValues(tuple(reversed(files)), values, _refusal(path, unsafe[1], pinned))
        read = facts.fs.read_bounded(located, limit=CONFIG_FILE_BYTES)
        if read.data is None:
            why = "does not exist" if not located.exists else str(read.problem)
            error: str | None
            if pinned:
                error = f"TRUSTRESOLVE_CONFIG={path!r} {why}; point it at an INI file or unset it"
            else:
                error = f"config file {path} {why}; make it a readable INI file or remove it"
            return ConfigValues(tuple(files), values, error, ignored)
        files.append(path)
        error = _parse_into(path, read.data, values)
        if error:
            return ConfigValues(tuple(reversed(files)), values, error, ignored)
    return ConfigValues(tuple(reversed(files)), values, None, ignored)


def _refusal(path: str, reason: str, pinned: str | None) -> str:
    what = f"TRUSTRESOLVE_CONFIG={path!r}" if pinned else f"config file {path}"
    return (
        f"{what} is not used: {reason}; another user could otherwise choose which CAs you "
        "trust (architecture §10)"
    )


def _parse_into(path: str, data: bytes, values: dict[str, tuple[str, str]]) -> str | None:
    # Inline comments as in the quickstart's example; configparser only honours a prefix that
    # follows whitespace, so a ``;`` or ``#`` inside a path is kept (CPython Lib/configparser.py).
    import configparser  # only when a config file exists (a first run's cost otherwise)

    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
    try:
        parser.read_string(data.decode("utf-8"), source=path)
    except (configparser.Error, UnicodeDecodeError) as exc:
        return f"config file {path} is not valid INI: {exc}".replace("\n", " ")
    if not parser.has_section(SECTION):
        # The file is trustresolve's own: any other section is a typo that would otherwise
        # leave the system store silently in place.
        others = ", ".join(f"[{name}]" for name in parser.sections())
        if others:
            return f"config file {path} has {others} but no [{SECTION}] section; rename it"
        return None
    for key, raw in parser.items(SECTION):
        value = raw.strip()
        if key in ("cafile", "capath") and not value:
            continue  # an empty value counts as unset, like an empty SSL_CERT_FILE
        if key not in KNOWN_KEYS:
            known = ", ".join(KNOWN_KEYS)
            return f"config file {path}: unknown key {key!r} in [{SECTION}]; known keys: {known}"
        if key == "native" and switch_value(value) is None:
            return f"config file {path}: native = {value!r} is not a boolean; use true or false"
        if "\0" in value:
            return f"config file {path}: {key} contains a NUL character; {_FIX}"
        if (
            key in ("cafile", "capath")
            and value
            and not posixpath.isabs(value)
            and ":\\" not in value
        ):
            value = posixpath.join(posixpath.dirname(path), value)
        values[key] = (value, path)
    return None


class ConfigBackend:
    name = "config"

    def probe(self, facts: PlatformFacts) -> Probe:
        config = read_config(facts)
        probe = self._probe_values(config, facts)
        if not config.ignored_dirs:
            return probe
        return replace(
            probe, attempts=_ignored_attempts(self.name, config.ignored_dirs) + probe.attempts
        )

    def _probe_values(self, config: ConfigValues, facts: PlatformFacts) -> Probe:
        if config.error:
            attempt = Attempt(self.name, None, "invalid", config.error)
            return Probe((attempt,), fatal=config.error, config_files=config.files)
        cafile = config.values.get("cafile")
        capath = config.values.get("capath")
        if not cafile and not capath:
            where = ", ".join(config.files) if config.files else "no config file found"
            detail = f"no cafile or capath pinned ({where})"
            return Probe((Attempt(self.name, None, "skipped", detail),), config_files=config.files)
        attempts = []
        bundle = None
        if cafile:
            bundle = check_bundle(facts.fs, cafile[0])
            attempts.append(bundle.attempt(self.name, note=f"cafile in {cafile[1]}"))
            if not bundle.ok:
                fatal = f"cafile = {cafile[0]} in {cafile[1]} {bundle.detail}: {_FIX}"
                return Probe(tuple(attempts), fatal=fatal, config_files=config.files)
        dirs: tuple[DirCheck, ...] = ()
        if capath:
            directory = check_dir(facts.fs, capath[0], parse=True)
            attempts.append(directory.attempt(self.name, note=f"capath in {capath[1]}"))
            if not directory.ok:
                fatal = f"capath = {capath[0]} in {capath[1]} {directory.detail}: {_FIX}"
                return Probe(tuple(attempts), fatal=fatal, config_files=config.files)
            dirs = (directory,)
        source = source_from_checks(self.name, bundle, dirs)
        return Probe(tuple(attempts), source, config_files=config.files)


def _ignored_attempts(backend: str, directories: tuple[str, ...]) -> tuple[Attempt, ...]:
    return tuple(
        Attempt(
            backend,
            directory,
            "skipped",
            "relative config directory ignored (an empty entry in XDG_CONFIG_DIRS, or a relative "
            "XDG_CONFIG_HOME?): config files are read from absolute directories only",
        )
        for directory in directories
    )
