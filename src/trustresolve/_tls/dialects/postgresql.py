"""PostgreSQL TLS options as libpq names them (``sslmode``, ``sslrootcert``, ...).

The modes and rules are libpq's (PostgreSQL docs "Connection Strings" and "SSL Support";
``fe-secure-openssl.c`` ``initialize_SSL()``), settled on the secure side: a file the caller
names must be readable (libpq would go on unverified with a missing root file in the weak
modes), and a CRL next to a mode that verifies nothing is refused rather than ignored.
"""

from __future__ import annotations

import os
import ssl
from typing import Any

from ..._errors import ConfigurationError
from ..settings import ContextSettings
from . import base
from .base import Dialect, Option, Origin, Parsed

__all__ = ["DIALECT", "MODES", "driver_kwargs", "settle"]

TITLE = "PostgreSQL (libpq)"
MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
DEFAULT_MODE = "prefer"
SYSTEM = "system"  # sslrootcert=system: the system's roots, verify-full (libpq 16+)
_VERIFYING = ("verify-ca", "verify-full")
_ALPN = ("postgresql",)  # libpq 17+ always offers it (pqcomm.h PG_ALPN_PROTOCOL_VECTOR)
_BUILDER_SPELLINGS = {
    "tlsCAFile": "sslrootcert",
    "tlsCRLFile": "sslcrl",
    "crl_path": "sslcrldir",
    "tlsCertificateKeyFile": "sslcert",
    "ssl_keyfile": "sslkey",
    "tlsCertificateKeyFilePassword": "sslpassword",
}


def _parse_rootcert(spelling: str, raw: object, origin: Origin) -> str:
    # "system" wins over a local file of that name; "./system" names the file (libpq docs).
    if raw == SYSTEM:
        return SYSTEM
    return str(base.file_path(TITLE)(spelling, raw, origin))


def _parse_sni(spelling: str, raw: object, origin: Origin) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip() in ("0", "1"):
        return raw.strip() == "1"
    raise base.invalid(spelling, raw, TITLE, "1 (send SNI) or 0")


OPTIONS = (
    Option("sslmode", "mode", base.choice(TITLE, {m: m for m in MODES}, fold=False)),
    Option("sslrootcert", "ca_file", _parse_rootcert),
    Option("sslcert", "cert_file", base.file_path(TITLE)),
    Option("sslkey", "key_file", base.file_path(TITLE)),
    Option("sslpassword", "password", base.secret_text(TITLE), secret=True),
    Option("sslcrl", "crl_file", base.file_path(TITLE)),
    Option("sslcrldir", "crl_path", base.directory_path(TITLE)),
    Option("sslsni", "sni", _parse_sni),
    Option("ssl_min_protocol_version", "min_version", base.choice(TITLE, base.PROTOCOL_NAMES)),
    Option("ssl_max_protocol_version", "max_version", base.choice(TITLE, base.PROTOCOL_NAMES)),
    Option(
        "sslnegotiation",
        "negotiation",
        base.choice(TITLE, {"postgres": "postgres", "direct": "direct"}, fold=False),
    ),
    Option(
        "sslcertmode",
        "send_cert",
        base.choice(TITLE, {m: m for m in ("disable", "allow", "require")}, fold=False),
    ),
)


def default_file(name: str) -> str:
    """libpq's default location of ``name`` (root.crt, root.crl): ~/.postgresql/ or %APPDATA%."""
    if os.name == "nt":
        return os.path.join(os.environ.get("APPDATA", ""), "postgresql", name)
    return os.path.join(os.path.expanduser("~"), ".postgresql", name)


def effective_mode(parsed: Parsed) -> str:
    """The mode libpq uses; ``sslrootcert=system`` allows only (and defaults to) verify-full."""
    mode = parsed.get("sslmode")
    if parsed.get("sslrootcert") == SYSTEM:
        if mode is not None and mode != "verify-full":
            msg = (
                f"weak sslmode {mode!r} may not be used with sslrootcert=system (use "
                f"'verify-full'); accepted sslmode values: {', '.join(MODES)}"
            )
            raise ConfigurationError(msg)
        return "verify-full"
    return mode or DEFAULT_MODE


def root_file(parsed: Parsed) -> str | None:
    """The CA file libpq loads: sslrootcert, else ~/.postgresql/root.crt if it exists."""
    named = parsed.get("sslrootcert")
    if named == SYSTEM:
        return None
    if named is not None:
        return str(named)
    default = default_file("root.crt")
    return default if os.path.isfile(default) else None


def crl_file(parsed: Parsed, root: str | None) -> str | None:
    """sslcrl, else ~/.postgresql/root.crl when a root file is loaded (libpq loads it then)."""
    named = parsed.get("sslcrl")
    if named is not None or parsed.given("sslcrldir"):
        return None if named is None else str(named)
    default = default_file("root.crl")
    return default if root is not None and os.path.isfile(default) else None


