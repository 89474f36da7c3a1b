"""The context the user's code would get, and which CA certificates it trusts.

The resolved store, ``--cafile``/``--crlfile``, or the URI's TLS options: built by the same
functions a program calls (architecture §4), so the doctor verifies as the program would.
"""

from __future__ import annotations

import ssl
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..._errors import ConfigurationError
from .target import Target

if TYPE_CHECKING:
    from ..._tls.options import TLSOptions

__all__ = ["Client", "client_for"]


@dataclass
class Client:
    context: ssl.SSLContext
    store: str  # which CA certificates were used, for the verdicts
    store_backend: str | None = None  # the resolved backend, when the resolved store was used
    notes: list[str] = field(default_factory=list)
    direct: bool = False  # PostgreSQL's sslnegotiation=direct: TLS first, ALPN required

    @property
    def verifies_fully(self) -> bool:
        return self.context.verify_mode == ssl.CERT_REQUIRED and self.context.check_hostname


def client_for(target: Target, cafile: str | None, crlfile: str | None) -> Client:
    with warnings.catch_warnings():
        # An insecure URI warns (InsecureContextWarning); the report says so itself.
        warnings.simplefilter("ignore")
        if target.uri is not None or crlfile:
            return _from_options(target, cafile, crlfile)
        if cafile:
            return _from_cafile(cafile)
        from ..._tls.context import create_default_context

        return _describe_store(create_default_context(), None)


def _from_options(target: Target, cafile: str | None, crlfile: str | None) -> Client:
    from ..._tls.options import TLSOptions

    overrides = _overrides(target.dialect if target.uri else None, cafile, crlfile)
    if target.uri is not None:
        options = TLSOptions.from_uri(target.uri, **overrides)
    else:
        options = TLSOptions.from_kwargs(tls=True, **overrides)
    if options.dialect != "mongodb":
        return _from_dialect(options)
    context = options.create_context()
    if context is None:
        raise ConfigurationError(
            "--connect: TLS is off in this URI; add tls=true to diagnose its TLS"
        )
    client = _describe_store(context, options.ca_file)
    if options.crl_file:
        client.notes.append(f"CRL checked (leaf): {options.crl_file}")
    if context.verify_mode == ssl.CERT_NONE:
        client.notes.append(
            f"the options turn certificate verification off "
            f"({options.spelling('tlsAllowInvalidCertificates')}/tlsInsecure)"
        )
    elif not context.check_hostname:
        client.notes.append(
            f"the options turn hostname checking off "
            f"({options.spelling('tlsAllowInvalidHostnames')})"
        )
    return client


# --- the other families' URIs (architecture §4: the dialects own their options) --------------

# Each family's name for the CA file and the CRL file that --cafile/--crlfile stand for.
_OVERRIDE_NAMES = {
    "mongodb": ("tlsCAFile", "tlsCRLFile"),
    "postgresql": ("sslrootcert", "sslcrl"),
    "mysql": ("ssl_ca", "ssl_crl"),
    "redis": ("ssl_ca_certs", None),
}
# How each family turns TLS off, and what turns it on, for the "TLS is off" message.
_TLS_OFF = {
    "postgresql": "sslmode=disable turns TLS off; use sslmode=verify-full",
    "mysql": "ssl-mode=DISABLED turns TLS off; use ssl-mode=VERIFY_IDENTITY",
    "redis": "redis:// is Redis without TLS; use rediss:// (and the server's tls-port)",
}
# The option that checks the name too, when only the chain is checked.
_NAME_CHECK = {
    "postgresql": "sslmode=verify-ca checks the chain but not the host name (verify-full does)",
    "mysql": "ssl-mode=VERIFY_CA checks the chain but not the host name (VERIFY_IDENTITY does)",
    "redis": "ssl_check_hostname=false: the host name is not checked",
}


def _overrides(dialect: str | None, cafile: str | None, crlfile: str | None) -> dict[str, object]:
    ca_name, crl_name = _OVERRIDE_NAMES[dialect or "mongodb"]
    overrides: dict[str, object] = {}
    if cafile:
        overrides[ca_name] = cafile
    if crlfile:
        if crl_name is None:
            raise ConfigurationError(
                "--crlfile does not go with a rediss:// URI: redis-py has no CRL option"
            )
        overrides[crl_name] = crlfile
    return overrides


def _from_dialect(options: TLSOptions) -> Client:
    """PostgreSQL, MySQL/MariaDB and Redis URIs: the note on what is not verified is the
    builder's own warning (it names the option that turned verification off)."""
    from ..._tls.context import InsecureContextWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InsecureContextWarning)
        context = options.create_context()
    if context is None:
        raise ConfigurationError(f"--connect: {_TLS_OFF[options.dialect]} to diagnose its TLS")
    client = _describe_store(context, options.ca_file)
    client.direct = options.as_dict().get("sslnegotiation") == "direct"
    client.notes += [str(w.message) for w in caught if w.category is InsecureContextWarning]
    if context.verify_mode != ssl.CERT_NONE and not context.check_hostname:
        client.notes.append(_NAME_CHECK[options.dialect])
    if options.crl_file:
        client.notes.append(f"CRL checked: {options.crl_file}")
    return client


def _from_cafile(cafile: str) -> Client:
    from ..._tls.context import create_default_context

    try:
        context = create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"--cafile {cafile!r} could not be loaded ({exc}); it must be a PEM file "
            "of CA certificates"
        ) from exc
    return _describe_store(context, cafile)


def _describe_store(context: ssl.SSLContext, cafile: str | None) -> Client:
    if cafile:
        return Client(context, f"the CA file {cafile}")
    from ..._store.resolve import resolve

    source = resolve().source
    if source is None:  # pragma: no cover - resolve() raises instead
        return Client(context, "no store")
    where = source.display_cafile or source.cafile or source.display_capath or source.capath
    kind = "verified by the operating system" if source.verified_by_os else source.kind
    text = f"the {source.backend} store ({kind}{', ' + where if where else ''})"
    return Client(context, text, source.backend)
