"""The MongoDB dialect: PyMongo's TLS option table, value parsing, URI splitting and the
MongoDB URI options specification's conflict rules (architecture §4).

:class:`trustresolve.TLSOptions` (``options.py``) is the public face; this module turns a
``mongodb://`` URI or a keyword set into settled
:class:`~trustresolve._tls.settings.ContextSettings` the way PyMongo's ``uri_parser`` and
``common`` validators and ``_handle_security_options`` do, and never weaker. The other
families live in ``dialects/``.
"""

from __future__ import annotations

import difflib
import os
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote_plus

from .._errors import ConfigurationError, warn_caller
from .._switches import DRIVER_WORDS
from .settings import ContextSettings

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


__all__ = ["OPTION_NAMES", "TLSOptionWarning"]


ValueKind = Literal["bool", "path", "password", "cert_reqs"]
Origin = Literal["uri", "kwargs"]

_MASK = "'***'"  # what a passphrase looks like in every repr, str and message


class TLSOptionWarning(UserWarning):
    """A URI option was ignored: invalid or empty value, duplicate, or unknown ``tls``/``ssl`` key.

    The connection-string spec says an invalid URI value "MUST be ignored and MUST log a WARN";
    keyword arguments raise instead (architecture §4).
    """


@dataclass(frozen=True)
class _Spec:
    """One accepted option name and the setting it controls."""

    name: str  # canonical spelling
    setting: str  # the modern (tls*) setting it controls; legacy names share their modern one's
    kind: ValueKind
    modern: str | None = None  # for a legacy name: the name to use instead
    inverted: bool = False  # ssl_match_hostname=True means tlsAllowInvalidHostnames=False

    @property
    def legacy(self) -> bool:
        return self.modern is not None


_SPECS = (
    _Spec("tls", "tls", "bool"),
    # ``ssl`` is a silent alias (PyMongo 4.x, and "required to ensure that Atlas connection
    # strings continue to work"), so it carries no deprecation warning.
    _Spec("ssl", "tls", "bool"),
    _Spec("tlsInsecure", "tlsInsecure", "bool"),
    _Spec("tlsAllowInvalidCertificates", "tlsAllowInvalidCertificates", "bool"),
    _Spec("tlsAllowInvalidHostnames", "tlsAllowInvalidHostnames", "bool"),
    _Spec("tlsCAFile", "tlsCAFile", "path"),
    _Spec("tlsCertificateKeyFile", "tlsCertificateKeyFile", "path"),
    _Spec("tlsCertificateKeyFilePassword", "tlsCertificateKeyFilePassword", "password"),
    _Spec("tlsCRLFile", "tlsCRLFile", "path"),
    _Spec("tlsDisableOCSPEndpointCheck", "tlsDisableOCSPEndpointCheck", "bool"),
    _Spec("tlsDisableCertificateRevocationCheck", "tlsDisableCertificateRevocationCheck", "bool"),
    # Legacy names (PyMongo <= 3.13, architecture §4) keep their documented meaning.
    _Spec(
        "ssl_cert_reqs",
        "tlsAllowInvalidCertificates",
        "cert_reqs",
        modern="tlsAllowInvalidCertificates",
    ),
    _Spec(
        "ssl_match_hostname",
        "tlsAllowInvalidHostnames",
        "bool",
        modern="tlsAllowInvalidHostnames",
        inverted=True,
    ),
    _Spec("ssl_ca_certs", "tlsCAFile", "path", modern="tlsCAFile"),
    _Spec("ssl_certfile", "tlsCertificateKeyFile", "path", modern="tlsCertificateKeyFile"),
    # ssl_keyfile has no modern equivalent: PyMongo 4 wants the key inside tlsCertificateKeyFile.
    _Spec("ssl_keyfile", "ssl_keyfile", "path", modern="tlsCertificateKeyFile"),
    _Spec(
        "ssl_pem_passphrase",
        "tlsCertificateKeyFilePassword",
        "password",
        modern="tlsCertificateKeyFilePassword",
    ),
    _Spec("ssl_crlfile", "tlsCRLFile", "path", modern="tlsCRLFile"),
)
_BY_LOWER_NAME = {spec.name.lower(): spec for spec in _SPECS}
#: Every accepted option name, canonical spelling (matching is case-insensitive).
OPTION_NAMES: tuple[str, ...] = tuple(spec.name for spec in _SPECS)

