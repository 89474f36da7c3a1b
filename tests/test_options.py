"""TLSOptions: URI parsing, keyword validation, conflicts, implicit TLS, merging.

The spec's own cases are in test_spec_tls.py and the legacy names in test_legacy_options.py;
these cover the rest of architecture §4.
"""

from __future__ import annotations

import ssl
import warnings
from typing import TYPE_CHECKING, Any

import pytest

from trustresolve._errors import ConfigurationError
from trustresolve._tls.options import OPTION_NAMES, TLSOptions, TLSOptionWarning

if TYPE_CHECKING:
    from pathlib import Path

SECRET = "s3cr3t-passphrase"


@pytest.fixture
def pem(tmp_path: Path) -> str:
    """A readable file; parsing only checks that files can be opened."""
    path = tmp_path / "some file.pem"
    path.write_text("placeholder")
    return str(path)


def parse_quietly(uri: str, **kwargs: Any) -> tuple[TLSOptions, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        options = TLSOptions.from_uri(uri, **kwargs)
    return options, [str(w.message) for w in caught]


# --- URIs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb://example.com/?tls=true&tlsAllowInvalidHostnames=true",
        "mongodb://example.com/?tls=true;tlsAllowInvalidHostnames=true",
        "mongodb://example.com?tls=true&tlsAllowInvalidHostnames=true",
        "MONGODB://example.com/?TLS=true&TLSALLOWINVALIDHOSTNAMES=true",
        "mongodb://user:p%40ss@a.example:27017,b.example:27018/admin?tls=true&replicaSet=rs"
        "&tlsallowinvalidhostnames=true&authSource=admin",
        "mongodb://%2Ftmp%2Fmongodb-27017.sock/?tls=true&tlsAllowInvalidHostnames=true",
    ],
    ids=["ampersand", "semicolon", "no-slash", "upper-case", "hosts-credentials-others", "socket"],
)
def test_uri_forms_parse_to_the_same_options(uri: str) -> None:
    options, warned = parse_quietly(uri)
    assert warned == []
    assert options.as_dict() == {"tls": True, "tlsAllowInvalidHostnames": True}
    assert (options.tls, options.check_hostname) == (True, False)


def test_mixed_separators_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="cannot be mixed"):
        TLSOptions.from_uri("mongodb://h/?tls=true&tlsInsecure=true;ssl=true")


def test_values_are_url_decoded(tmp_path: Path) -> None:
    path = tmp_path / "a dir+x" / "ca file%.pem"
    path.parent.mkdir()
    path.write_text("placeholder")
    encoded = str(path).replace("%", "%25").replace("+", "%2B").replace(" ", "+")
    options, _ = parse_quietly(f"mongodb://h/?tlsCAFile={encoded}")
    assert options.ca_file == str(path)


def test_passphrase_is_url_decoded_and_never_shown() -> None:
    options, _ = parse_quietly("mongodb://h/?tlsCertificateKeyFilePassword=a%26b%3Dc+d")
    assert options.certificate_key_file_password == "a&b=c d"
    assert "a&b=c d" not in repr(options) and "a&b" not in str(options)
    assert "tlsCertificateKeyFilePassword='***'" in repr(options)


@pytest.mark.parametrize(
    "uri", ["postgres://h/?tls=true", "h/?tls=true", "", "mongodb:/h?tls=true"]
)
def test_only_mongodb_schemes(uri: str) -> None:
    with pytest.raises(ConfigurationError, match="mongodb://"):
        TLSOptions.from_uri(uri)


def test_uri_is_never_echoed_it_may_hold_a_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        TLSOptions.from_uri("mysql://admin:hunter2@h/?tls=true")
    assert "hunter2" not in str(caught.value)


def test_option_without_equals_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="key=value"):
        TLSOptions.from_uri("mongodb://h/?tls")


def test_srv_turns_tls_on_unless_told_otherwise() -> None:
    assert TLSOptions.from_uri("mongodb+srv://cluster.example.net/").tls is True
    assert TLSOptions.from_uri("mongodb+srv://cluster.example.net/?ssl=false").tls is False
    assert TLSOptions.from_uri("mongodb+srv://cluster.example.net/", tls=False).tls is False
    assert TLSOptions.from_uri("mongodb://cluster.example.net/").tls is False


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("tls=yes", "tls must be true or false"),
        ("tls=TRUE", "tls must be true or false"),
        ("tlsInsecure=1", "tlsInsecure must be true or false"),
        ("tlsDisableOCSPEndpointCheck=no", "tlsDisableOCSPEndpointCheck must be true or false"),
        ("tls=", "empty value"),
        ("tlsCAFlie=x", "did you mean tlsCAFile"),
        ("tls=true&TLS=false", "duplicate URI option 'TLS'"),
    ],
)
def test_bad_uri_values_warn_and_are_ignored(query: str, fragment: str) -> None:
    with pytest.warns(TLSOptionWarning, match=fragment) as caught:
        options = TLSOptions.from_uri(f"mongodb://h/?{query}")
    assert caught[0].filename == __file__
    assert options.as_dict() in ({}, {"tls": False})


