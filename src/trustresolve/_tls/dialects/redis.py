"""Redis TLS options as redis-py names them (``ssl_cert_reqs``, ``ssl_ca_certs``, ...).

``rediss://`` (or ``ssl=True``) turns TLS on. redis-py itself quietly ignores every ``ssl_*``
option when TLS is off; here that is an error, so a URI with ``redis://`` cannot drop the
verification its options ask for.
"""

from __future__ import annotations

import ssl
from typing import Any

from ..._errors import ConfigurationError
from ..settings import ContextSettings
from . import base
from .base import Dialect, Option, Origin, Parsed

__all__ = ["CERT_REQS", "DIALECT", "driver_kwargs", "settle"]

TITLE = "Redis (redis-py)"
CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}
_BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
_BUILDER_SPELLINGS = {
    "tlsCAFile": "ssl_ca_certs",
    "ca_path": "ssl_ca_path",
    "ca_data": "ssl_ca_data",
    "tlsCertificateKeyFile": "ssl_certfile",
    "ssl_keyfile": "ssl_keyfile",
    "tlsCertificateKeyFilePassword": "ssl_password",
}


def _parse_cert_reqs(spelling: str, raw: object, origin: Origin) -> ssl.VerifyMode:
    # redis-py matches the lower-case words exactly; a keyword may also be an ssl.VerifyMode.
    if isinstance(raw, ssl.VerifyMode) and origin == "kwargs":
        return raw
    if isinstance(raw, str) and raw in CERT_REQS:
        return CERT_REQS[raw]
    raise base.invalid(spelling, raw, TITLE, "one of none, optional, required")


def _parse_min_version(spelling: str, raw: object, origin: Origin) -> ssl.TLSVersion:
    """An ``ssl.TLSVersion``; in a URL its number (771 = TLS 1.2, as redis-py's ``int``) or name."""
    allowed = {v.value: v for v in base.PROTOCOL_NAMES.values()}
    if isinstance(raw, ssl.TLSVersion) and raw in allowed.values():
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        if text.isdigit() and int(text) in allowed:
            return allowed[int(text)]
        by_name = {v.name.lower(): v for v in allowed.values()}
        by_name.update({k.lower(): v for k, v in base.PROTOCOL_NAMES.items()})
        if text.lower() in by_name:
            return by_name[text.lower()]
    accepted = "ssl.TLSVersion.TLSv1_2 or TLSv1_3 (in a URL: TLSv1_2, TLSv1.2 or 771)"
    raise base.invalid(spelling, raw, TITLE, accepted)


def _parse_ca_data(spelling: str, raw: object, origin: Origin) -> str | bytes:
    if isinstance(raw, (str, bytes)) and raw:
        return raw
    raise base.invalid(spelling, raw, TITLE, "PEM text (str) or DER bytes")


def _parse_ssl(spelling: str, raw: object, origin: Origin) -> bool:
    if origin == "uri":
        msg = f"{spelling}= is not a URL option for {TITLE}: use the rediss:// scheme for TLS"
        raise ConfigurationError(msg)
    return bool(base.boolean(TITLE, _BOOL_WORDS)(spelling, raw, origin))


OPTIONS = (
    Option("ssl", "tls", _parse_ssl),
    Option("ssl_cert_reqs", "verify_cert", _parse_cert_reqs),
    Option("ssl_check_hostname", "check_hostname", base.boolean(TITLE, _BOOL_WORDS)),
    Option("ssl_ca_certs", "ca_file", base.file_path(TITLE)),
    Option("ssl_ca_path", "ca_path", base.directory_path(TITLE)),
    Option("ssl_ca_data", "ca_data", _parse_ca_data),
    Option("ssl_certfile", "cert_file", base.file_path(TITLE)),
    Option("ssl_keyfile", "key_file", base.file_path(TITLE)),
    Option("ssl_password", "password", base.secret_text(TITLE), secret=True),
    Option("ssl_min_version", "min_version", _parse_min_version),
)


