"""The legacy ``ssl_*`` names keep the meaning PyMongo's documentation gave them.

One table: each row is a legacy option (URI or keyword form), the modern options it must equal,
and the deprecation warning it must give, exactly once. Then the rules across names: legacy and
modern names for one setting must agree, ``True``/``False`` are not cert_reqs values, and only
the names work for ``ssl_cert_reqs`` in a URI (architecture §4).
"""

from __future__ import annotations

import ssl
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from trustresolve._errors import ConfigurationError
from trustresolve._tls.options import TLSOptions

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class Row:
    legacy: dict[str, Any]  # keyword form; "PEM" stands for a readable file
    modern: dict[str, Any]  # the equivalent modern keywords
    warns: tuple[str, ...]  # legacy names that must warn, once each
    uri: str | None = None  # the same legacy options as a URI query, when a URI can say it


_USE = "use '{}' instead."
ROWS = {
    "cert_reqs CERT_NONE by name": Row(
        {"ssl": True, "ssl_cert_reqs": "CERT_NONE"},
        {"tls": True, "tlsAllowInvalidCertificates": True},
        ("ssl_cert_reqs",),
        "ssl=true&ssl_cert_reqs=CERT_NONE",
    ),
    "cert_reqs CERT_NONE constant": Row(
        {"ssl": True, "ssl_cert_reqs": ssl.CERT_NONE},
        {"tls": True, "tlsAllowInvalidCertificates": True},
        ("ssl_cert_reqs",),
    ),
    "cert_reqs 0": Row(
        {"ssl": True, "ssl_cert_reqs": 0},
        {"tls": True, "tlsAllowInvalidCertificates": True},
        ("ssl_cert_reqs",),
    ),
    "cert_reqs CERT_REQUIRED turns TLS on": Row(
        {"ssl_cert_reqs": "CERT_REQUIRED"},
        {"tlsAllowInvalidCertificates": False},
        ("ssl_cert_reqs",),
        "ssl_cert_reqs=CERT_REQUIRED",
    ),
    "cert_reqs CERT_REQUIRED constant": Row(
        {"ssl_cert_reqs": ssl.CERT_REQUIRED},
        {"tlsAllowInvalidCertificates": False},
        ("ssl_cert_reqs",),
    ),
    "match_hostname False": Row(
        {"ssl": True, "ssl_match_hostname": False},
        {"tls": True, "tlsAllowInvalidHostnames": True},
        ("ssl_match_hostname",),
        "ssl=true&ssl_match_hostname=false",
    ),
    "match_hostname True": Row(
        {"ssl_match_hostname": True},
        {"tlsAllowInvalidHostnames": False},
        ("ssl_match_hostname",),
        "ssl_match_hostname=true",
    ),
    "ca_certs": Row(
        {"ssl_ca_certs": "PEM"}, {"tlsCAFile": "PEM"}, ("ssl_ca_certs",), "ssl_ca_certs=PEM"
    ),
    "certfile": Row(
        {"ssl_certfile": "PEM"},
        {"tlsCertificateKeyFile": "PEM"},
        ("ssl_certfile",),
        "ssl_certfile=PEM",
    ),
    "certfile and keyfile": Row(
        {"ssl_certfile": "PEM", "ssl_keyfile": "PEM"},
        {"tlsCertificateKeyFile": "PEM", "ssl_keyfile": "PEM"},
        ("ssl_certfile", "ssl_keyfile"),
        "ssl_certfile=PEM&ssl_keyfile=PEM",
    ),
    "pem_passphrase": Row(
        {"ssl_certfile": "PEM", "ssl_pem_passphrase": "pw"},
        {"tlsCertificateKeyFile": "PEM", "tlsCertificateKeyFilePassword": "pw"},
        ("ssl_certfile", "ssl_pem_passphrase"),
        "ssl_certfile=PEM&ssl_pem_passphrase=pw",
    ),
    "crlfile": Row(
        {"ssl_crlfile": "PEM"}, {"tlsCRLFile": "PEM"}, ("ssl_crlfile",), "ssl_crlfile=PEM"
    ),
    "legacy and modern agreeing": Row(
        {"ssl_ca_certs": "PEM", "tlsCAFile": "PEM", "ssl_cert_reqs": "CERT_NONE", "tls": True},
        {"tlsCAFile": "PEM", "tlsAllowInvalidCertificates": True, "tls": True},
        ("ssl_ca_certs", "ssl_cert_reqs"),
        "ssl_ca_certs=PEM&tlsCAFile=PEM&ssl_cert_reqs=CERT_NONE&tls=true",
    ),
    "upper-case legacy name": Row(
        {"SSL_CA_CERTS": "PEM"}, {"tlsCAFile": "PEM"}, ("ssl_ca_certs",), "SSL_CA_CERTS=PEM"
    ),
}


