"""MySQL and MariaDB TLS options: ``ssl-mode`` and friends (MySQL client programs, MySQL Shell
URIs), in dash or underscore spelling, and PyMySQL's ``connect()`` keywords and ``ssl={...}``.

Modes are MySQL's (WL#8785). Where PyMySQL's own keywords are weaker than their names say
(``ssl_ca`` alone encrypts without verifying), trustresolve reads them on the secure side: a CA
or any other TLS option with no mode and no ``ssl_verify_*`` means VERIFY_IDENTITY; say
``ssl_verify_identity=False`` (VERIFY_CA) or ``ssl-mode=REQUIRED`` for less.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

from ..._errors import ConfigurationError
from ..settings import ContextSettings
from . import base
from .base import Dialect, Option, Origin, Parsed

__all__ = ["DIALECT", "MODES", "driver_kwargs", "effective_mode", "settle"]

TITLE = "MySQL/MariaDB"
MODES = ("DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY")
_VERIFYING = ("VERIFY_CA", "VERIFY_IDENTITY")
_BOOL_WORDS = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
    "on": True,
    "off": False,
}
# PyMySQL's ssl={'verify_mode': ...} words (pymysql/connections.py _create_ssl_ctx).
_VERIFY_WORDS = {
    **_BOOL_WORDS,
    "required": True,
    "optional": True,  # a client's CERT_OPTIONAL still verifies the server's certificate
    "none": False,
}
# PyMySQL's ssl={...} keys and the option each one is.
_DICT_KEYS = {
    "ca": "ssl_ca",
    "capath": "ssl_capath",
    "cert": "ssl_cert",
    "key": "ssl_key",
    "password": "ssl_key_password",
    "check_hostname": "ssl_verify_identity",
    "verify_mode": "ssl_verify_cert",
}
_BUILDER_SPELLINGS = {
    "tlsCAFile": "ssl_ca",
    "ca_path": "ssl_capath",
    "tlsCRLFile": "ssl_crl",
    "crl_path": "ssl_crlpath",
    "tlsCertificateKeyFile": "ssl_cert",
    "ssl_keyfile": "ssl_key",
    "tlsCertificateKeyFilePassword": "ssl_key_password",
}


def normalize(name: str) -> str:
    """MySQL option names: case-insensitive, dash or underscore."""
    return name.lower().replace("-", "_")


def _parse_versions(spelling: str, raw: object, origin: Origin) -> tuple[ssl.TLSVersion, ...]:
    """``TLSv1.2,TLSv1.3``: a comma list with no gap (a gap would widen to the range)."""
    words = raw.split(",") if isinstance(raw, str) else raw
    accepted = f"a comma-separated list of {', '.join(base.PROTOCOL_NAMES)}"
    if not isinstance(words, (list, tuple)) or not words:
        raise base.invalid(spelling, raw, TITLE, accepted)
    by_lower = {k.lower(): v for k, v in base.PROTOCOL_NAMES.items()}
    chosen = []
    for word in words:
        if not isinstance(word, str) or word.strip().lower() not in by_lower:
            raise base.invalid(spelling, raw, TITLE, accepted)
        chosen.append(by_lower[word.strip().lower()])
    order = list(base.PROTOCOL_NAMES.values())
    indexes = sorted({order.index(v) for v in chosen})
    if indexes != list(range(indexes[0], indexes[-1] + 1)):
        msg = (
            f"{spelling}={base.show(raw)} leaves a gap between versions; a TLS context can only "
            f"allow a range, so list every version between the lowest and the highest ({TITLE})"
        )
        raise ConfigurationError(msg)
    return tuple(order[i] for i in indexes)


def _parse_ssl_dict(spelling: str, raw: object, origin: Origin) -> dict[str, Any]:
    if isinstance(raw, ssl.SSLContext):
        msg = (
            f"{spelling}= is an ssl.SSLContext: trustresolve cannot read options from a "
            "context; pass it to the driver directly, or give the options (ssl_ca=...) instead"
        )
        raise ConfigurationError(msg)
    if origin != "kwargs" or not isinstance(raw, Mapping):
        raise base.invalid(spelling, raw, TITLE, f"a dict with keys {', '.join(_DICT_KEYS)}")
    unknown = [key for key in raw if key not in _DICT_KEYS]
    if unknown:
        msg = (
            f"{spelling}={{...}} has key {unknown[0]!r}, which trustresolve does not take "
            f"({TITLE}); accepted keys: {', '.join(_DICT_KEYS)}"
        )
        raise ConfigurationError(msg)
    return dict(raw)


OPTIONS = (
    Option("ssl_mode", "mode", base.choice(TITLE, {m: m for m in MODES})),
    Option("ssl_ca", "ca_file", base.file_path(TITLE)),
    Option("ssl_capath", "ca_path", base.directory_path(TITLE)),
    Option("ssl_cert", "cert_file", base.file_path(TITLE)),
    Option("ssl_key", "key_file", base.file_path(TITLE)),
    Option(
        "ssl_key_password",
        "password",
        base.secret_text(TITLE),
        secret=True,
        aliases=("ssl_password",),
    ),
    Option("ssl_crl", "crl_file", base.file_path(TITLE)),
    Option("ssl_crlpath", "crl_path", base.directory_path(TITLE)),
    Option("tls_version", "versions", _parse_versions),
    Option("ssl_verify_cert", "verify_cert", base.boolean(TITLE, _VERIFY_WORDS)),
    Option("ssl_verify_identity", "check_hostname", base.boolean(TITLE, _BOOL_WORDS)),
    Option("ssl_disabled", "disabled", base.boolean(TITLE, _BOOL_WORDS)),
    Option("ssl", "ssl_dict", _parse_ssl_dict),
)


def expand(items: tuple[tuple[str, object, Origin], ...]) -> list[tuple[str, object, Origin]]:
    """PyMySQL's ``ssl={'ca': ...}`` becomes one item per key, where the dict stood."""
    out: list[tuple[str, object, Origin]] = []
    for spelling, raw, origin in items:
        if normalize(spelling) == "ssl" and isinstance(raw, Mapping) and origin == "kwargs":
            _parse_ssl_dict(spelling, raw, origin)
            out.extend((f"{spelling}[{key!r}]", value, origin) for key, value in raw.items())
        else:
            out.append((spelling, raw, origin))
    return out


