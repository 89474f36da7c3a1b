"""What the PostgreSQL, MySQL/MariaDB and Redis option vocabularies share (architecture §4).

Each dialect module lists its options (name, the common *concept* it controls, a value parser)
and one ``settle`` function turning the parsed values into the one
:class:`~trustresolve._tls.settings.ContextSettings` the context builder reads. Parsing, merging
keyword arguments over a URI, and every message live here, so the four families fail the same
way: a :class:`ConfigurationError` naming the option, the value and the accepted values, with a
suggestion in the right dialect for a name from another one.
"""

from __future__ import annotations

import difflib
import os
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal
from urllib.parse import unquote_plus

from ..._errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ..settings import ContextSettings

Origin = Literal["uri", "kwargs"]
Parser = Callable[[str, object, Origin], Any]

_MASK = "'***'"

#: How MongoDB (PyMongo) names each concept, for suggestions from and to the MongoDB dialect.
MONGODB_NAMES = {
    "tls": "tls",
    "ca_file": "tlsCAFile",
    "cert_file": "tlsCertificateKeyFile",
    "key_file": "ssl_keyfile",
    "password": "tlsCertificateKeyFilePassword",
    "crl_file": "tlsCRLFile",
    "verify_cert": "tlsAllowInvalidCertificates",
    "check_hostname": "tlsAllowInvalidHostnames",
    "mode": "tls",
}


@dataclass(frozen=True)
class Option:
    """One accepted option: its canonical name, the concept it controls, its value parser."""

    name: str
    concept: str
    parse: Parser
    secret: bool = False  # a passphrase: never shown
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Value:
    """One option as given: the caller's spelling, the raw value and the parsed one."""

    spelling: str
    raw: object
    value: Any
    secret: bool = False

    def shown(self) -> str:
        if self.secret:
            return f"{self.spelling}={_MASK}"
        return f"{self.spelling}={show(self.raw)}"


@dataclass(frozen=True)
class Dialect:
    """A driver family: its names, URI schemes, option table and how the values settle."""

    name: str  # "postgresql", "mysql", "redis"
    title: str  # for messages: "PostgreSQL (libpq)"
    schemes: tuple[str, ...]
    options: tuple[Option, ...]
    settle: Callable[[Parsed], ContextSettings]
    normalize: Callable[[str], str] = str.lower
    # Turns one given item into several (PyMySQL's ssl={...} dict); identity by default.
    expand: Callable[[tuple[tuple[str, object, Origin], ...]], list[tuple[str, object, Origin]]] = (
        list
    )
    by_name: dict[str, Option] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for option in self.options:
            for spelling in (option.name, *option.aliases):
                self.by_name[self.normalize(spelling)] = option

    def concept_name(self, concept: str) -> str | None:
        return next((o.name for o in self.options if o.concept == concept), None)

    def accepted(self) -> str:
        return ", ".join(option.name for option in self.options)


@dataclass(frozen=True)
class Parsed:
    """A dialect's options, validated: what ``TLSOptions`` keeps for a non-MongoDB dialect.

    ``items`` is every (spelling, raw value) as given, URI first, so :meth:`merged` can parse
    again; ``scheme_tls`` is what the URI scheme says about TLS (``rediss://``), ``None`` if
    nothing.
    """

    dialect: Dialect
    items: tuple[tuple[str, object, Origin], ...]
    values: Mapping[str, Value]
    scheme_tls: bool | None

    def get(self, name: str) -> Any:
        value = self.values.get(name)
        return None if value is None else value.value

    def entry(self, name: str) -> Value | None:
        return self.values.get(name)

    def given(self, name: str) -> bool:
        return name in self.values

    def spelling(self, name: str) -> str:
        value = self.values.get(name)
        return value.spelling if value is not None else name

    def as_dict(self) -> dict[str, Any]:
        return {name: value.value for name, value in self.values.items()}


# --- parsing -----------------------------------------------------------------------------------


def split_uri(uri: object, schemes: Iterable[str]) -> tuple[str, list[tuple[str, str]]]:
    """``(scheme, [(key, decoded value), ...])``; the URI is never quoted (it may hold one)."""
    if not isinstance(uri, str):
        msg = f"a connection URI must be a str, not {type(uri).__name__}"
        raise ConfigurationError(msg)
    lowered = uri.lower()
    scheme = next((s for s in schemes if lowered.startswith(f"{s}://")), None)
    if scheme is None:
        msg = f"the URI must start with one of {', '.join(f'{s}://' for s in schemes)}"
        raise ConfigurationError(msg)
    _, _, query = uri[len(scheme) + 3 :].partition("?")
    query = query.partition("#")[0]
    pairs = []
    for item in query.split("&"):
        if not item:
            continue
        key, equals, value = item.partition("=")
        if not equals or not key:
            msg = f"URI options are key=value pairs; got an option without '=' ({key[:40]!r})"
            raise ConfigurationError(msg)
        pairs.append((unquote_plus(key), unquote_plus(value)))
    return scheme, pairs