def settle(parsed: Parsed) -> ContextSettings:
    mode = effective_mode(parsed)
    _check_negotiation(parsed, mode)
    _check_key(parsed)
    minimum, maximum = (
        parsed.entry("ssl_min_protocol_version"),
        parsed.entry("ssl_max_protocol_version"),
    )
    base.check_version_range(minimum, maximum, TITLE)
    root = root_file(parsed) if mode != "disable" else None
    verifies = mode in _VERIFYING or root is not None
    _check_crl_needs_verification(parsed, mode, verifies)
    send_cert = parsed.get("sslcertmode") != "disable"
    return ContextSettings(
        tls=mode != "disable",
        verify_mode=ssl.CERT_REQUIRED if verifies else ssl.CERT_NONE,
        check_hostname=mode == "verify-full",
        ca_file=root,
        certificate_key_file=parsed.get("sslcert") if send_cert else None,
        key_file=parsed.get("sslkey") if send_cert else None,
        passphrase=parsed.get("sslpassword"),
        crl_file=crl_file(parsed, root),
        disable_ocsp_endpoint_check=True,  # libpq does no OCSP
        disable_certificate_revocation_check=False,
        spellings=base.spellings(parsed, _BUILDER_SPELLINGS),
        crl_path=parsed.get("sslcrldir"),
        crl_check_chain=True,  # X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL
        minimum_version=None if minimum is None else minimum.value,
        maximum_version=None if maximum is None else maximum.value,
        alpn_protocols=_ALPN,
        insecure_reason=None if verifies else f"sslmode={mode} without a root certificate file",
    )


def _check_negotiation(parsed: Parsed, mode: str) -> None:
    # Weaker modes could fall back to plaintext authentication (libpq docs, sslnegotiation).
    if parsed.get("sslnegotiation") == "direct" and mode not in ("require", *_VERIFYING):
        msg = (
            f"weak sslmode {mode!r} may not be used with sslnegotiation=direct "
            "(use 'require', 'verify-ca' or 'verify-full')"
        )
        raise ConfigurationError(msg)


def _check_key(parsed: Parsed) -> None:
    key = parsed.entry("sslkey")
    if key is not None and not parsed.given("sslcert"):
        msg = f"{key.shown()} needs the certificate it belongs to: give sslcert too"
        raise ConfigurationError(msg)


def _check_crl_needs_verification(parsed: Parsed, mode: str, verifies: bool) -> None:
    for name in ("sslcrl", "sslcrldir"):
        entry = parsed.entry(name)
        if entry is not None and not verifies and mode != "disable":
            msg = (
                f"{entry.shown()} asks for revocation checks, but sslmode={mode} without a "
                "root certificate verifies nothing; use sslmode=verify-full (or verify-ca), "
                "or give sslrootcert"
            )
            raise ConfigurationError(msg)


def driver_kwargs(parsed: Parsed, settings: ContextSettings) -> dict[str, Any]:
    """``psycopg.connect`` keywords (libpq's), every one explicit, so libpq's environment
    variables and ~/.postgresql files cannot change what was parsed.

    psycopg-binary's own OpenSSL looks for its roots where Debian has none, so
    ``sslrootcert=system`` becomes a path from :func:`trustresolve.where`.
    """
    mode = effective_mode(parsed)
    if mode == "disable":
        return {"sslmode": "disable"}
    kwargs: dict[str, Any] = {"sslmode": mode}
    root = settings.ca_file
    if root is None and mode in _VERIFYING:
        from ..._store.resolve import where

        root = where()
    if root is not None:
        kwargs["sslrootcert"] = root
    for name in ("sslcert", "sslkey", "sslpassword", "sslcrldir", "sslcertmode"):
        if parsed.given(name):
            kwargs[name] = parsed.get(name)
    if settings.crl_file is not None:
        kwargs["sslcrl"] = settings.crl_file
    if parsed.given("sslsni"):
        kwargs["sslsni"] = "1" if parsed.get("sslsni") else "0"
    for name in ("ssl_min_protocol_version", "ssl_max_protocol_version"):
        entry = parsed.entry(name)
        if entry is not None:
            kwargs[name] = _version_name(entry.value)
    kwargs.setdefault("ssl_min_protocol_version", "TLSv1.2")
    if parsed.given("sslnegotiation"):
        kwargs["sslnegotiation"] = parsed.get("sslnegotiation")
    return kwargs


def _version_name(version: ssl.TLSVersion) -> str:
    return next(name for name, v in base.PROTOCOL_NAMES.items() if v == version)


DIALECT = Dialect(
    name="postgresql",
    title=TITLE,
    schemes=("postgresql", "postgres"),
    options=OPTIONS,
    settle=settle,
)
