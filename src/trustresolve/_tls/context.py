"""``ssl.SSLContext`` objects from the resolved store and from settled TLS options.

Architecture §4.

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

from .._errors import ConfigurationError, NoTrustStoreError, warn_caller
from .._limits import OPTION_FILE_BYTES
from .._store import memo
from .._store.resolve import resolve
from . import versions

# Not typing's: create_default_context() is on the warm path, which imports neither typing
# nor dataclasses (architecture §9.1); load.py, which does, is imported when first needed.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Union

    from .._machine.model import TrustSource
    from .settings import ContextSettings

    _Path = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

__all__ = [
    "InsecureContextWarning",
    "build_context",
    "create_default_context",
    "load_client_certificate",
    "resolved_source",
]

#: The protocol floor when the caller does not ask for another one (architecture §4).
DEFAULT_MINIMUM_VERSION = versions.DEFAULT_MINIMUM
_ALLOWED_MINIMUM_VERSIONS = versions.SPOKEN
# OpenSSL 3 refuses TLS 1.0/1.1 at security level 1 and above (their handshake signs with
# SHA-1/MD5), so a caller who explicitly asks for them gets level 0, and only then.
_LEGACY_PROTOCOL_CIPHERS = "DEFAULT:@SECLEVEL=0"
_MAX_PEM_READ = OPTION_FILE_BYTES  # a key or CRL file beyond this is not a PEM file


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
    snapshot = resolution.source.without_native()
    if snapshot is None:
        raise NoTrustStoreError(
            "native=False asks for a snapshot store, but the OS-verified store has none; "
            "install certifi or set SSL_CERT_FILE",
            resolution,
        )
    return snapshot


def _new_client_context(source: TrustSource | None) -> ssl.SSLContext:
    """A ``PROTOCOL_TLS_CLIENT`` context; truststore's when the OS itself verifies.

    ``native`` sources exist only where truststore is importable (architecture §7), so the import
    is safe there, and it is lazy so ``import trustresolve`` never pays for it (architecture §6).
    """
    if source is not None and source.verified_by_os:
        import truststore

        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _load_resolved(context: ssl.SSLContext, source: TrustSource) -> None:
    # A native source got a truststore context, which asks the OS: loading the snapshot into
    # it would only add work (and roots the OS may since have distrusted).
    if not source.verified_by_os:
        from .load import load_source

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
    remembered = None if explicit else memo.recall(memo.CONTEXT)
    if remembered is not None:
        return _from_memo(remembered)
    source = None if explicit else resolved_source(native=native)
    context = _new_client_context(source)
    context.minimum_version = DEFAULT_MINIMUM_VERSION
    if explicit:
        context.load_verify_locations(cafile, capath, cadata)
    else:
        assert source is not None  # for the type checker: not explicit means resolved
        _load_and_remember(context, source)
    _mirror_stdlib_defaults(context)
    return context


def _from_memo(capaths: list[str]) -> ssl.SSLContext:
    """The context the full path built last time, from the memo's directories (§9.1).

    Only on platforms whose stores are files (``memo.applies``), where no source is verified
    by the OS, so ``native`` changes nothing and the context is a plain one.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = DEFAULT_MINIMUM_VERSION
    for capath in capaths:
        context.load_verify_locations(capath=capath)
    _mirror_stdlib_defaults(context)
    return context


def _load_and_remember(context: ssl.SSLContext, source: TrustSource) -> None:
    if source.verified_by_os or not memo.applies():
        _load_resolved(context, source)
        return
    from .load import plan_dependencies, remember_plan

    dependencies = plan_dependencies(source)  # before the plan reads anything
    _load_resolved(context, source)
    remember_plan(source, dependencies)


def _mirror_stdlib_defaults(context: ssl.SSLContext) -> None:
    """What ``ssl.create_default_context`` adds on top of ``PROTOCOL_TLS_CLIENT``."""
    if sys.version_info >= (3, 13):  # CPython gh-107361: strict chain checks by default
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment and type(context) is ssl.SSLContext:
        context.keylog_filename = keylog


