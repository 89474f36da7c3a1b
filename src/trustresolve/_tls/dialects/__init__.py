"""The driver families beside MongoDB: one module per dialect, one registry (architecture §4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..._errors import ConfigurationError
from . import mysql, postgresql, redis
from .base import Dialect, Parsed, parse, split_uri

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DIALECTS", "DIALECT_NAMES", "dialect_of_uri", "from_kwargs", "from_uri", "merged"]

DIALECTS: dict[str, Dialect] = {
    d.name: d for d in (postgresql.DIALECT, mysql.DIALECT, redis.DIALECT)
}
#: Every ``dialect=`` value, MongoDB's included.
DIALECT_NAMES = ("mongodb", *DIALECTS)
_ALIASES = {"postgres": "postgresql", "mariadb": "mysql"}
_SCHEME_TLS = {"rediss": True, "redis": False}


def dialect_of_uri(uri: object) -> Dialect | None:
    """The dialect whose scheme ``uri`` starts with; ``None`` for MongoDB and anything else."""
    if not isinstance(uri, str):
        return None
    scheme = uri.partition("://")[0].lower()
    return next((d for d in DIALECTS.values() if scheme in d.schemes), None)


def from_uri(dialect: Dialect, uri: str, kwargs: Mapping[str, Any]) -> Parsed:
    scheme, pairs = split_uri(uri, dialect.schemes)
    items = [(k, v, "uri") for k, v in pairs]
    items += [(k, v, "kwargs") for k, v in kwargs.items()]
    return parse(dialect, items, _SCHEME_TLS.get(scheme))  # type: ignore[arg-type]


def from_kwargs(name: object, kwargs: Mapping[str, Any]) -> Parsed:
    dialect = lookup(name)
    return parse(dialect, [(k, v, "kwargs") for k, v in kwargs.items()], None)


def merged(parsed: Parsed, kwargs: Mapping[str, Any]) -> Parsed:
    items = list(parsed.items) + [(k, v, "kwargs") for k, v in kwargs.items()]
    return parse(parsed.dialect, items, parsed.scheme_tls)


def lookup(name: object) -> Dialect:
    key = _ALIASES.get(str(name).lower(), str(name).lower()) if isinstance(name, str) else None
    if key not in DIALECTS:
        msg = f"dialect={name!r} is not valid: use one of {', '.join(DIALECT_NAMES)}"
        raise ConfigurationError(msg)
    return DIALECTS[key]