def dict_key_normalize(name: str) -> str:
    """``ssl['ca']`` is looked up as ``ssl_ca``; other names as MySQL spells them."""
    if name.startswith("ssl[") and name.endswith("]"):
        key = name[4:-1].strip("'\"")
        return _DICT_KEYS.get(key, name)
    return normalize(name)


def effective_mode(parsed: Parsed) -> str:
    """The mode, from ``ssl-mode``, ``ssl_disabled``, ``ssl_verify_*`` or the other options."""
    mode = parsed.get("ssl_mode")
    disabled = parsed.entry("ssl_disabled")
    verify_cert = parsed.entry("ssl_verify_cert")
    verify_identity = parsed.entry("ssl_verify_identity")
    if disabled is not None and disabled.value:
        if mode not in (None, "DISABLED"):
            _conflict(disabled.shown(), parsed.entry("ssl_mode"))
        return "DISABLED"
    if mode is not None:
        _check_flags_agree(parsed, mode)
        return str(mode)
    if verify_identity is not None and verify_identity.value:
        if verify_cert is not None and not verify_cert.value:
            msg = (
                f"{verify_identity.shown()} cannot be used with {verify_cert.shown()}: a host "
                f"name is only checked on a verified certificate ({TITLE})"
            )
            raise ConfigurationError(msg)
        return "VERIFY_IDENTITY"
    if verify_cert is not None:
        if not verify_cert.value:
            return "REQUIRED"
        return "VERIFY_CA" if verify_identity is not None else "VERIFY_IDENTITY"
    if verify_identity is not None:  # ssl_verify_identity=False alone
        return "VERIFY_CA"
    tls_options = [n for n in parsed.values if n not in ("ssl_disabled",)]
    return "VERIFY_IDENTITY" if tls_options else "PREFERRED"