def parse(
    dialect: Dialect,
    items: Iterable[tuple[str, object, Origin]],
    scheme_tls: bool | None,
) -> Parsed:
    """Validate ``items`` (later ones override earlier ones; a keyword ``None`` removes)."""
    items = tuple(items)
    values: dict[str, Value] = {}
    expanded = dialect.expand(items)
    seen_in_uri: set[str] = set()
    for spelling, raw, origin in expanded:
        option = dialect.by_name.get(dialect.normalize(spelling))
        if option is None:
            if origin == "uri" and not looks_like_tls(spelling):
                continue  # host, database and other driver options are the driver's business
            raise ConfigurationError(unknown_message(dialect, spelling))
        if origin == "uri":
            if option.name in seen_in_uri:
                msg = f"{spelling} is given twice in the URI; give it once"
                raise ConfigurationError(msg)
            seen_in_uri.add(option.name)
        if raw is None and origin == "kwargs":
            values.pop(option.name, None)
            continue
        parsed = option.parse(spelling, raw, origin)
        values[option.name] = Value(spelling, raw, parsed, option.secret)
    return Parsed(dialect, items, values, scheme_tls)


def looks_like_tls(key: str) -> bool:
    return key.lower().startswith(("ssl", "tls"))


def unknown_message(dialect: Dialect, spelling: str) -> str:
    """Name the right option when ``spelling`` belongs to another dialect's vocabulary."""
    from . import DIALECTS  # the registry imports the dialect modules, which import this one

    key = spelling.lower().replace("-", "_")
    for other in DIALECTS.values():
        option = other.by_name.get(other.normalize(spelling))
        if other is not dialect and option is not None:
            ours = dialect.concept_name(option.concept)
            if ours is not None:
                return (
                    f"{spelling!r} is a {other.title} option, not a {dialect.title} one; "
                    f"use {ours} (accepted: {dialect.accepted()})"
                )
    for concept, name in MONGODB_NAMES.items():
        if name.lower() == key:
            ours = dialect.concept_name(concept)
            if ours is not None:
                return (
                    f"{spelling!r} is a MongoDB option (of mongodb:// URIs), not a "
                    f"{dialect.title} one; use {ours} (accepted: {dialect.accepted()})"
                )
    close = difflib.get_close_matches(dialect.normalize(spelling), list(dialect.by_name), n=1)
    hint = f" (did you mean {dialect.by_name[close[0]].name}?)" if close else ""
    return f"unknown {dialect.title} TLS option {spelling!r}{hint}; accepted: {dialect.accepted()}"


def show(raw: object) -> str:
    return raw if isinstance(raw, str) else repr(raw)


def invalid(spelling: str, raw: object, title: str, accepted: str) -> ConfigurationError:
    return ConfigurationError(
        f"{spelling}={show(raw)} is not valid for {title}: {spelling} must be {accepted}"
    )


# --- value parsers (the dialect modules bind them to their title) -------------------------------


def choice(title: str, choices: Mapping[str, Any], *, fold: bool = True) -> Parser:
    """One of ``choices`` (case-insensitive when ``fold``)."""
    table = {(k.lower() if fold else k): v for k, v in choices.items()}
    accepted = ", ".join(choices)

    def parse_choice(spelling: str, raw: object, origin: Origin) -> Any:
        if isinstance(raw, str):
            key = raw.strip().lower() if fold else raw.strip()
            if key in table:
                return table[key]
        raise invalid(spelling, raw, title, f"one of {accepted}")

    return parse_choice


def boolean(title: str, words: Mapping[str, bool]) -> Parser:
    """A real bool, or one of the family's words for true and false (case-insensitive)."""
    table = {k.lower(): v for k, v in words.items()}

    def parse_bool(spelling: str, raw: object, origin: Origin) -> bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in table:
            return table[raw.strip().lower()]
        shown_words = "/".join(words)
        raise invalid(spelling, raw, title, f"True or False (or {shown_words})")

    return parse_bool


def file_path(title: str) -> Parser:
    def parse_file(spelling: str, raw: object, origin: Origin) -> str:
        path = _as_path(spelling, raw, title)
        try:
            with open(path, "rb"):
                pass
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            msg = (
                f"{spelling}: cannot read {path!r}: {reason}; {spelling} must name a readable file"
            )
            raise ConfigurationError(msg) from None
        return path

    return parse_file


def directory_path(title: str) -> Parser:
    def parse_directory(spelling: str, raw: object, origin: Origin) -> str:
        path = _as_path(spelling, raw, title)
        if not os.path.isdir(path):
            msg = f"{spelling}: {path!r} is not a directory; {spelling} must name a directory"
            raise ConfigurationError(msg)
        return path

    return parse_directory


def _as_path(spelling: str, raw: object, title: str) -> str:
    if isinstance(raw, os.PathLike):
        raw = os.fspath(raw)
    if not isinstance(raw, str) or not raw:
        raise invalid(spelling, raw, title, "a path (str)")
    # MySQL Shell lets a path be wrapped in parentheses instead of percent-encoded.
    if raw.startswith("(") and raw.endswith(")"):
        raw = raw[1:-1]
    return raw


def secret_text(title: str) -> Parser:
    def parse_secret(spelling: str, raw: object, origin: Origin) -> str:
        if isinstance(raw, str):
            return raw
        msg = f"{spelling} must be a string, not {type(raw).__name__} ({title})"
        raise ConfigurationError(msg)

    return parse_secret


#: Protocol names as libpq and MySQL spell them.
PROTOCOL_NAMES = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def check_version_range(minimum: Value | None, maximum: Value | None, title: str) -> None:
    if minimum is not None and maximum is not None and minimum.value > maximum.value:
        msg = f"{minimum.shown()} is above {maximum.shown()}: the protocol range is empty ({title})"
        raise ConfigurationError(msg)


def spellings(parsed: Parsed, mapping: Mapping[str, str]) -> dict[str, str]:
    """The builder's setting names (tlsCAFile, ...) mapped to the caller's spellings."""
    return {setting: parsed.spelling(name) for setting, name in mapping.items()}