# The options tlsInsecure stands for (spec: it "relaxes as much as possible"); and the pairs the
# spec forbids together, by presence (architecture §4, conflict rules 1-5).
_INSECURE_IMPLIES = (
    "tlsAllowInvalidCertificates",
    "tlsAllowInvalidHostnames",
    "tlsDisableOCSPEndpointCheck",
)
_EXCLUSIVE_PAIRS = (
    ("tlsInsecure", "tlsAllowInvalidCertificates"),
    ("tlsInsecure", "tlsAllowInvalidHostnames"),
    ("tlsInsecure", "tlsDisableOCSPEndpointCheck"),
    ("tlsInsecure", "tlsDisableCertificateRevocationCheck"),
    ("tlsAllowInvalidCertificates", "tlsDisableOCSPEndpointCheck"),
    ("tlsAllowInvalidCertificates", "tlsDisableCertificateRevocationCheck"),
    ("tlsDisableOCSPEndpointCheck", "tlsDisableCertificateRevocationCheck"),
)
_FILE_SETTINGS = (
    "tlsCAFile",
    "tlsCertificateKeyFile",
    "ssl_keyfile",
    "tlsCertificateKeyFilePassword",
    "tlsCRLFile",
)
_SECURE_WHEN_FALSE = (
    "tlsAllowInvalidHostnames",
    "tlsDisableOCSPEndpointCheck",
    "tlsDisableCertificateRevocationCheck",
)
_CERT_REQS_NAMES = {
    "CERT_NONE": ssl.CERT_NONE,
    "CERT_OPTIONAL": ssl.CERT_OPTIONAL,
    "CERT_REQUIRED": ssl.CERT_REQUIRED,
}
_SCHEMES = ("mongodb://", "mongodb+srv://")


class _InvalidValue(Exception):
    """A value the option does not accept; a URI warns and drops it, keywords raise."""


@dataclass(frozen=True, repr=False)  # the generated repr would show a passphrase
class _Entry:
    """One option as given: the caller's spelling, the raw value and the validated setting value.

    ``value`` is in the setting's terms: bools for tls* booleans (already inverted for
    ssl_match_hostname), an ``ssl.VerifyMode`` for tlsAllowInvalidCertificates (so CERT_OPTIONAL
    survives), a path or passphrase string. ``None`` only for a keyword given as ``None``,
    which removes the setting when merged.
    """

    spelling: str
    spec: _Spec
    raw: object
    value: Any

    def shown(self) -> str:
        """``spelling=value`` for messages, never showing a passphrase."""
        if self.spec.kind == "password":
            return f"{self.spelling}={_MASK}"
        if isinstance(self.raw, str):
            return f"{self.spelling}={self.raw}"
        return f"{self.spelling}={self.raw!r}"

    def __repr__(self) -> str:
        return f"_Entry({self.shown()})"


@dataclass
class _Source:
    """The options of one URI or one keyword set, validated, by setting."""

    origin: Origin
    entries: dict[str, _Entry]
    present: dict[str, _Entry]  # incl. URI options whose value was invalid (presence rules)
    legacy: list[_Spec]


# --- values ------------------------------------------------------------------------------------


