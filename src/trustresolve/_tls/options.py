"""TLS options as database drivers spell them: keyword arguments and ``mongodb://`` URIs.

The names, values and conflict rules are PyMongo's and the MongoDB URI options specification's
(architecture §4). Parsing only validates and settles them into a
:class:`~trustresolve._tls.settings.ContextSettings`; the context is built from that by
:func:`trustresolve._tls.context.build_context` (called from :meth:`TLSOptions.create_context`
only), so options can be inspected, merged and compared without touching a trust store.

Every rejection is a :class:`ConfigurationError` naming the option as the caller spelled it, the
value (a passphrase is never shown) and what is accepted.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from .mongodb import (
    _MASK,
    OPTION_NAMES,
    TLSOptionWarning,
    _collect,
    _emit_deprecations,
    _merge,
    _settle,
    _Source,
    _Spec,
    _split_uri,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from .dialects.base import Parsed

__all__ = [
    "OPTION_NAMES",
    "TLSOptionWarning",
    "TLSOptions",
    "context_from_options",
    "context_from_uri",
]


# --- the public class --------------------------------------------------------------------------


class TLSOptions:
    """Validated TLS options from keyword arguments and/or a MongoDB URI.

    Build one with :meth:`from_uri`, :meth:`from_kwargs` or :meth:`merged`; ``TLSOptions()`` is
    "no options" (TLS off). Instances are immutable. Conflicts are errors at construction, so an
    instance always describes one consistent context.
    """

    __slots__ = ("_dialect", "_settings", "_source", "_srv")

    def __init__(self) -> None:
        self._source = _Source("kwargs", {}, {}, [])
        self._srv = False
        self._settings = _settle(self._source, srv=False)
        self._dialect: Parsed | None = None  # the other families' options (dialects/)

    # construction

    @classmethod
    def from_uri(cls, uri: str, **kwargs: Any) -> TLSOptions:
        """Parse the TLS options of a ``mongodb://`` or ``mongodb+srv://`` URI.

        ``postgresql://``/``postgres://``, ``mysql://``/``mariadb://`` and ``redis://``/
        ``rediss://`` URIs are read in their own families' vocabularies (see :attr:`dialect`);
        their rejections are errors, never warnings.

        Keyword arguments, if any, override the URI's options and the conflict rules run again
        on the merged set. An invalid value in the URI warns (:class:`TLSOptionWarning`) and is
        ignored; an invalid keyword argument, a conflict or an unreadable file raises
        :class:`ConfigurationError`.
        """
        from . import dialects  # PostgreSQL, MySQL/MariaDB and Redis schemes

        dialect = dialects.dialect_of_uri(uri)
        if dialect is not None:
            return cls._from_dialect(dialects.from_uri(dialect, uri, kwargs))
        srv, pairs = _split_uri(uri)
        source = _collect(pairs, "uri")
        if kwargs:
            source = _merge(source, _collect(kwargs.items(), "kwargs"))
        return cls._build(source, srv, source.legacy)

    @classmethod
    def from_kwargs(cls, *, dialect: object = "mongodb", **kwargs: Any) -> TLSOptions:
        """Validate TLS options given as keyword arguments (names are case-insensitive).

        ``dialect`` names the vocabulary: ``"mongodb"`` (the default), ``"postgresql"``,
        ``"mysql"`` or ``"redis"``.
        """
        if dialect != "mongodb":
            from . import dialects

            return cls._from_dialect(dialects.from_kwargs(dialect, kwargs))
        source = _collect(kwargs.items(), "kwargs")
        return cls._build(source, False, source.legacy)

    def merged(self, **kwargs: Any) -> TLSOptions:
        """A copy with ``kwargs`` overriding these options; ``None`` removes an option."""
        if self._dialect is not None:
            from . import dialects

            return self._from_dialect(dialects.merged(self._dialect, kwargs))
        overrides = _collect(kwargs.items(), "kwargs")
        # Only the new keywords warn: this instance's own legacy names warned when it was made.
        return self._build(_merge(self._source, overrides), self._srv, overrides.legacy)

    @classmethod
    def _build(cls, source: _Source, srv: bool, warn_for: Iterable[_Spec]) -> TLSOptions:
        settings = _settle(source, srv)
        _emit_deprecations(warn_for)
        options = cls.__new__(cls)
        options._source = source
        options._srv = srv
        options._settings = settings
        options._dialect = None
        return options

    @classmethod
    def _from_dialect(cls, parsed: Parsed) -> TLSOptions:
        options = cls()
        options._settings = parsed.dialect.settle(parsed)
        options._dialect = parsed
        return options

    # what the options mean

    @property
    def dialect(self) -> str:
        """``"mongodb"``, ``"postgresql"``, ``"mysql"`` or ``"redis"``: whose vocabulary this is."""
        return "mongodb" if self._dialect is None else self._dialect.dialect.name

    def driver_kwargs(self) -> dict[str, Any]:
        """The keywords the dialect's reference driver takes for these options.

        ``psycopg.connect`` (libpq keywords), ``pymysql.connect``, ``redis.Redis`` or
        ``pymongo.MongoClient``, with the resolved store filled in where no CA was named.
        """
        from .driver_kwargs import driver_kwargs

        return driver_kwargs(self, self._dialect, self._settings)

    @property
    def tls(self) -> bool:
        """Whether TLS is on (explicitly, implied by another option, or by ``mongodb+srv``)."""
        return self._settings.tls

    @property
    def verify_mode(self) -> ssl.VerifyMode:
        """``CERT_REQUIRED``; ``CERT_NONE`` with ``tlsAllowInvalidCertificates``/``tlsInsecure``."""
        return self._settings.verify_mode

    @property
    def check_hostname(self) -> bool:
        """Whether the server's name is checked (off with ``tlsAllowInvalidHostnames``)."""
        return self._settings.check_hostname

    @property
    def ca_file(self) -> str | None:
        """``tlsCAFile``: the CA file that replaces the resolved store, or ``None``."""
        return self._settings.ca_file

    @property
    def certificate_key_file(self) -> str | None:
        """``tlsCertificateKeyFile``: the client certificate (and key), or ``None``."""
        return self._settings.certificate_key_file

    @property
    def key_file(self) -> str | None:
        """Legacy ``ssl_keyfile``; ``None`` means the key is in the certificate file."""
        return self._settings.key_file

    @property
    def certificate_key_file_password(self) -> str | None:
        """``tlsCertificateKeyFilePassword``; never shown by ``repr()`` or messages."""
        return self._settings.passphrase

    @property
    def crl_file(self) -> str | None:
        """``tlsCRLFile``: a PEM file of CRLs checked for the leaf, or ``None``."""
        return self._settings.crl_file

    @property
    def disable_ocsp_endpoint_check(self) -> bool:
        """``tlsDisableOCSPEndpointCheck`` (validated; :mod:`ssl` does no OCSP)."""
        return self._settings.disable_ocsp_endpoint_check

    @property
    def disable_certificate_revocation_check(self) -> bool:
        """``tlsDisableCertificateRevocationCheck`` (validated only)."""
        return self._settings.disable_certificate_revocation_check

    def spelling(self, setting: str) -> str:
        """The name the caller used for ``setting`` (a tls* name), for messages."""
        entry = self._source.entries.get(setting)
        # A dialect's options keep their spellings in the settings (dialects/base.py).
        return entry.spelling if entry is not None else self._settings.spelling(setting)

    def as_dict(self) -> dict[str, Any]:
        """The options given, under their canonical tls* names, with typed values.

        Legacy names are translated (``ssl_cert_reqs=CERT_NONE`` gives
        ``tlsAllowInvalidCertificates: True``). Two have no tls* spelling and keep their own:
        ``ssl_keyfile`` and ``ssl_cert_reqs: "CERT_OPTIONAL"``, so the dict always round-trips
        through :meth:`from_kwargs`.
        The passphrase is included: this is data, not a log line.
        """
        if self._dialect is not None:
            return self._dialect.as_dict()
        return dict(self._canonical_items())

    def _canonical_items(self) -> Iterator[tuple[str, Any]]:
        for setting, entry in self._source.entries.items():
            if entry.value is None:
                continue
            if setting != "tlsAllowInvalidCertificates":
                yield setting, entry.value
            elif entry.value == ssl.CERT_OPTIONAL:  # no tls* spelling; kept like ssl_keyfile
                yield "ssl_cert_reqs", "CERT_OPTIONAL"
            else:
                yield setting, entry.value == ssl.CERT_NONE

    def create_context(
        self, *, minimum_version: ssl.TLSVersion | None = None, native: bool = True
    ) -> ssl.SSLContext | None:
        """Build the ``ssl.SSLContext`` these options describe, or ``None`` when TLS is off.

        ``minimum_version`` is not a driver option (never read from a URI): pass e.g.
        ``ssl.TLSVersion.TLSv1_1`` to talk to a server that cannot do TLS 1.2.
        ``native=False`` uses the snapshot of an OS-verified store in a plain context.
        """
        if not self.tls:
            return None
        from .context import build_context  # lazily: building resolves the store

        return build_context(self._settings, minimum_version=minimum_version, native=native)

    # dunder

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TLSOptions):
            return NotImplemented
        mine = (self.dialect, self._settings, self.as_dict())
        return mine == (other.dialect, other._settings, other.as_dict())

    __hash__ = None  # type: ignore[assignment]  # mutable-looking dict inside; not hashable

    def __repr__(self) -> str:
        if self._dialect is not None:
            values = self._dialect.values.values()
            return f"TLSOptions(dialect={self.dialect!r}, {', '.join(v.shown() for v in values)})"
        shown = ", ".join(
            f"{name}={_MASK if name == 'tlsCertificateKeyFilePassword' else repr(value)}"
            for name, value in self._canonical_items()
        )
        return f"TLSOptions({shown})"

    __str__ = __repr__


# --- contexts from options ---------------------------------------------------------------------


def context_from_uri(
    uri: str,
    *,
    minimum_version: ssl.TLSVersion | None = None,
    native: bool = True,
    **options: Any,
) -> ssl.SSLContext | None:
    """The context a driver would build for ``uri``; keyword options override the URI's.

    Returns ``None`` when TLS is off. ``minimum_version`` is not an option (see
    :meth:`TLSOptions.create_context`).
    """
    options_ = TLSOptions.from_uri(uri, **options)
    return options_.create_context(minimum_version=minimum_version, native=native)


def context_from_options(
    *, minimum_version: ssl.TLSVersion | None = None, native: bool = True, **options: Any
) -> ssl.SSLContext | None:
    """The context for TLS options given as keyword arguments; ``None`` when TLS is off."""
    options_ = TLSOptions.from_kwargs(**options)
    return options_.create_context(minimum_version=minimum_version, native=native)