# --- settled options -> context ----------------------------------------------------------------


def build_context(
    options: ContextSettings,
    *,
    minimum_version: ssl.TLSVersion | None = None,
    native: bool = True,
) -> ssl.SSLContext:
    """Build the client context the settled ``options`` describe, in architecture §4's order.

    Called by ``TLSOptions.create_context`` (the one caller); it reads only the settled value.
    """
    source = _trust_source_for(options, native=native)
    context = _new_client_context(source)
    _set_minimum_version(
        context, options.minimum_version if minimum_version is None else minimum_version
    )
    if options.maximum_version is not None:
        context.maximum_version = options.maximum_version
    if _names_own_ca(options):
        _load_own_cas(context, options)
    elif source is not None:
        _load_resolved(context, source)
    if options.crl_file:
        _load_crl(context, options.spelling("tlsCRLFile"), options.crl_file)
    if options.crl_path:
        _load_crl_directory(context, options)
    if options.crl_check_chain and (options.crl_file or options.crl_path):
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
    if options.alpn_protocols:
        context.set_alpn_protocols(list(options.alpn_protocols))
    if options.certificate_key_file:
        _load_client_certificate(context, options)
    # The same strictness as create_default_context(): a driver's context is never weaker
    # than the one its user would get from ssl.
    _mirror_stdlib_defaults(context)
    _apply_verification(context, options)
    return context


def _trust_source_for(options: ContextSettings, *, native: bool = True) -> TrustSource | None:
    """The resolved store, unless the caller's CA file replaces it or nothing is verified.

    With CERT_NONE and no CA file nothing is loaded (as in PyMongo), so turning verification off
    works on a machine without any store. A CRL needs OpenSSL to verify the chain, so a native
    (OS-verified) source is used through its snapshot then.
    """
    if _names_own_ca(options) or options.verify_mode == ssl.CERT_NONE:
        return None
    source = resolved_source(native=native)
    if source.verified_by_os and options.crl_file:
        snapshot = source.without_native()
        if snapshot is None:
            msg = (
                f"{options.spelling('tlsCRLFile')} needs OpenSSL to verify the chain, but the "
                "resolved store is verified by the OS and has no snapshot to load; "
                f"pass {options.spelling('tlsCAFile')} as well"
            )
            raise ConfigurationError(msg)
        return snapshot
    return source


def _names_own_ca(options: ContextSettings) -> bool:
    return bool(options.ca_file or options.ca_path or options.ca_data)


def _load_own_cas(context: ssl.SSLContext, options: ContextSettings) -> None:
    """The caller's CA file, directory and data, together replacing the resolved store."""
    if options.ca_file:
        _load_ca_file(context, options.spelling("tlsCAFile"), options.ca_file)
    if options.ca_path:
        option = options.spelling("ca_path")
        if not os.path.isdir(options.ca_path):
            msg = f"{option}: {options.ca_path!r} is not a directory of hashed CA certificates"
            raise ConfigurationError(msg)
        context.load_verify_locations(capath=options.ca_path)
    if options.ca_data:
        option = options.spelling("ca_data")
        before = context.cert_store_stats()["x509"]
        try:
            context.load_verify_locations(cadata=options.ca_data)
        except (ssl.SSLError, ValueError, TypeError) as exc:
            msg = f"{option} could not be loaded ({_reason(exc)}); it must be PEM text or DER bytes"
            raise ConfigurationError(msg) from exc
        if context.cert_store_stats()["x509"] == before:
            msg = f"{option} holds no certificate; it must be PEM text or DER bytes of CAs"
            raise ConfigurationError(msg)


def _load_crl_directory(context: ssl.SSLContext, options: ContextSettings) -> None:
    """Each file of a CRL directory, loaded as a CRL file.

    Not ``load_verify_locations(capath=...)``: a certificate in that directory would become a
    trusted root; file by file, :func:`_load_crl` refuses such a file.
    """
    option = options.spelling("crl_path")
    directory = options.crl_path
    assert directory is not None  # the caller checked
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        reason = exc.strerror or exc
        msg = f"{option}: cannot list {directory!r}: {reason}; it must be a directory of CRLs"
        raise ConfigurationError(msg) from None
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            _load_crl(context, option, path)