def _parse_bool(spelling: str, raw: object, origin: Origin) -> bool:
    # PyMongo's validate_boolean_or_string: a real bool, or exactly "true"/"false". 1, "1",
    # "yes" and "TRUE" are refused (architecture §4).
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw in DRIVER_WORDS:
        return DRIVER_WORDS[raw]
    accepted = (
        "true or false" if origin == "uri" else "True or False (or the strings 'true'/'false')"
    )
    raise _InvalidValue(f"{spelling}={_show_raw(raw)} is not valid: {spelling} must be {accepted}")


def _parse_cert_reqs(spelling: str, raw: object, origin: Origin) -> ssl.VerifyMode:
    # architecture §4: the names work everywhere, the ssl constants (ints 0-2) only
    # as keywords. True/False are refused, although True == 1 made PyMongo 3.x accept them.
    if isinstance(raw, str) and raw in _CERT_REQS_NAMES:
        return _CERT_REQS_NAMES[raw]
    if (
        origin == "kwargs"
        and isinstance(raw, int)
        and not isinstance(raw, bool)
        and raw in (0, 1, 2)
    ):
        return ssl.VerifyMode(raw)
    accepted = "CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED"
    if origin == "kwargs":
        accepted += " (by name, or ssl.CERT_NONE, ssl.CERT_OPTIONAL, ssl.CERT_REQUIRED)"
    raise _InvalidValue(f"{spelling}={_show_raw(raw)} is not valid: {spelling} must be {accepted}")


def _parse_password(spelling: str, raw: object) -> str:
    if isinstance(raw, str):
        return raw
    # The value is never shown: a passphrase of the wrong type is still a passphrase.
    raise _InvalidValue(f"{spelling} must be a string, not {type(raw).__name__}")


def _parse_path(spelling: str, raw: object) -> str:
    if isinstance(raw, os.PathLike):
        raw = os.fspath(raw)
    if not isinstance(raw, str):
        raise _InvalidValue(
            f"{spelling}={_show_raw(raw)} is not valid: {spelling} must be a path (str), "
            f"not {type(raw).__name__}"
        )
    _check_readable(spelling, raw)
    return raw


def _check_readable(spelling: str, path: str) -> None:
    """Files are checked at parse time (like PyMongo's ``validate_readable``), contents later.

    A missing file is an error even in a URI: ignoring it would silently verify against
    another store than the one the caller named.
    """
    try:
        with open(path, "rb"):
            pass
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        msg = f"{spelling}: cannot read {path!r}: {reason}; {spelling} must name a readable file"
        raise ConfigurationError(msg) from None


def _show_raw(raw: object) -> str:
    return raw if isinstance(raw, str) else repr(raw)


def _validate(spec: _Spec, spelling: str, raw: object, origin: Origin) -> Any:
    if spec.kind == "bool":
        flag = _parse_bool(spelling, raw, origin)
        if spec.setting == "tlsAllowInvalidCertificates":
            # One domain for this setting and ssl_cert_reqs, so CERT_OPTIONAL can be told apart.
            return ssl.CERT_NONE if flag else ssl.CERT_REQUIRED
        return not flag if spec.inverted else flag
    if spec.kind == "cert_reqs":
        return _parse_cert_reqs(spelling, raw, origin)
    if spec.kind == "password":
        return _parse_password(spelling, raw)
    return _parse_path(spelling, raw)


# --- collecting one URI or keyword set ---------------------------------------------------------


def _collect(items: Iterable[tuple[str, object]], origin: Origin) -> _Source:
    source = _Source(origin, {}, {}, [])
    for spelling, raw in items:
        spec = _BY_LOWER_NAME.get(spelling.lower())
        if spec is None:
            _unknown_option(spelling, origin)
            continue
        if spec.legacy and spec not in source.legacy:
            source.legacy.append(spec)
        if raw is None:  # keywords only: "remove this setting" when merged over a URI
            source.entries[spec.setting] = _Entry(spelling, spec, raw, None)
            continue
        entry = _Entry(spelling, spec, raw, None)
        source.present.setdefault(spec.setting, entry)
        try:
            entry = _Entry(spelling, spec, raw, _validate(spec, spelling, raw, origin))
        except _InvalidValue as exc:
            if origin == "kwargs":
                raise ConfigurationError(str(exc)) from None
            warn_caller(f"{exc}; the option is ignored", TLSOptionWarning)
            continue
        _add_entry(source, entry)
    return source


