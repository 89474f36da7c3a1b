"""``TLSOptions.driver_kwargs()``: the keywords each family's reference driver takes.

psycopg (libpq keywords) and redis-py take no ``ssl.SSLContext``, so their keywords name files,
and the resolved store is filled in as a path from :func:`trustresolve.where` when the caller
named no CA. PyMySQL takes the context itself. PyMongo gets its URI option names.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from .._errors import ConfigurationError
from .dialects import mysql, postgresql, redis

if TYPE_CHECKING:
    from .dialects.base import Parsed
    from .options import TLSOptions
    from .settings import ContextSettings

__all__ = ["driver_kwargs"]

_BY_DIALECT = {
    "postgresql": postgresql.driver_kwargs,
    "mysql": mysql.driver_kwargs,
    "redis": redis.driver_kwargs,
}


def driver_kwargs(
    options: TLSOptions, parsed: Parsed | None, settings: ContextSettings
) -> dict[str, Any]:
    """The reference driver's keyword arguments for ``options`` (see the module docstring)."""
    if parsed is not None:
        return _BY_DIALECT[parsed.dialect.name](parsed, settings)
    return _pymongo_kwargs(options, settings)


def _pymongo_kwargs(options: TLSOptions, settings: ContextSettings) -> dict[str, Any]:
    """``pymongo.MongoClient`` keywords; PyMongo 4 has no separate key file."""
    if not settings.tls:
        return {"tls": False}
    given = options.as_dict()
    if "ssl_keyfile" in given or "ssl_cert_reqs" in given:
        name = "ssl_keyfile" if "ssl_keyfile" in given else "ssl_cert_reqs=CERT_OPTIONAL"
        msg = (
            f"{name} has no PyMongo 4 keyword: put the key inside tlsCertificateKeyFile, or "
            "pass the context from create_context() to a driver that takes one"
        )
        raise ConfigurationError(msg)
    kwargs: dict[str, Any] = {
        "tls": True,
        **{k: v for k, v in given.items() if k not in ("tls", "ssl")},
    }
    if settings.verify_mode != ssl.CERT_NONE and not settings.ca_file:
        from .._store.resolve import where

        kwargs["tlsCAFile"] = where()
    return kwargs