def _set_minimum_version(context: ssl.SSLContext, requested: ssl.TLSVersion | None) -> None:
    version = DEFAULT_MINIMUM_VERSION if requested is None else requested
    if version not in _ALLOWED_MINIMUM_VERSIONS:
        accepted = ", ".join(f"ssl.TLSVersion.{v.name}" for v in _ALLOWED_MINIMUM_VERSIONS)
        msg = f"minimum_version={version!r} is not valid: use one of {accepted}"
        raise ConfigurationError(msg)
    context.minimum_version = version
    if versions.is_legacy(version):
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
    it (``CERTIFICATE``, ``X509 CERTIFICATE`` or ``TRUSTED CERTIFICATE``, anywhere in the file)
    would silently become a trusted root, since ``load_verify_locations`` takes both.
    """
    text = _read_whole(option, path)
    _require_only_crls(option, path, text)
    try:
        _load_checked_bytes(context, text)
    except (OSError, ssl.SSLError, ValueError) as exc:
        msg = f"{option}: the CRL in {path!r} could not be loaded ({_reason(exc)})"
        raise ConfigurationError(msg) from exc
    context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF


def _load_checked_bytes(context: ssl.SSLContext, text: bytes) -> None:
    """Load exactly the bytes that were checked, not the path again: a file replaced between
    the check and OpenSSL's read could otherwise add roots. ``ssl`` loads CRLs only from a
    file, so the bytes go to a private temporary one (mode 0600, removed at once)."""
    import tempfile

    handle, temporary = tempfile.mkstemp(prefix="trustresolve-crl-", suffix=".pem")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(text)
        context.load_verify_locations(cafile=temporary)
    finally:
        os.unlink(temporary)


def _require_only_crls(option: str, path: str, text: bytes) -> None:
    """Every block of the whole file is an ``X509 CRL``, and nothing else looks like one.

    OpenSSL's ``PEM_X509_INFO_read_bio`` reads every block it finds, so the check is on the
    labels of the complete file; a BEGIN marker the scanner cannot frame counts against it.
    """
    from .._x509.pem import read_blocks

    listing = read_blocks(text)
    crls = sum(block.kind == "crl" for block in listing.blocks)
    if not crls:
        fix = (
            "it looks like DER: convert it with `openssl crl -inform DER -outform PEM`"
            if text[:1] == b"\x30"
            else "it holds no '-----BEGIN X509 CRL-----' block"
        )
        msg = f"{option}: {path!r} is not a PEM CRL ({fix}); {option} must be a PEM file of CRLs"
        raise ConfigurationError(msg)
    foreign = sorted({b.label.decode("ascii", "replace") for b in listing.blocks} - {"X509 CRL"})
    if foreign or text.count(b"-----BEGIN") != crls:
        what = ", ".join(foreign) if foreign else "unframed -----BEGIN markers"
        msg = (
            f"{option}: {path!r} also holds {what} blocks besides CRLs; certificates there "
            f"would become trusted roots; {option} must hold only X509 CRL blocks "
            "(put CA certificates in tlsCAFile)"
        )
        raise ConfigurationError(msg)


def _read_whole(option: str, path: str) -> bytes:
    """The whole file, or an error: a file too big to check is refused, never read in part."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > _MAX_PEM_READ:
                msg = (
                    f"{option}: {path!r} is larger than {_MAX_PEM_READ // (1024 * 1024)} MiB; "
                    "that is not a CRL file trustresolve will check, so it is refused"
                )
                raise ConfigurationError(msg)
            text = handle.read(_MAX_PEM_READ + 1)
    except OSError as exc:
        msg = f"{option}: cannot read {path!r}: {exc.strerror or exc}"
        raise ConfigurationError(msg) from None
    if len(text) > _MAX_PEM_READ:  # grew while read
        raise ConfigurationError(f"{option}: {path!r} changed size while it was read")
    return text