def _add_entry(source: _Source, entry: _Entry) -> None:
    """Two names for one setting (tls/ssl, a legacy and its modern name) must agree."""
    earlier = source.entries.get(entry.spec.setting)
    source.present[entry.spec.setting] = earlier or entry
    if earlier is None or earlier.value is None:
        source.entries[entry.spec.setting] = entry
        return
    if earlier.value == entry.value:
        return
    if entry.spec.setting == "tls":
        what = "ssl and tls are aliases and must have the same value"
    else:
        what = f"both set {entry.spec.setting}; give one of them, or the same value to both"
    msg = f"conflicting values {earlier.shown()} and {entry.shown()}: {what}"
    raise ConfigurationError(msg)


def _unknown_option(spelling: str, origin: Origin) -> None:
    suggestion = difflib.get_close_matches(spelling.lower(), list(_BY_LOWER_NAME), n=1)
    hint = f" (did you mean {_BY_LOWER_NAME[suggestion[0]].name}?)" if suggestion else ""
    if origin == "kwargs":
        msg = f"unknown TLS option {spelling!r}{hint}; accepted: {', '.join(OPTION_NAMES)}"
        raise ConfigurationError(msg)
    # Only keys that look like TLS options reach here from a URI (see _split_query). The key is
    # not named: it may be credential text (as PyMongo says in uri_parser_shared).
    if _looks_like_tls(spelling):
        warn_caller(f"an unknown TLS option in the URI is ignored{hint}", TLSOptionWarning)


# --- URIs --------------------------------------------------------------------------------------


def _split_uri(uri: object) -> tuple[bool, list[tuple[str, str]]]:
    """``(is_srv, [(key, decoded value), ...])``; hosts, credentials and database are ignored.

    The URI itself is never quoted in a message: it may hold a password.
    """
    if not isinstance(uri, str):
        msg = f"a MongoDB URI must be a str, not {type(uri).__name__}"
        raise ConfigurationError(msg)
    scheme = next((s for s in _SCHEMES if uri[: len(s)].lower() == s), None)
    if scheme is None:
        msg = "a MongoDB URI must start with mongodb:// or mongodb+srv://"
        raise ConfigurationError(msg)
    # The connection-string spec makes '?' reserved before the options (it must be
    # percent-encoded in credentials), and allows the '/' before it to be missing.
    before, _, query = uri[len(scheme) :].partition("?")
    _refuse_credentials_in_query(before, query)
    return scheme == "mongodb+srv://", _split_query(query)


def _refuse_credentials_in_query(before: str, query: str) -> None:
    """A raw '?' in the user name or password would make its tail the options (architecture §10).

    PyMongo (``uri_parser_shared._validate_uri``) splits at the first '?' too, so the tail
    would be read as options, and quoted in messages. An '@' after the '?' with none before
    it is that case, or a raw '@' in an option value: both must be percent-encoded.
    """
    if "@" in query and "@" not in before:
        msg = (
            "the URI has an '@' after its '?' but none before it: a '?' in the user name or "
            "password must be percent-encoded as %3F (and an '@' in an option value as %40)"
        )
        raise ConfigurationError(msg)
    hosts = before.partition("/")[0].rpartition("@")[2]
    if not all(_port_is_numeric(host) for host in hosts.split(",")):
        # "mongodb://user:pa?ss" puts the password's head where a port belongs.
        msg = (
            "the URI's host list has a port that is not a number: a ':', '?' or '@' in the "
            "user name or password must be percent-encoded (%3A, %3F, %40)"
        )
        raise ConfigurationError(msg)


