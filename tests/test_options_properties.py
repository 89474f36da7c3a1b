"""Property tests: any URI or keyword set parses or raises ConfigurationError, never anything else.

Strategies mix well-formed options with hostile text (separators, percent escapes, NUL bytes,
surrogates, huge and odd-typed values), and real files with missing ones, so that every branch
of the parser is reached, not only the happy path.
"""

from __future__ import annotations

import ssl
import string
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustresolve._errors import ConfigurationError
from trustresolve._tls.options import OPTION_NAMES, TLSOptions

EXISTING = str(Path(__file__).resolve())  # a readable file that is always there
MISSING = str(Path(__file__).resolve().parent / "no-such-file.pem")

names = st.one_of(
    st.sampled_from(OPTION_NAMES),
    st.sampled_from(OPTION_NAMES).map(str.upper),
    st.sampled_from(OPTION_NAMES).map(str.lower),
    st.sampled_from(["tlsCAFlie", "sslx", "authMechanism", "w", "replicaSet"]),
    st.text(min_size=1, max_size=12),
)
text_values = st.one_of(
    st.sampled_from(
        [
            *("true", "false", "TRUE", "1", "0", "", "yes"),
            *("CERT_NONE", "CERT_OPTIONAL", "CERT_REQUIRED", "PROTOCOL_SSLv23"),
            *(EXISTING, MISSING, "/", "\0", "%00", "%ZZ"),
        ]
    ),
    st.text(max_size=30),
    st.text(alphabet=string.printable, max_size=30),
)
keyword_values = st.one_of(
    text_values,
    st.booleans(),
    st.none(),
    st.integers(min_value=-3, max_value=5),
    st.sampled_from([ssl.CERT_NONE, ssl.CERT_OPTIONAL, ssl.CERT_REQUIRED, Path(EXISTING)]),
    st.floats(allow_nan=True),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.builds(object),
)


@st.composite
def uris(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["mongodb://", "mongodb+srv://", "MongoDB://", "http://", ""]))
    host = draw(st.sampled_from(["h", "u:p%40@h:1,h2", "%2Ftmp%2Fm.sock", "", "h/db"]))
    separator = draw(st.sampled_from(["&", ";", "&;"]))
    pairs = draw(st.lists(st.tuples(names, text_values), max_size=6))
    encode = draw(st.booleans())
    items = [f"{key}={quote_plus(value) if encode else value}" for key, value in pairs]
    tail = draw(st.sampled_from(["", "&", "=", "?x", "#frag"]))
    query = separator.join(items) + tail
    return f"{scheme}{host}/?{query}" if draw(st.booleans()) else f"{scheme}{host}?{query}"


def _quietly(build: Any) -> TLSOptions | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return build()  # type: ignore[no-any-return]
        except ConfigurationError:
            return None


@given(uri=uris())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_any_uri_parses_or_raises_configuration_error(uri: str) -> None:
    options = _quietly(lambda: TLSOptions.from_uri(uri))
    if options is not None:
        _assert_consistent(options)


@given(uri=st.text(max_size=80))
def test_any_text_parses_or_raises_configuration_error(uri: str) -> None:
    _quietly(lambda: TLSOptions.from_uri(uri))


@given(kwargs=st.dictionaries(names, keyword_values, max_size=6))
@settings(max_examples=400)
def test_any_keywords_parse_or_raise_configuration_error(kwargs: dict[str, Any]) -> None:
    options = _quietly(lambda: TLSOptions.from_kwargs(**kwargs))
    if options is not None:
        _assert_consistent(options)


@given(
    uri=uris(),
    kwargs=st.dictionaries(st.sampled_from(OPTION_NAMES), keyword_values, max_size=4),
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_any_uri_with_keywords_parses_or_raises_configuration_error(
    uri: str, kwargs: dict[str, Any]
) -> None:
    options = _quietly(lambda: TLSOptions.from_uri(uri, **kwargs))
    if options is not None:
        _assert_consistent(options)


@given(obj=st.one_of(st.none(), st.integers(), st.binary(), st.builds(object)))
def test_non_string_uri_is_a_configuration_error(obj: object) -> None:
    assert _quietly(lambda: TLSOptions.from_uri(obj)) is None  # type: ignore[arg-type]


def _assert_consistent(options: TLSOptions) -> None:
    """What every accepted option set must satisfy."""
    # Nothing that turns verification off sits next to a CRL, and CERT_NONE never checks names.
    if options.crl_file:
        assert options.verify_mode != ssl.CERT_NONE
        assert not options.disable_certificate_revocation_check
    if options.verify_mode == ssl.CERT_NONE:
        assert not options.check_hostname
        assert options.disable_ocsp_endpoint_check
    # A passphrase never shows, and as_dict round-trips through keywords.
    if options.certificate_key_file_password is not None:
        assert "tlsCertificateKeyFilePassword='***'" in repr(options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = TLSOptions.from_kwargs(**options.as_dict())
    assert again.as_dict() == options.as_dict()
    assert (again.verify_mode, again.check_hostname) == (
        options.verify_mode,
        options.check_hostname,
    )
