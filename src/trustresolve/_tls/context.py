"""``ssl.SSLContext`` objects from the resolved store and from TLS options (architecture §4).

Build order, each step a small function below: ``PROTOCOL_TLS_CLIENT``; TLS 1.2 minimum unless
the caller asks for less; the CA source (the caller's CA file *replaces* the resolved store);
the CRL; the client certificate and key; ``check_hostname`` before ``verify_mode``.

Every error ``ssl`` raises while loading a file the caller named becomes a
:class:`ConfigurationError` naming the option, the path and what was wrong with it; errors of
the resolved store are :class:`TrustSourceLoadError` (from :func:`load_source`).
"""

from __future__ import annotations

import os
import ssl
import sys
from typing import TYPE_CHECKING, Any, Union

from .._errors import ConfigurationError, NoTrustStoreError
from .._store.resolve import resolve
from .load import load_source
from .options import TLSOptions, warn_caller

if TYPE_CHECKING:
    from .._machine.model import TrustSource

    _Path = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

__all__ = [
    "InsecureContextWarning",
    "build_context",
    "context_from_options",
    "context_from_uri",
    "create_default_context",
    "resolved_source",
]

#: The protocol floor when the caller does not ask for another one (architecture §4).
DEFAULT_MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2
_ALLOWED_MINIMUM_VERSIONS = (
    ssl.TLSVersion.TLSv1,
    ssl.TLSVersion.TLSv1_1,
    ssl.TLSVersion.TLSv1_2,
    ssl.TLSVersion.TLSv1_3,
)
# OpenSSL 3 refuses TLS 1.0/1.1 at security level 1 and above (their handshake signs with
# SHA-1/MD5), so a caller who explicitly asks for them gets level 0, and only then.
_LEGACY_PROTOCOL_CIPHERS = "DEFAULT:@SECLEVEL=0"
_MAX_PEM_READ = 64 * 1024 * 1024  # a key or CRL file beyond this is not a PEM file


class InsecureContextWarning(UserWarning):
    """A context weaker than the default was built, as asked: it does not verify certificates
    (CERT_NONE), or ``minimum_version`` below TLS 1.2 also admits weak keys and SHA-1."""


# --- the resolved store ------------------------------------------------------------------------


def resolved_source(*, native: bool = True) -> TrustSource:
    """The resolved trust source; raises :class:`NoTrustStoreError` (never returns ``None``).

    ``native=False`` turns OS verification off for this context: a ``native`` source
    gives way to its snapshot, which a plain ``ssl.SSLContext`` loads.
    """
    resolution = resolve()
    if resolution.source is None:  # resolve() raises instead; kept for the type checker
        raise NoTrustStoreError("no usable CA trust store was found", resolution)
    if native:
        return resolution.source
    from .._backends.native import without_native

    snapshot = without_native(resolution.source)
    if snapshot.kind == "native":
        raise NoTrustStoreError(
            "native=False asks for a snapshot store, but the OS-verified store has none; "
            "install certifi or set SSL_CERT_FILE",
            resolution,
        )
    return snapshot


def _new_client_context(source: TrustSource | None) -> ssl.SSLContext:
    """A ``PROTOCOL_TLS_CLIENT`` context; truststore's when the OS itself verifies.

    ``native`` sources exist only where truststore is importable (architecture §2 #3), so the import
    is safe there, and it is lazy so ``import trustresolve`` never pays for it (architecture §6).
    """
    if source is not None and source.kind == "native":
        import truststore

        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _load_resolved(context: ssl.SSLContext, source: TrustSource) -> None:
    # A native source got a truststore context, which asks the OS: loading the snapshot into
    # it would only add work (and roots the OS may since have distrusted).
    if source.kind != "native":
        load_source(context, source)


# --- create_default_context --------------------------------------------------------------------