def _port_is_numeric(host: str) -> bool:
    """``host``, ``host:27017`` or ``[::1]:27017``; PyMongo's ``parse_host`` refuses the rest."""
    if host.startswith("["):
        port = host.partition("]")[2]
        return port == "" or (port[:1] == ":" and port[1:].isdigit())
    if ":" not in host:
        return True
    port = host.partition(":")[2]
    return port.isascii() and port.isdigit()


def _split_query(query: str) -> list[tuple[str, str]]:
    if "&" in query and ";" in query:
        msg = "URI options are separated by '&' or by ';', and the two cannot be mixed"
        raise ConfigurationError(msg)
    query = _one_option_query(query)
    separator = ";" if ";" in query else "&"
    pairs: dict[str, tuple[str, str]] = {}
    for item in query.split(separator):
        if not item:
            continue
        key, value = _split_item(item)
        # Other MongoDB options (authMechanism, readPreferenceTags, which may repeat...) are
        # left to the driver; only TLS options and keys that look like them are read here.
        if not _looks_like_tls(key):
            continue
        if key.lower() in pairs:
            shown = repr(key) if key.lower() in _BY_LOWER_NAME else "(an unknown TLS option)"
            warn_caller(f"duplicate URI option {shown}: the last value is used", TLSOptionWarning)
            del pairs[key.lower()]  # keep the order of the last occurrence
        pairs[key.lower()] = (key, value)
    return [(key, unquote_plus(value)) for key, value in pairs.values() if _has_value(key, value)]


def _one_option_query(query: str) -> str:
    """The query as PyMongo reads it, or refused where reading it differently would be unsafe.

    Without '&' or ';', ``uri_parser_shared.split_options`` splits on white space
    (``str.split(None)``): ``tls=true`` and a line end is ``tls=true`` there (trimmed, as
    here), and ``tls=true tlsInsecure=true`` two options, which is refused. With separators
    PyMongo keeps white space in values (paths may have spaces), so a pasted line end would
    make the last value invalid and silently ignored: white space around the whole query is
    refused then, and control characters are refused everywhere.
    """
    if "&" in query or ";" in query:
        if query != query.strip():
            msg = (
                "the URI ends (or its options start) with white space, which would become part "
                "of an option's value; remove it"
            )
            raise ConfigurationError(msg)
        _refuse_control_characters(query)
        return query
    words = query.split()
    if len(words) <= 1:
        _refuse_control_characters(words[0] if words else "")
        return words[0] if words else ""
    key = words[0].partition("=")[0]
    named = _BY_LOWER_NAME[key.lower()].name if key.lower() in _BY_LOWER_NAME else "an option"
    msg = (
        f"the URI's one option ({named}) has white space in it, which drivers read as a "
        "separator when there is no '&' or ';'; percent-encode it (a space as %20)"
    )
    raise ConfigurationError(msg)


def _refuse_control_characters(query: str) -> None:
    if any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in query):
        msg = "the URI's options contain a control character (a line break or tab?); remove it"
        raise ConfigurationError(msg)


def _split_item(item: str) -> tuple[str, str]:
    """``key=value`` with the key as written: PyMongo never percent-decodes option names.

    A key that is not a plain option name (``%74lsInsecure``, or text from a password) is
    refused and not quoted: a driver would ignore it while this module, decoding it, would not.
    """
    key, equals, value = item.partition("=")
    if not equals or not key or "=" in value:
        msg = (
            "URI options are key=value pairs with one '=' each (an '=' in a value must be "
            "percent-encoded as %3D); the URI has an option that is not"
        )
        raise ConfigurationError(msg)
    if not all(char.isascii() and (char.isalnum() or char == "_") for char in key):
        msg = (
            "a URI option name must be letters, digits and '_' only, written out (option names "
            "are not percent-decoded); the URI has one that is not"
        )
        raise ConfigurationError(msg)
    return key, value