@pytest.fixture
def pem(tmp_path: Path) -> str:
    path = tmp_path / "file.pem"
    path.write_text("placeholder")
    return str(path)


def _fill(options: dict[str, Any], pem: str) -> dict[str, Any]:
    return {k: pem if v == "PEM" else v for k, v in options.items()}


def _parse(build: Any) -> tuple[TLSOptions, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        options = build()
    return options, list(caught)


def _assert_warned_once_each(caught: list[warnings.WarningMessage], names: tuple[str, ...]) -> None:
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == len(names), [str(w.message) for w in caught]
    assert [w for w in caught if w not in deprecations] == []
    for name in names:
        (message,) = [str(w.message) for w in deprecations if f"'{name}'" in str(w.message)]
        modern = "tlsCertificateKeyFile" if name == "ssl_keyfile" else None
        assert modern is None or modern in message
        assert "deprecated" in message and "'tls" in message
    assert all(w.filename == __file__ for w in deprecations)


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_legacy_keywords_mean_their_modern_options(row: Row, pem: str) -> None:
    legacy, caught = _parse(lambda: TLSOptions.from_kwargs(**_fill(row.legacy, pem)))
    _assert_warned_once_each(caught, row.warns)
    modern, _ = _parse(lambda: TLSOptions.from_kwargs(**_fill(row.modern, pem)))  # ssl_keyfile
    assert legacy == modern
    assert legacy.as_dict() == modern.as_dict()


@pytest.mark.parametrize("row", [r for r in ROWS.values() if r.uri], ids=lambda r: r.uri)
def test_legacy_uri_options_mean_their_modern_options(row: Row, pem: str) -> None:
    assert row.uri is not None
    uri = f"mongodb://h/?{row.uri.replace('PEM', pem)}"
    legacy, caught = _parse(lambda: TLSOptions.from_uri(uri))
    _assert_warned_once_each(caught, row.warns)
    modern, _ = _parse(lambda: TLSOptions.from_kwargs(**_fill(row.modern, pem)))
    assert legacy == modern


def test_each_legacy_name_warns_once_even_when_given_twice(pem: str) -> None:
    # In the URI and again as a keyword: one warning, not two.
    _, caught = _parse(
        lambda: TLSOptions.from_uri(f"mongodb://h/?ssl_ca_certs={pem}", ssl_ca_certs=pem)
    )
    _assert_warned_once_each(caught, ("ssl_ca_certs",))


def test_specific_messages_name_the_modern_option(pem: str) -> None:
    _, caught = _parse(lambda: TLSOptions.from_kwargs(ssl_certfile=pem, ssl_keyfile=pem))
    messages = sorted(str(w.message) for w in caught)
    assert messages == [
        "Option 'ssl_certfile' is deprecated, use 'tlsCertificateKeyFile' instead.",
        "Option 'ssl_keyfile' is deprecated: put the private key in the certificate file and "
        "pass that one file as 'tlsCertificateKeyFile' instead.",
    ]


@pytest.mark.parametrize(
    ("legacy", "modern"),
    [
        ({"ssl_cert_reqs": "CERT_NONE"}, {"tlsAllowInvalidCertificates": False}),
        ({"ssl_cert_reqs": "CERT_OPTIONAL"}, {"tlsAllowInvalidCertificates": False}),
        ({"ssl_cert_reqs": ssl.CERT_REQUIRED}, {"tlsAllowInvalidCertificates": True}),
        ({"ssl_match_hostname": True}, {"tlsAllowInvalidHostnames": True}),
        ({"ssl_ca_certs": "OTHER"}, {"tlsCAFile": "PEM"}),
        ({"ssl_certfile": "OTHER"}, {"tlsCertificateKeyFile": "PEM"}),
        ({"ssl_crlfile": "OTHER"}, {"tlsCRLFile": "PEM"}),
        (
            {"ssl_certfile": "PEM", "ssl_pem_passphrase": "first-secret"},
            {"tlsCertificateKeyFilePassword": "second-secret"},
        ),
    ],
)
@pytest.mark.parametrize("form", ["kwargs", "uri"])
def test_legacy_and_modern_with_different_values_is_an_error(
    legacy: dict[str, Any], modern: dict[str, Any], form: str, pem: str, tmp_path: Path
) -> None:
    other = tmp_path / "other.pem"
    other.write_text("placeholder")
    values = {k: {"PEM": pem, "OTHER": str(other)}.get(v, v) for k, v in legacy.items()}
    values.update(_fill(modern, pem))
    if form == "uri":
        if any(not isinstance(v, str) for v in values.values()):
            values = {k: v if isinstance(v, str) else _uri_text(v) for k, v in values.items()}
        query = "&".join(f"{k}={v}" for k, v in values.items())
        build = lambda: TLSOptions.from_uri(f"mongodb://h/?{query}")  # noqa: E731
    else:
        build = lambda: TLSOptions.from_kwargs(**values)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ConfigurationError, match="conflicting values") as caught:
            build()
    (modern_name,) = [k for k in modern]
    (legacy_name,) = [k for k in legacy if k != "ssl_certfile"] or ["ssl_certfile"]
    assert modern_name in str(caught.value) and legacy_name in str(caught.value)
    assert "first-secret" not in str(caught.value)
    assert "second-secret" not in str(caught.value)