def tls_enabled(parsed: Parsed) -> bool:
    explicit = parsed.get("ssl")
    tls = bool(explicit) if explicit is not None else bool(parsed.scheme_tls)
    if not tls:
        others = [v.shown() for n, v in parsed.values.items() if n != "ssl"]
        if others:
            how = "ssl=False" if explicit is False else "redis:// (no TLS)"
            msg = (
                f"TLS is off ({how}) but these TLS options are set: {', '.join(others)}; "
                "use rediss:// (or ssl=True) or remove them"
            )
            raise ConfigurationError(msg)
    return tls


def settle(parsed: Parsed) -> ContextSettings:
    tls = tls_enabled(parsed)
    reqs = parsed.get("ssl_cert_reqs")
    verify_mode = ssl.CERT_REQUIRED if reqs is None else reqs
    hostname = parsed.entry("ssl_check_hostname")
    if verify_mode == ssl.CERT_NONE and hostname is not None and hostname.value:
        msg = (
            f"{hostname.shown()} cannot be used with ssl_cert_reqs=none: a host name is only "
            "checked on a verified certificate; use ssl_cert_reqs=required"
        )
        raise ConfigurationError(msg)
    key = parsed.entry("ssl_keyfile")
    if key is not None and not parsed.given("ssl_certfile"):
        msg = f"{key.shown()} needs the certificate it belongs to: give ssl_certfile too"
        raise ConfigurationError(msg)
    check_hostname = verify_mode != ssl.CERT_NONE and (hostname is None or bool(hostname.value))
    return ContextSettings(
        tls=tls,
        verify_mode=verify_mode,
        check_hostname=check_hostname,
        ca_file=parsed.get("ssl_ca_certs"),
        certificate_key_file=parsed.get("ssl_certfile"),
        key_file=parsed.get("ssl_keyfile"),
        passphrase=parsed.get("ssl_password"),
        crl_file=None,
        disable_ocsp_endpoint_check=True,
        disable_certificate_revocation_check=False,
        spellings=base.spellings(parsed, _BUILDER_SPELLINGS),
        ca_path=parsed.get("ssl_ca_path"),
        ca_data=parsed.get("ssl_ca_data"),
        minimum_version=parsed.get("ssl_min_version"),
        insecure_reason="ssl_cert_reqs=none",
    )


_CERT_REQS_WORDS = {mode: word for word, mode in CERT_REQS.items()}


def driver_kwargs(parsed: Parsed, settings: ContextSettings) -> dict[str, Any]:
    """``redis.Redis`` keywords (redis-py takes no SSLContext), every TLS setting explicit.

    With no CA named, ``ssl_ca_certs`` is :func:`trustresolve.where`. redis-py *adds* its CAs
    to ``ssl.create_default_context()``'s store; that part cannot be switched off from outside.
    """
    if not settings.tls:
        return {"ssl": False}
    kwargs: dict[str, Any] = {
        "ssl": True,
        "ssl_cert_reqs": _CERT_REQS_WORDS[settings.verify_mode],
        "ssl_check_hostname": settings.check_hostname,
        "ssl_min_version": settings.minimum_version or ssl.TLSVersion.TLSv1_2,
    }
    for name in ("ssl_ca_certs", "ssl_ca_path", "ssl_ca_data"):
        if parsed.given(name):
            kwargs[name] = parsed.get(name)
    if settings.verify_mode != ssl.CERT_NONE and not (
        settings.ca_file or settings.ca_path or settings.ca_data
    ):
        from ..._store.resolve import where

        kwargs["ssl_ca_certs"] = where()
    for name in ("ssl_certfile", "ssl_keyfile", "ssl_password"):
        if parsed.given(name):
            kwargs[name] = parsed.get(name)
    return kwargs


DIALECT = Dialect(
    name="redis",
    title=TITLE,
    schemes=("rediss", "redis"),
    options=OPTIONS,
    settle=settle,
)