def test_duplicate_keeps_the_last_value() -> None:
    with pytest.warns(TLSOptionWarning):
        options = TLSOptions.from_uri("mongodb://h/?tls=false&tls=true")
    assert options.tls is True


def test_other_drivers_options_are_ignored_silently() -> None:
    options, warned = parse_quietly(
        "mongodb://h/?readPreferenceTags=dc:ny&readPreferenceTags=&w=majority&appName=x"
    )
    assert (warned, options.as_dict()) == ([], {})


def test_missing_file_in_a_uri_is_an_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigurationError, match="cannot read") as caught:
        TLSOptions.from_uri(f"mongodb://h/?tlsCAFile={missing}")
    assert str(missing) in str(caught.value) and "tlsCAFile" in str(caught.value)


def test_directory_is_not_a_readable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="tlsCRLFile"):
        TLSOptions.from_kwargs(tlsCRLFile=str(tmp_path))


# --- keyword arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"tls": 1}, "tls=1 is not valid: tls must be True or False"),
        ({"tls": "yes"}, "tls=yes is not valid"),
        ({"tlsAllowInvalidCertificates": None, "tlsInsecure": 0}, "tlsInsecure=0"),
        ({"tlsCAFile": True}, "tlsCAFile=True is not valid: tlsCAFile must be a path"),
        ({"tlsCAFile": ""}, "cannot read ''"),
        ({"tlsCertificateKeyFilePassword": 1234}, "must be a string, not int"),
        ({"tlsCAFlie": "x"}, "unknown TLS option 'tlsCAFlie' \\(did you mean tlsCAFile\\?\\)"),
        ({"minimumVersion": "TLSv1"}, "unknown TLS option 'minimumVersion'"),
    ],
)
def test_invalid_keywords_raise(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        TLSOptions.from_kwargs(**kwargs)


def test_keyword_names_are_case_insensitive(pem: str) -> None:
    options = TLSOptions.from_kwargs(TLS="true", TLSCAFILE=pem, tlsallowinvalidhostnames=True)
    assert options.as_dict() == {"tls": True, "tlsCAFile": pem, "tlsAllowInvalidHostnames": True}
    assert options.spelling("tlsCAFile") == "TLSCAFILE"


def test_wrong_type_passphrase_is_not_shown() -> None:
    with pytest.raises(ConfigurationError) as caught:
        TLSOptions.from_kwargs(tlsCertificateKeyFilePassword=b"bytes-secret")
    assert "bytes-secret" not in str(caught.value)


def test_path_like_values_are_accepted(tmp_path: Path, pem: str) -> None:
    from pathlib import Path as RealPath

    assert TLSOptions.from_kwargs(tlsCAFile=RealPath(pem)).ca_file == pem


# --- conflicts ---------------------------------------------------------------------------------

_EXCLUSIVE = [
    ("tlsInsecure", "tlsAllowInvalidCertificates"),
    ("tlsInsecure", "tlsAllowInvalidHostnames"),
    ("tlsInsecure", "tlsDisableOCSPEndpointCheck"),
    ("tlsInsecure", "tlsDisableCertificateRevocationCheck"),
    ("tlsAllowInvalidCertificates", "tlsDisableOCSPEndpointCheck"),
    ("tlsAllowInvalidCertificates", "tlsDisableCertificateRevocationCheck"),
    ("tlsDisableOCSPEndpointCheck", "tlsDisableCertificateRevocationCheck"),
]


@pytest.mark.parametrize(("first", "second"), _EXCLUSIVE)
@pytest.mark.parametrize("values", [(True, True), (True, False), (False, True), (False, False)])
def test_exclusive_pairs_as_keywords(first: str, second: str, values: tuple[bool, bool]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        TLSOptions.from_kwargs(**{first: values[0], second: values[1]})
    assert first in str(caught.value) and second in str(caught.value)
    assert f"{first}={values[0]}" in str(caught.value)


@pytest.mark.parametrize(("first", "second"), _EXCLUSIVE)
def test_exclusive_pairs_across_uri_and_keywords(first: str, second: str) -> None:
    # architecture §4: the conflict rules run again on the merged set.
    with pytest.raises(ConfigurationError, match=f"{second}.*cannot be given together|{first}"):
        TLSOptions.from_uri(f"mongodb://h/?{first}=false", **{second: False})


def test_exclusive_presence_counts_even_an_invalid_uri_value() -> None:
    # PyMongo checks the raw strings before validating them; so does the spec.
    with pytest.raises(ConfigurationError, match="tlsInsecure"), pytest.warns(TLSOptionWarning):
        TLSOptions.from_uri("mongodb://h/?tlsInsecure=bogus&tlsAllowInvalidHostnames=true")


def test_keyword_none_removes_a_uri_option_and_its_conflict(pem: str) -> None:
    options = TLSOptions.from_uri(
        f"mongodb://h/?tlsInsecure=true&tlsCAFile={pem}",
        tlsInsecure=None,
        tlsAllowInvalidHostnames=True,
    )
    assert options.as_dict() == {"tlsCAFile": pem, "tlsAllowInvalidHostnames": True}
    assert options.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    ("uri", "kwargs", "expected"),
    [
        ("tls=true", {"tls": False}, False),
        ("ssl=true", {"tls": False}, False),
        ("tls=false", {"ssl": True}, True),
    ],
)
def test_keywords_override_uri_options(uri: str, kwargs: dict[str, Any], expected: bool) -> None:
    assert TLSOptions.from_uri(f"mongodb://h/?{uri}", **kwargs).tls is expected


def test_tls_and_ssl_must_agree_in_keywords_too() -> None:
    with pytest.raises(ConfigurationError, match="tls=True and ssl=False"):
        TLSOptions.from_kwargs(tls=True, ssl=False)
    assert TLSOptions.from_kwargs(tls=True, ssl="true").tls is True


@pytest.mark.parametrize(
    "conflicting",
    [
        {"tlsInsecure": True},
        {"tlsAllowInvalidCertificates": True},
        {"tlsDisableOCSPEndpointCheck": True},
        {"tlsDisableCertificateRevocationCheck": True},
        {"ssl_cert_reqs": "CERT_NONE"},
    ],
)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_crl_file_refuses_options_that_turn_checks_off(
    pem: str, conflicting: dict[str, Any]
) -> None:
    with pytest.raises(ConfigurationError, match="tlsCRLFile") as caught:
        TLSOptions.from_kwargs(tlsCRLFile=pem, **conflicting)
    (name,) = conflicting
    assert name in str(caught.value)
    # ...also from a URI, which PyMongo misses (its check only sees typed values).
    with pytest.raises(ConfigurationError, match="tlsCRLFile"):
        TLSOptions.from_uri(f"mongodb://h/?tlsCRLFile={pem}", **conflicting)


@pytest.mark.parametrize(
    "compatible",
    [
        {"tlsInsecure": False},
        {"tlsAllowInvalidCertificates": False},
        {"tlsDisableOCSPEndpointCheck": False},
        {"tlsDisableCertificateRevocationCheck": False},
        {"tlsAllowInvalidHostnames": True},
    ],
)
def test_crl_file_allows_the_secure_side(pem: str, compatible: dict[str, Any]) -> None:
    assert TLSOptions.from_kwargs(tlsCRLFile=pem, **compatible).crl_file == pem


# --- implicit TLS ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "tls"),
    [
        ({}, False),
        ({"tlsCAFile": "PEM"}, True),
        ({"tlsCertificateKeyFile": "PEM"}, True),
        ({"tlsCRLFile": "PEM"}, True),
        ({"tlsCertificateKeyFilePassword": "x"}, True),
        ({"tlsCertificateKeyFilePassword": ""}, False),
        ({"tlsAllowInvalidCertificates": False}, True),
        ({"tlsAllowInvalidCertificates": True}, False),
        ({"tlsAllowInvalidHostnames": False}, True),
        ({"tlsAllowInvalidHostnames": True}, False),
        ({"tlsDisableOCSPEndpointCheck": False}, True),
        ({"tlsDisableOCSPEndpointCheck": True}, False),
        ({"tlsDisableCertificateRevocationCheck": False}, True),
        ({"tlsDisableCertificateRevocationCheck": True}, False),
        ({"tlsInsecure": False}, True),
        ({"tlsInsecure": True}, False),
    ],
)
def test_implicit_tls(pem: str, kwargs: dict[str, Any], tls: bool) -> None:
    kwargs = {k: pem if v == "PEM" else v for k, v in kwargs.items()}
    assert TLSOptions.from_kwargs(**kwargs).tls is tls