def _uri_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return {0: "CERT_NONE", 1: "CERT_OPTIONAL", 2: "CERT_REQUIRED"}[value]  # type: ignore[index]


@pytest.mark.parametrize("value", [True, False, 3, -1, "PROTOCOL_SSLv23", "cert_none", 2.0, b""])
def test_cert_reqs_refuses_what_is_not_a_cert_reqs_value(value: object) -> None:
    # True == 1 made PyMongo 3.x read ssl_cert_reqs=True as CERT_OPTIONAL; not here.
    with pytest.raises(ConfigurationError, match="CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED"):
        TLSOptions.from_kwargs(ssl_cert_reqs=value)


@pytest.mark.parametrize("value", ["0", "2", "true", "ssl.CERT_NONE"])
def test_cert_reqs_in_a_uri_takes_only_names(value: str) -> None:
    options, caught = _parse(lambda: TLSOptions.from_uri(f"mongodb://h/?ssl_cert_reqs={value}"))
    assert options.as_dict() == {}
    # ignored as invalid, and still a deprecated name
    assert sorted(w.category.__name__ for w in caught) == ["DeprecationWarning", "TLSOptionWarning"]
    assert all("ssl_cert_reqs" in str(w.message) for w in caught)


def test_cert_optional_is_kept_for_the_context() -> None:
    with pytest.warns(DeprecationWarning):
        options = TLSOptions.from_uri("mongodb://h/?ssl_cert_reqs=CERT_OPTIONAL")
    assert (options.tls, options.verify_mode) == (True, ssl.CERT_OPTIONAL)
    # no tls* name says CERT_OPTIONAL, so as_dict keeps the legacy one (and round-trips)
    assert options.as_dict() == {"ssl_cert_reqs": "CERT_OPTIONAL"}


def test_cert_none_alone_does_not_turn_tls_on() -> None:
    with pytest.warns(DeprecationWarning):
        assert TLSOptions.from_kwargs(ssl_cert_reqs="CERT_NONE").tls is False


@pytest.mark.parametrize(
    "pair",
    [
        {"tlsInsecure": True, "ssl_cert_reqs": "CERT_NONE"},
        {"tlsInsecure": False, "ssl_match_hostname": True},
        {"ssl_cert_reqs": "CERT_REQUIRED", "tlsDisableOCSPEndpointCheck": False},
        {"ssl_cert_reqs": "CERT_OPTIONAL", "tlsDisableCertificateRevocationCheck": True},
    ],
)
def test_legacy_names_count_in_the_conflict_rules(pair: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="cannot be given together"):
        TLSOptions.from_kwargs(**pair)


def test_keyfile_needs_a_certificate(pem: str) -> None:
    with pytest.raises(ConfigurationError, match=r"ssl_keyfile=.*needs the certificate"):
        TLSOptions.from_kwargs(ssl_keyfile=pem)


def test_no_warning_when_the_legacy_option_is_refused() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ConfigurationError):
            TLSOptions.from_kwargs(ssl_cert_reqs=True)
    assert caught == []