class _PassphraseNeeded(Exception):
    """Raised by the password callback: without it OpenSSL would prompt on the terminal."""


def _refuse_to_prompt() -> str:
    raise _PassphraseNeeded


def load_client_certificate(
    context: ssl.SSLContext,
    certfile: str,
    keyfile: str | None,
    passphrase: str | None,
    *,
    names: Mapping[str, str],
) -> None:
    """The client-certificate step of :func:`build_context` alone, with its checks and messages,
    for a caller whose user names the files another way (the doctor's ``--cert``/``--key``).

    ``names`` maps ``tlsCertificateKeyFile``, ``ssl_keyfile`` and
    ``tlsCertificateKeyFilePassword`` to the names the messages use.
    """
    from .settings import ContextSettings

    settings = ContextSettings(
        tls=True,
        verify_mode=ssl.CERT_REQUIRED,
        check_hostname=True,
        ca_file=None,
        certificate_key_file=certfile,
        key_file=keyfile,
        passphrase=passphrase,
        crl_file=None,
        disable_ocsp_endpoint_check=False,
        disable_certificate_revocation_check=False,
        spellings=names,
    )
    _load_client_certificate(context, settings)


def _load_client_certificate(context: ssl.SSLContext, options: ContextSettings) -> None:
    cert_option = options.spelling("tlsCertificateKeyFile")
    certfile = options.certificate_key_file
    assert certfile is not None  # the caller checked
    keyfile = options.key_file
    key_option = options.spelling("ssl_keyfile") if keyfile else cert_option
    key_text = _read_head(key_option, keyfile or certfile)
    _require_pem_parts(
        cert_option, certfile, key_option, keyfile, key_text,
        keyfile_option=options.spelling("ssl_keyfile"),
    )  # fmt: skip
    passphrase = options.passphrase
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
    cert_option: str,
    certfile: str,
    key_option: str,
    keyfile: str | None,
    key_text: bytes,
    *,
    keyfile_option: str,
) -> None:
    if b"-----BEGIN CERTIFICATE-----" not in _read_head(cert_option, certfile):
        msg = f"{cert_option}: {certfile!r} holds no PEM certificate; it must hold the client's"
        raise ConfigurationError(msg)
    if b"PRIVATE KEY-----" not in key_text:
        where = f"{(keyfile or certfile)!r}"
        msg = (
            f"{key_option}: {where} holds no PEM private key; {cert_option} must hold the "
            f"client certificate and its private key (or give the key in {keyfile_option})"
        )
        raise ConfigurationError(msg)


def _client_certificate_error(
    options: ContextSettings, exc: OSError, key_text: bytes
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
    if encrypted and options.passphrase is not None:
        password_option = options.spelling("tlsCertificateKeyFilePassword")
        return ConfigurationError(
            f"{password_option}: wrong passphrase, it does not decrypt the private key in "
            f"{key_path!r}"
        )
    return ConfigurationError(
        f"{cert_option}: {certfile!r} could not be loaded ({_reason(exc)}); it must hold a PEM "
        "certificate and its (optionally encrypted) private key"
    )


def _apply_verification(context: ssl.SSLContext, options: ContextSettings) -> None:
    # check_hostname first: ssl refuses verify_mode=CERT_NONE while check_hostname is on
    # (architecture §4, builder step 6; urllib3 util/ssl_.py says the same).
    context.check_hostname = options.check_hostname
    context.verify_mode = options.verify_mode
    if options.verify_mode == ssl.CERT_NONE:
        reason = options.insecure_reason or (
            "tlsInsecure, tlsAllowInvalidCertificates or ssl_cert_reqs"
        )
        warn_caller(
            f"this TLS context does not verify the server's certificate (CERT_NONE, from "
            f"{reason}): anyone on the path can impersonate the server",
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