def create_default_context(
    purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH,
    *,
    cafile: _Path | None = None,
    capath: _Path | None = None,
    cadata: str | bytes | None = None,
    native: bool = True,
) -> ssl.SSLContext:
    """Like :func:`ssl.create_default_context`, with the resolved store as the default roots.

    Where the OS verifies (macOS and Windows with truststore) this is a
    ``truststore.SSLContext``; ``native=False`` gives a plain ``ssl.SSLContext`` loaded with the
    snapshot of the OS store instead (also: ``TRUSTRESOLVE_NATIVE=0``, or ``native = false``
    in the config file, for the whole process).

    ``cafile``/``capath``/``cadata`` replace the resolved store exactly as they replace the
    system store in ``ssl`` (and raise what ``ssl`` raises). ``Purpose.CLIENT_AUTH`` (a server
    verifying its clients) is ``ssl``'s own context: there is no server-side store to resolve.
    The minimum protocol is TLS 1.2 on every Python (3.9's ``ssl`` still allows TLS 1.0).
    """
    if purpose != ssl.Purpose.SERVER_AUTH:
        return ssl.create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)
    explicit = bool(cafile or capath or cadata)
    source = None if explicit else resolved_source(native=native)
    context = _new_client_context(source)
    context.minimum_version = DEFAULT_MINIMUM_VERSION
    if explicit:
        context.load_verify_locations(cafile, capath, cadata)
    else:
        assert source is not None  # for the type checker: not explicit means resolved
        _load_resolved(context, source)
    _mirror_stdlib_defaults(context)
    return context


def _mirror_stdlib_defaults(context: ssl.SSLContext) -> None:
    """What ``ssl.create_default_context`` adds on top of ``PROTOCOL_TLS_CLIENT``."""
    if sys.version_info >= (3, 13):  # CPython gh-107361: strict chain checks by default
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment and type(context) is ssl.SSLContext:
        context.keylog_filename = keylog


# --- options -> context ------------------------------------------------------------------------


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


def build_context(
    options: TLSOptions, *, minimum_version: ssl.TLSVersion | None = None, native: bool = True
) -> ssl.SSLContext:
    """Build the client context ``options`` describe, in architecture §4's order."""
    source = _trust_source_for(options, native=native)
    context = _new_client_context(source)
    _set_minimum_version(context, minimum_version)
    if options.ca_file:
        _load_ca_file(context, options.spelling("tlsCAFile"), options.ca_file)
    elif source is not None:
        _load_resolved(context, source)
    if options.crl_file:
        _load_crl(context, options.spelling("tlsCRLFile"), options.crl_file)
    if options.certificate_key_file:
        _load_client_certificate(context, options)
    # The same strictness as create_default_context(): a driver's context is never weaker
    # than the one its user would get from ssl.
    _mirror_stdlib_defaults(context)
    _apply_verification(context, options)
    return context


def _trust_source_for(options: TLSOptions, *, native: bool = True) -> TrustSource | None:
    """The resolved store, unless the caller's CA file replaces it or nothing is verified.

    With CERT_NONE and no CA file nothing is loaded (as in PyMongo), so turning verification off
    works on a machine without any store. A CRL needs OpenSSL to verify the chain, so a native
    (OS-verified) source is used through its snapshot then.
    """
    if options.ca_file or options.verify_mode == ssl.CERT_NONE:
        return None
    source = resolved_source(native=native)
    if source.kind == "native" and options.crl_file:
        if source.fallback is None:
            msg = (
                f"{options.spelling('tlsCRLFile')} needs OpenSSL to verify the chain, but the "
                "resolved store is verified by the OS and has no snapshot to load; "
                f"pass {options.spelling('tlsCAFile')} as well"
            )
            raise ConfigurationError(msg)
        return source.fallback
    return source


def _set_minimum_version(context: ssl.SSLContext, requested: ssl.TLSVersion | None) -> None:
    version = DEFAULT_MINIMUM_VERSION if requested is None else requested
    if version not in _ALLOWED_MINIMUM_VERSIONS:
        accepted = ", ".join(f"ssl.TLSVersion.{v.name}" for v in _ALLOWED_MINIMUM_VERSIONS)
        msg = f"minimum_version={version!r} is not valid: use one of {accepted}"
        raise ConfigurationError(msg)
    context.minimum_version = version
    if version < ssl.TLSVersion.TLSv1_2:
        lowered = _has_security_levels()
        if lowered:
            context.set_ciphers(_LEGACY_PROTOCOL_CIPHERS)
        _warn_legacy_protocol(version, lowered)