def test_tls_false_with_tls_options_is_an_error_naming_them(pem: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        TLSOptions.from_uri(
            f"mongodb://h/?ssl=false&tlsCAFile={pem}&tlsAllowInvalidHostnames=false"
        )
    message = str(caught.value)
    assert "ssl=false" in message and f"tlsCAFile={pem}" in message
    assert "tlsAllowInvalidHostnames=false" in message
    # Options on the insecure side do not turn TLS on, so they do not conflict with tls=false.
    assert TLSOptions.from_kwargs(tls=False, tlsInsecure=True).tls is False


def test_tls_insecure_expands_to_what_it_stands_for() -> None:
    options = TLSOptions.from_kwargs(tls=True, tlsInsecure=True)
    assert options.verify_mode == ssl.CERT_NONE
    assert options.check_hostname is False
    assert options.disable_ocsp_endpoint_check is True
    assert options.as_dict() == {"tls": True, "tlsInsecure": True}  # given, not expanded


def test_allow_invalid_certificates_implies_no_ocsp() -> None:
    assert TLSOptions.from_kwargs(tlsAllowInvalidCertificates=True).disable_ocsp_endpoint_check


def test_revocation_check_option_is_parsed() -> None:
    options = TLSOptions.from_uri("mongodb://h/?tls=true&tlsDisableCertificateRevocationCheck=true")
    assert options.disable_certificate_revocation_check is True


# --- as_dict, repr, equality, merging ----------------------------------------------------------


def test_as_dict_round_trips_through_keywords(pem: str) -> None:
    options = TLSOptions.from_uri(
        f"mongodb://h/?ssl=true&tlsCAFile={pem}&tlsCertificateKeyFilePassword={SECRET}"
        "&tlsAllowInvalidHostnames=true&tlsDisableOCSPEndpointCheck=false"
    )
    assert options.as_dict() == {
        "tls": True,
        "tlsCAFile": pem,
        "tlsCertificateKeyFilePassword": SECRET,
        "tlsAllowInvalidHostnames": True,
        "tlsDisableOCSPEndpointCheck": False,
    }
    assert TLSOptions.from_kwargs(**options.as_dict()) == options


def test_repr_and_str_never_show_the_passphrase(pem: str) -> None:
    options = TLSOptions.from_kwargs(
        tlsCertificateKeyFile=pem, tlsCertificateKeyFilePassword=SECRET
    )
    for text in (repr(options), str(options), f"{options}", f"{options!r}"):
        assert SECRET not in text
        assert "'***'" in text and pem in text
    assert SECRET not in repr(options.merged(tlsAllowInvalidHostnames=True))


def test_messages_never_show_the_passphrase(pem: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        TLSOptions.from_kwargs(
            tls=False, tlsCertificateKeyFile=pem, tlsCertificateKeyFilePassword=SECRET
        )
    assert SECRET not in str(caught.value)
    assert "tlsCertificateKeyFilePassword='***'" in str(caught.value)


def test_merged_overrides_and_rechecks(pem: str) -> None:
    base = TLSOptions.from_uri(f"mongodb://h/?tlsAllowInvalidCertificates=false&tlsCAFile={pem}")
    assert base.merged(tlsAllowInvalidHostnames=True).check_hostname is False
    with pytest.raises(ConfigurationError, match="tlsInsecure"):
        base.merged(tlsInsecure=True)
    assert base.merged(tlsCAFile=None).ca_file is None
    assert base.ca_file == pem  # immutable


def test_empty_options_mean_tls_off() -> None:
    options = TLSOptions()
    assert (options.tls, options.as_dict(), options.create_context()) == (False, {}, None)
    assert options == TLSOptions.from_kwargs() == TLSOptions.from_uri("mongodb://h")
    assert options != "TLSOptions()"


def test_option_names_are_every_documented_name() -> None:
    assert set(OPTION_NAMES) == {
        "tls",
        "ssl",
        "tlsInsecure",
        "tlsAllowInvalidCertificates",
        "tlsAllowInvalidHostnames",
        "tlsCAFile",
        "tlsCertificateKeyFile",
        "tlsCertificateKeyFilePassword",
        "tlsCRLFile",
        "tlsDisableOCSPEndpointCheck",
        "tlsDisableCertificateRevocationCheck",
        "ssl_cert_reqs",
        "ssl_ca_certs",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_pem_passphrase",
        "ssl_crlfile",
        "ssl_match_hostname",
    }


def test_options_are_not_hashable() -> None:
    with pytest.raises(TypeError):
        hash(TLSOptions())
