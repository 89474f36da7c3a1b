"""The context the user's code would get, and which CA certificates it trusts.

The resolved store, ``--cafile``/``--crlfile``, or the URI's TLS options: built by the same
functions a program calls (architecture §4), so the doctor verifies as the program would.
"""

from __future__ import annotations

import ssl
import warnings
from dataclasses import dataclass, field

from ..._errors import ConfigurationError
from .target import Target

__all__ = ["Client", "client_for"]


@dataclass
class Client:
    context: ssl.SSLContext
    store: str  # which CA certificates were used, for the verdicts
    store_backend: str | None = None  # the resolved backend, when the resolved store was used
    notes: list[str] = field(default_factory=list)

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

    overrides: dict[str, object] = {}
    if cafile:
        overrides["tlsCAFile"] = cafile
    if crlfile:
        overrides["tlsCRLFile"] = crlfile
    if target.uri is not None:
        options = TLSOptions.from_uri(target.uri, **overrides)
    else:
        options = TLSOptions.from_kwargs(tls=True, **overrides)
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