def _warn_legacy_protocol(version: ssl.TLSVersion, lowered: bool) -> None:
    """Weak crypto only when asked for by name, and then said out loud (architecture §10).

    The security level is a property of the whole context, not of one protocol version:
    level 0 lets every handshake, TLS 1.2 and 1.3 included, accept the server's RSA keys under
    2048 bits and SHA-1 signatures. InsecureContextWarning, not TLSOptionWarning: nothing
    was ignored; the context is weaker than the default, as with CERT_NONE.
    """
    text = f"minimum_version={version.name} allows TLS versions before 1.2"
    if lowered:
        text += (
            ", and lowers OpenSSL's security level of the whole context to 0 "
            "(@SECLEVEL=0), so on every connection, TLS 1.2 and 1.3 included, it also admits "
            "weak keys (RSA under 2048 bits) and SHA-1 signatures in the server's certificates"
        )
    warn_caller(text + "; use it only for a server that cannot do TLS 1.2", InsecureContextWarning)


def _has_security_levels() -> bool:
    return "LibreSSL" not in ssl.OPENSSL_VERSION and ssl.OPENSSL_VERSION_INFO >= (1, 1, 0)


def _load_ca_file(context: ssl.SSLContext, option: str, path: str) -> None:
    before = context.cert_store_stats()["x509"]
    try:
        context.load_verify_locations(cafile=path)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise ConfigurationError(
            f"{option}: {path!r} could not be loaded ({_reason(exc)}); "
            f"{option} must be a PEM file of CA certificates"
        ) from exc
    if context.cert_store_stats()["x509"] == before:
        msg = f"{option}: {path!r} holds no certificate; it must be a PEM file of CA certificates"
        raise ConfigurationError(msg)


def _load_crl(context: ssl.SSLContext, option: str, path: str) -> None:
    """Leaf CRL checking, as PyMongo does ("match the server's behavior").

    PyMongo *replaces* the verify flags; here the flag is added, so the defaults
    (VERIFY_X509_TRUSTED_FIRST) stay. The file must hold CRLs and nothing else: a certificate in
    it would silently become a trusted root, since ``load_verify_locations`` takes both.
    """
    text = _read_head(option, path)
    if b"-----BEGIN X509 CRL-----" not in text:
        fix = (
            "it looks like DER: convert it with `openssl crl -inform DER -outform PEM`"
            if text[:1] == b"\x30"
            else "it holds no '-----BEGIN X509 CRL-----' block"
        )
        msg = f"{option}: {path!r} is not a PEM CRL ({fix}); {option} must be a PEM file of CRLs"
        raise ConfigurationError(msg)
    if b"-----BEGIN CERTIFICATE-----" in text:
        msg = (
            f"{option}: {path!r} also holds certificates, which would become trusted roots; "
            f"{option} must hold only CRLs (put CA certificates in tlsCAFile)"
        )
        raise ConfigurationError(msg)
    try:
        context.load_verify_locations(cafile=path)
    except (OSError, ssl.SSLError, ValueError) as exc:
        msg = f"{option}: the CRL in {path!r} could not be loaded ({_reason(exc)})"
        raise ConfigurationError(msg) from exc
    context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF


class _PassphraseNeeded(Exception):
    """Raised by the password callback: without it OpenSSL would prompt on the terminal."""


def _refuse_to_prompt() -> str:
    raise _PassphraseNeeded