def _looks_like_tls(key: str) -> bool:
    return key.lower().startswith(("tls", "ssl"))


def _has_value(key: str, value: str) -> bool:
    # Connection-string spec: "an empty value means the key is ignored".
    if value == "" and key.lower() in _BY_LOWER_NAME:
        warn_caller(f"URI option {key!r} has an empty value and is ignored", TLSOptionWarning)
    return value != ""


# --- merging, conflicts, and what the options mean ---------------------------------------------


def _merge(base: _Source, override: _Source) -> _Source:
    """Keyword arguments override URI options, setting by setting (architecture §4)."""
    merged = _Source(override.origin, dict(base.entries), dict(base.present), [])
    for setting, entry in override.entries.items():
        merged.entries.pop(setting, None)
        merged.present.pop(setting, None)
        if entry.value is not None:
            merged.entries[setting] = entry
    for setting, entry in override.present.items():
        merged.present.setdefault(setting, entry)
    merged.legacy = base.legacy + [spec for spec in override.legacy if spec not in base.legacy]
    return merged


def _check_exclusive(present: Mapping[str, _Entry]) -> None:
    """Presence, not value, decides (spec tests: ``tlsInsecure=false&tlsAllowInvalid...=false``)."""
    for first, second in _EXCLUSIVE_PAIRS:
        if first in present and second in present:
            a, b = present[first], present[second]
            why = (
                "tlsInsecure already sets tlsAllowInvalidCertificates, "
                "tlsAllowInvalidHostnames and tlsDisableOCSPEndpointCheck"
                if first == "tlsInsecure"
                else "one already decides the other"
            )
            msg = (
                f"{a.spelling} and {b.spelling} cannot be given together "
                f"({a.shown()}, {b.shown()}): {why}; keep only one "
                "(MongoDB URI options spec, conflicting TLS options)"
            )
            raise ConfigurationError(msg)


def _value(source: _Source, setting: str) -> Any:
    entry = source.entries.get(setting)
    return None if entry is None else entry.value


def _check_revocation(source: _Source) -> None:
    """A CRL turns on revocation checking; nothing may turn verification off next to it.

    PyMongo's rule (architecture §4, conflict rule 3) and the OCSP spec's SHOULD, applied to
    typed values from URIs too, plus tlsDisableCertificateRevocationCheck, which contradicts a CRL
    outright.
    """
    crl = source.entries.get("tlsCRLFile")
    if crl is None or crl.value is None:
        return
    if _value(source, "tlsInsecure") is True:
        _refuse_with_crl(source.entries["tlsInsecure"], crl, "turns verification off")
    if _value(source, "tlsDisableOCSPEndpointCheck") is True:
        _refuse_with_crl(
            source.entries["tlsDisableOCSPEndpointCheck"], crl, "turns revocation checks off"
        )
    if _value(source, "tlsAllowInvalidCertificates") == ssl.CERT_NONE:
        _refuse_with_crl(
            source.entries["tlsAllowInvalidCertificates"], crl, "turns verification off"
        )
    if _value(source, "tlsDisableCertificateRevocationCheck") is True:
        _refuse_with_crl(
            source.entries["tlsDisableCertificateRevocationCheck"],
            crl,
            "turns revocation checks off",
        )


def _refuse_with_crl(entry: _Entry, crl: _Entry, effect: str) -> None:
    msg = (
        f"{entry.shown()} cannot be used with {crl.spelling}={crl.value}: it {effect}, "
        f"while {crl.spelling} asks for revocation checking; remove one of them"
    )
    raise ConfigurationError(msg)