def _check_flags_agree(parsed: Parsed, mode: str) -> None:
    wants = {
        "ssl_verify_cert": mode in _VERIFYING,
        "ssl_verify_identity": mode == "VERIFY_IDENTITY",
    }
    for name, expected in wants.items():
        entry = parsed.entry(name)
        if entry is not None and bool(entry.value) != expected:
            _conflict(entry.shown(), parsed.entry("ssl_mode"))


def _conflict(shown: str, mode: base.Value | None) -> None:
    mode_shown = mode.shown() if mode is not None else "ssl-mode"
    msg = (
        f"{shown} contradicts {mode_shown}; give one of them (ssl-mode accepts {', '.join(MODES)})"
    )
    raise ConfigurationError(msg)


def settle(parsed: Parsed) -> ContextSettings:
    mode = effective_mode(parsed)
    verifies = mode in _VERIFYING
    _check_key(parsed)
    _check_crl_needs_verification(parsed, mode, verifies)
    versions = parsed.get("tls_version")
    return ContextSettings(
        tls=mode != "DISABLED",
        verify_mode=ssl.CERT_REQUIRED if verifies else ssl.CERT_NONE,
        check_hostname=mode == "VERIFY_IDENTITY",
        # Below VERIFY_CA the MySQL client programs drop the CA too (sslopt-vars.h).
        ca_file=parsed.get("ssl_ca") if verifies else None,
        certificate_key_file=parsed.get("ssl_cert"),
        key_file=parsed.get("ssl_key"),
        passphrase=parsed.get("ssl_key_password"),
        crl_file=parsed.get("ssl_crl"),
        disable_ocsp_endpoint_check=True,
        disable_certificate_revocation_check=False,
        spellings=base.spellings(parsed, _BUILDER_SPELLINGS),
        ca_path=parsed.get("ssl_capath") if verifies else None,
        crl_path=parsed.get("ssl_crlpath"),
        crl_check_chain=True,  # MySQL: X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL
        minimum_version=versions[0] if versions else None,
        maximum_version=versions[-1] if versions else None,
        insecure_reason=None if verifies else _insecure_reason(parsed, mode),
    )


def _insecure_reason(parsed: Parsed, mode: str) -> str:
    ca = [parsed.spelling(n) for n in ("ssl_ca", "ssl_capath") if parsed.given(n)]
    unused = f"; {' and '.join(ca)} is not used below VERIFY_CA" if ca else ""
    return f"ssl-mode={mode}{unused}; use VERIFY_CA or VERIFY_IDENTITY"


def _check_key(parsed: Parsed) -> None:
    key = parsed.entry("ssl_key")
    if key is not None and not parsed.given("ssl_cert"):
        msg = f"{key.shown()} needs the certificate it belongs to: give ssl-cert too"
        raise ConfigurationError(msg)


def _check_crl_needs_verification(parsed: Parsed, mode: str, verifies: bool) -> None:
    for name in ("ssl_crl", "ssl_crlpath"):
        entry = parsed.entry(name)
        if entry is not None and not verifies and mode != "DISABLED":
            msg = (
                f"{entry.shown()} asks for revocation checks, but ssl-mode={mode} verifies "
                "nothing; use ssl-mode=VERIFY_IDENTITY (or VERIFY_CA)"
            )
            raise ConfigurationError(msg)


def driver_kwargs(parsed: Parsed, settings: ContextSettings) -> dict[str, Any]:
    """``pymysql.connect`` keywords: ``ssl=`` the context (PyMySQL and aiomysql take one).

    Not ``ssl_ca=``: PyMySQL's keyword alone encrypts without verifying, and it has no CRL or
    version options; the context carries all of them. PREFERRED becomes required TLS.
    """
    if not settings.tls:
        return {"ssl_disabled": True}
    from ..context import build_context

    return {"ssl": build_context(settings)}


DIALECT = Dialect(
    name="mysql",
    title=TITLE,
    schemes=("mysql", "mariadb"),
    options=OPTIONS,
    settle=settle,
    normalize=dict_key_normalize,
    expand=expand,
)