def _load_client_certificate(context: ssl.SSLContext, options: TLSOptions) -> None:
    cert_option = options.spelling("tlsCertificateKeyFile")
    certfile = options.certificate_key_file
    assert certfile is not None  # the caller checked
    keyfile = options.key_file
    key_option = "ssl_keyfile" if keyfile else cert_option
    key_text = _read_head(key_option, keyfile or certfile)
    _require_pem_parts(cert_option, certfile, key_option, keyfile, key_text)
    passphrase = options.certificate_key_file_password
    password_option = options.spelling("tlsCertificateKeyFilePassword")
    try:
        context.load_cert_chain(
            certfile, keyfile, passphrase if passphrase is not None else _refuse_to_prompt
        )
    except _PassphraseNeeded:
        msg = (
            f"{key_option}: the private key in {(keyfile or certfile)!r} is encrypted and no "
            f"passphrase was given; set {password_option}"
        )
        raise ConfigurationError(msg) from None
    except ValueError as exc:  # ssl refuses passphrases over 1023 bytes; never show it
        msg = f"{password_option} was refused by ssl ({exc.__class__.__name__}: too long?)"
        raise ConfigurationError(msg) from None
    except (OSError, ssl.SSLError) as exc:
        raise _client_certificate_error(options, exc, key_text) from None


def _require_pem_parts(
    cert_option: str, certfile: str, key_option: str, keyfile: str | None, key_text: bytes
) -> None:
    if b"-----BEGIN CERTIFICATE-----" not in _read_head(cert_option, certfile):
        msg = f"{cert_option}: {certfile!r} holds no PEM certificate; it must hold the client's"
        raise ConfigurationError(msg)
    if b"PRIVATE KEY-----" not in key_text:
        where = f"{(keyfile or certfile)!r}"
        msg = (
            f"{key_option}: {where} holds no PEM private key; {cert_option} must hold the "
            "client certificate and its private key (or give the key in ssl_keyfile)"
        )
        raise ConfigurationError(msg)


def _client_certificate_error(
    options: TLSOptions, exc: OSError, key_text: bytes
) -> ConfigurationError:
    """Tell a wrong passphrase from a key that does not match its certificate.

    OpenSSL says KEY_VALUES_MISMATCH for the latter; a wrong passphrase is only "PEM lib", the
    same as a damaged file, so an encrypted key with a passphrase decides it.
    """
    cert_option = options.spelling("tlsCertificateKeyFile")
    certfile = options.certificate_key_file
    key_path = options.key_file or certfile
    if getattr(exc, "reason", None) == "KEY_VALUES_MISMATCH":
        return ConfigurationError(
            f"{cert_option}: the private key in {key_path!r} does not match the certificate in "
            f"{certfile!r}; use the key the certificate was issued for"
        )
    encrypted = b"ENCRYPTED PRIVATE KEY" in key_text or b"Proc-Type: 4,ENCRYPTED" in key_text
    if encrypted and options.certificate_key_file_password is not None:
        password_option = options.spelling("tlsCertificateKeyFilePassword")
        return ConfigurationError(
            f"{password_option}: wrong passphrase, it does not decrypt the private key in "
            f"{key_path!r}"
        )
    return ConfigurationError(
        f"{cert_option}: {certfile!r} could not be loaded ({_reason(exc)}); it must hold a PEM "
        "certificate and its (optionally encrypted) private key"
    )


def _apply_verification(context: ssl.SSLContext, options: TLSOptions) -> None:
    # check_hostname first: ssl refuses verify_mode=CERT_NONE while check_hostname is on
    # (architecture §4 step 3; urllib3 util/ssl_.py says the same).
    context.check_hostname = options.check_hostname
    context.verify_mode = options.verify_mode
    if options.verify_mode == ssl.CERT_NONE:
        warn_caller(
            "this TLS context does not verify the server's certificate (CERT_NONE, from "
            "tlsInsecure, tlsAllowInvalidCertificates or ssl_cert_reqs): anyone on the path "
            "can impersonate the server",
            InsecureContextWarning,
        )


def _read_head(option: str, path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(_MAX_PEM_READ)
    except OSError as exc:
        msg = f"{option}: cannot read {path!r}: {exc.strerror or exc}"
        raise ConfigurationError(msg) from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return f"{exc.library or 'SSL'}: {exc.reason}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)