def _tls_implied_by(source: _Source) -> list[_Entry]:
    """Options that turn TLS on when ``tls`` is not given (architecture §4; options.rst).

    A file or a non-empty passphrase, or a verification option on its *secure* side (False, or
    CERT_REQUIRED/CERT_OPTIONAL): asking for checks only makes sense with TLS.
    """
    # An empty passphrase does not count (PyMongo: "any non-null value").
    implied = [source.entries[s] for s in _FILE_SETTINGS if _value(source, s)]
    reqs = source.entries.get("tlsAllowInvalidCertificates")
    if reqs is not None and reqs.value is not None and reqs.value != ssl.CERT_NONE:
        implied.append(reqs)
    implied += [source.entries[s] for s in _SECURE_WHEN_FALSE if _value(source, s) is False]
    if _value(source, "tlsInsecure") is False:
        implied.append(source.entries["tlsInsecure"])
    return implied


def _tls_enabled(source: _Source, srv: bool) -> bool:
    explicit = _value(source, "tls")
    implied = _tls_implied_by(source)
    if explicit is False and implied:
        tls = source.entries["tls"]
        msg = (
            f"TLS is off ({tls.shown()}) but these TLS options are set: "
            f"{', '.join(entry.shown() for entry in implied)}; "
            f"set {tls.spelling}=true or remove them"
        )
        raise ConfigurationError(msg)
    if explicit is not None:
        return bool(explicit)
    # mongodb+srv requires TLS (connection-string spec) unless tls/ssl says otherwise.
    return srv or bool(implied)


def _check_key_file(source: _Source) -> None:
    key = source.entries.get("ssl_keyfile")
    if key is not None and key.value is not None and not _value(source, "tlsCertificateKeyFile"):
        msg = (
            f"{key.shown()} needs the certificate it belongs to: give ssl_certfile or "
            "tlsCertificateKeyFile too (or put certificate and key in one tlsCertificateKeyFile)"
        )
        raise ConfigurationError(msg)


def _settle(source: _Source, srv: bool) -> ContextSettings:
    _check_exclusive(source.present)
    _check_revocation(source)
    _check_key_file(source)
    tls = _tls_enabled(source, srv)
    insecure = _value(source, "tlsInsecure") is True
    verify_mode = _value(source, "tlsAllowInvalidCertificates")
    if insecure:
        verify_mode = ssl.CERT_NONE  # tlsInsecure expands to its three options (architecture §4)
    if verify_mode is None:
        verify_mode = ssl.CERT_REQUIRED
    check_hostname = verify_mode != ssl.CERT_NONE and not (
        insecure or _value(source, "tlsAllowInvalidHostnames") is True
    )
    return ContextSettings(
        tls=tls,
        verify_mode=verify_mode,
        check_hostname=check_hostname,
        ca_file=_value(source, "tlsCAFile"),
        certificate_key_file=_value(source, "tlsCertificateKeyFile"),
        key_file=_value(source, "ssl_keyfile"),
        passphrase=_value(source, "tlsCertificateKeyFilePassword"),
        crl_file=_value(source, "tlsCRLFile"),
        # tlsAllowInvalidCertificates=true implies it (PyMongo, OCSP spec "MUST turn OCSP off").
        disable_ocsp_endpoint_check=bool(
            insecure
            or verify_mode == ssl.CERT_NONE
            or _value(source, "tlsDisableOCSPEndpointCheck")
        ),
        disable_certificate_revocation_check=bool(
            _value(source, "tlsDisableCertificateRevocationCheck")
        ),
        spellings={setting: entry.spelling for setting, entry in source.entries.items()},
    )


def _emit_deprecations(legacy: Iterable[_Spec]) -> None:
    """One DeprecationWarning per legacy name per call, however often the name appears."""
    for spec in legacy:
        if spec.name == "ssl_keyfile":
            text = (
                "Option 'ssl_keyfile' is deprecated: put the private key in the certificate "
                "file and pass that one file as 'tlsCertificateKeyFile' instead."
            )
        else:
            text = f"Option {spec.name!r} is deprecated, use {spec.modern!r} instead."
        warn_caller(text, DeprecationWarning)
