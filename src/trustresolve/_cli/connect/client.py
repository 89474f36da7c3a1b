"""The context the user's code would get, and which CA certificates it trusts.

The resolved store, ``--cafile``/``--crlfile``, or the URI's TLS options: built by the same
functions a program calls (architecture §4), so the doctor verifies as the program would.
A client certificate (``--cert``/``--key``, or the URI's own option) is loaded by the same
step of the context builder, with its checks and messages; the key's passphrase comes from
:data:`KEY_PASSWORD_VARIABLE` only (a command line is visible to every user of the machine).
"""

from __future__ import annotations

import os
import ssl
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..._errors import ConfigurationError
from .target import Target
from .wire import ClientCertificate

if TYPE_CHECKING:
    from ..._tls.options import TLSOptions

__all__ = ["KEY_PASSWORD_VARIABLE", "Client", "client_for"]

#: The environment variable holding the passphrase of ``--key`` (or of ``--cert``'s key).
KEY_PASSWORD_VARIABLE = "TRUSTRESOLVE_KEY_PASSWORD"  # noqa: S105 - a name, not a secret
# The names the client-certificate messages use for the doctor's own options.
_CERT_NAMES = {
    "tlsCertificateKeyFile": "--cert",
    "ssl_keyfile": "--key",
    "tlsCertificateKeyFilePassword": KEY_PASSWORD_VARIABLE,
}


@dataclass
class Client:
    context: ssl.SSLContext
    store: str  # which CA certificates were used, for the verdicts
    store_backend: str | None = None  # the resolved backend, when the resolved store was used
    notes: list[str] = field(default_factory=list)
    certificate: ClientCertificate | None = None  # the client certificate presented, if any
    dialect: str | None = None  # whose option names the URI uses ("mongodb", "postgresql", ...)
    certificate_option: str = "--cert"  # where the certificate was named, for messages
    cafile: str | None = None  # the CA file that replaces the store, when one was named
    direct: bool = False  # PostgreSQL's sslnegotiation=direct: TLS first, ALPN required

    @property
    def verifies_fully(self) -> bool:
        return self.context.verify_mode == ssl.CERT_REQUIRED and self.context.check_hostname


def client_for(
    target: Target,
    cafile: str | None,
    crlfile: str | None,
    cert: str | None = None,
    key: str | None = None,
) -> Client:
    """The client; ``cert``/``key``: ``--cert``/``--key`` (a key without a certificate is an
    error, and so is ``--cert`` beside a URI that names its own client certificate)."""
    if key and not cert:
        raise ConfigurationError("--key needs --cert: give the client certificate it belongs to")
    with warnings.catch_warnings():
        # An insecure URI warns (InsecureContextWarning); the report says so itself.
        warnings.simplefilter("ignore")
        if target.uri is not None or crlfile:
            client = _from_options(target, cafile, crlfile)
        elif cafile:
            client = _from_cafile(cafile)
        else:
            from ..._tls.context import create_default_context

            client = _describe_store(create_default_context(), None)
    if cert:
        _present(client, cert, key)
    return client


def _present(client: Client, cert: str, key: str | None) -> None:
    """Load ``--cert``/``--key`` into the client's context, as the context builder loads a
    client certificate (the same checks: PEM, the key matching, the passphrase)."""
    from ..._tls.context import load_client_certificate

    if client.certificate is not None:
        raise ConfigurationError(
            f"--cert: the URI names its own client certificate ({client.certificate_option}); "
            "give it there or with --cert, not both"
        )
    password = os.environ.get(KEY_PASSWORD_VARIABLE) or None
    load_client_certificate(client.context, cert, key, password, names=_CERT_NAMES)
    client.certificate = ClientCertificate(cert, key, password)


def _from_options(target: Target, cafile: str | None, crlfile: str | None) -> Client:
    from ..._tls.options import TLSOptions

    overrides = _overrides(target.dialect if target.uri else None, cafile, crlfile)
    if target.uri is not None:
        options = TLSOptions.from_uri(target.uri, **overrides)
    else:
        options = TLSOptions.from_kwargs(tls=True, **overrides)
    if options.dialect != "mongodb":
        return _remember(_from_dialect(options), options, target)
    context = options.create_context()
    if context is None:
        raise ConfigurationError(
            "--connect: TLS is off in this URI; add tls=true to diagnose its TLS"
        )
    client = _remember(_describe_store(context, options.ca_file), options, target)
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


def _remember(client: Client, options: TLSOptions, target: Target) -> Client:
    """What the fixes and the probes need of the options: whose names, which certificate."""
    client.dialect = options.dialect if target.uri is not None else None
    if options.certificate_key_file:
        client.certificate = ClientCertificate(
            options.certificate_key_file,
            options.key_file,
            options.certificate_key_file_password,
        )
        client.certificate_option = options.spelling("tlsCertificateKeyFile")
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
        return Client(context, f"the CA file {cafile}", cafile=cafile)
    from ..._store.resolve import resolve

    source = resolve().source
    if source is None:  # pragma: no cover - resolve() raises instead
        return Client(context, "no store")
    where = source.display_cafile or source.cafile or source.display_capath or source.capath
    kind = "verified by the operating system" if source.verified_by_os else source.kind
    text = f"the {source.backend} store ({kind}{', ' + where if where else ''})"
    return Client(context, text, source.backend)
