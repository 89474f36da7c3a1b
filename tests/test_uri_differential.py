"""Differential: trustresolve never reads a MongoDB URI weaker than PyMongo does.

For every URI PyMongo's client accepts (``MongoClient(uri, connect=False)``: its own parser,
``uri_parser_shared._validate_uri`` with ``warn=True``, then ``client_options._parse_ssl_options``
building the context), :meth:`TLSOptions.from_uri` either raises ConfigurationError or gives
settings at least as secure: TLS on when PyMongo's is on, verification on when PyMongo's is,
hostname checking likewise (architecture §10).

The corpus is random (hypothesis): trailing white space, percent-encoded keys and values,
userinfo with '?', '@' and '/', '&'/';' mixes, repeated keys, case variations and unknown keys.
Not in it: ``mongodb+srv://`` (PyMongo resolves SRV records over DNS) and the PyMongo 3 legacy
names (``ssl_cert_reqs``...), which PyMongo 4 ignores and trustresolve honours as PyMongo 3.13
did, with a DeprecationWarning (see ``test_legacy_options.py``).
"""

from __future__ import annotations

import ssl
import warnings
from typing import NamedTuple

import pytest
import trustme
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from trustresolve import ConfigurationError, TLSOptions

pymongo = pytest.importorskip("pymongo")

_CA = {"file": ""}  # a readable CA file for tlsCAFile values; written by the fixture below


@pytest.fixture(scope="module", autouse=True)
def _ca_file(tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("differential") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    _CA["file"] = str(path)


class Reading(NamedTuple):
    tls: bool
    verify: bool
    check_hostname: bool


def pymongo_reading(uri: str) -> Reading | None:
    """What PyMongo's client builds for ``uri``, or ``None`` when it refuses the URI."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            client = pymongo.MongoClient(uri, connect=False)
        except Exception:  # PyMongo refuses it: no constraint on trustresolve
            return None
    try:
        pool = client.options.pool_options
        context = pool._ssl_context
        if context is None:
            return Reading(False, False, False)
        verify = context.verify_mode != ssl.CERT_NONE
        return Reading(True, verify, verify and not pool.tls_allow_invalid_hostnames)
    finally:
        client.close()


def trustresolve_reading(uri: str) -> Reading | None:
    """What trustresolve makes of ``uri``; ``None`` when it refuses it (always allowed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            options = TLSOptions.from_uri(uri)
        except ConfigurationError:
            return None
    verify = options.verify_mode != ssl.CERT_NONE
    return Reading(options.tls, verify, options.tls and options.check_hostname)


def assert_not_weaker(uri: str) -> None:
    theirs = pymongo_reading(uri)
    if theirs is None:
        return
    ours = trustresolve_reading(uri)
    if ours is None:
        return
    if theirs.tls:
        assert ours.tls, f"TLS off where PyMongo has it on: {uri!r}"
        if theirs.verify:
            assert ours.verify, f"verification off where PyMongo verifies: {uri!r}"
        if theirs.check_hostname:
            assert ours.check_hostname, f"no hostname check where PyMongo checks: {uri!r}"


# --- the corpus --------------------------------------------------------------------------------

_TLS_KEYS = (
    "tls",
    "ssl",
    "tlsInsecure",
    "tlsAllowInvalidCertificates",
    "tlsAllowInvalidHostnames",
    "tlsDisableOCSPEndpointCheck",
    "tlsDisableCertificateRevocationCheck",
    "tlsCAFile",
)
_OTHER_KEYS = ("appName", "authSource", "connectTimeoutMS", "tlsFoo", "sslx", "foo")
_BOOLS = ("true", "false", "TRUE", "True", "1", "0", "yes", "", "tr%75e", "%66alse", "t%72ue")
_ODD_VALUES = ("true%20", "%20true", "true+", "a@b", "x%3Dy", "CERT_NONE", "%74rue%0A")
_TLS_ON = ("tls=true", "ssl=true", "TLS=true", "tlsCAFile=CA")
_SPACES = ("", " ", "\n", "\r\n", "\t", "  ")


def _percent_encode_one(text: str, index: int) -> str:
    index %= len(text)
    return f"{text[:index]}%{ord(text[index]):02X}{text[index + 1 :]}"


@st.composite
def keys(draw: st.DrawFn) -> str:
    key = draw(st.sampled_from(_TLS_KEYS * 3 + _OTHER_KEYS))
    variant = draw(st.sampled_from(("same",) * 6 + ("lower", "upper", "swap", "percent", "plus")))
    if variant == "lower":
        return key.lower()
    if variant == "upper":
        return key.upper()
    if variant == "swap":
        return key.swapcase()
    if variant == "percent":
        return _percent_encode_one(key, draw(st.integers(0, 40)))
    if variant == "plus":
        return key + "+"
    return key


@st.composite
def values(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(("plain",) * 8 + ("bool", "bool", "odd", "path", "missing")))
    if kind == "plain":
        value = draw(st.sampled_from(("true", "false")))
    elif kind == "bool":
        value = draw(st.sampled_from(_BOOLS))
    elif kind == "odd":
        value = draw(st.sampled_from(_ODD_VALUES))
    elif kind == "path":
        value = _CA["file"]
    else:
        value = "/nonexistent/ca.pem"
    return value + draw(st.sampled_from(("",) * 12 + _SPACES))


_PASSWORDS = ("p", "p?x", "p@x", "p/x", "p%3Fx", "p?tls=false&x", "p?tlsInsecure=true", "p:q")


@st.composite
def uris(draw: st.DrawFn) -> str:
    userinfo = draw(st.sampled_from(("",) * 16 + tuple(f"u:{p}@" for p in _PASSWORDS) + ("u@",)))
    hosts = draw(st.sampled_from(("h", "h:27017", "h1,h2:27018", "[::1]:27017")))
    path = draw(st.sampled_from(("/", "/", "/db", "")))
    items = draw(
        st.lists(
            st.tuples(keys(), values()).map(lambda kv: f"{kv[0]}={kv[1]}"), min_size=0, max_size=5
        )
    )
    if draw(st.booleans()):  # most interesting URIs turn TLS on
        items.insert(draw(st.integers(0, len(items))), draw(st.sampled_from(_TLS_ON)))
    if items and draw(st.booleans()):
        items.append(items[draw(st.integers(0, len(items) - 1))])  # a repeated key
    separator = draw(st.sampled_from(("&",) * 6 + (";", ";", "mixed")))
    query = ""
    for index, item in enumerate(items):
        if index:
            query += draw(st.sampled_from(("&", ";", "&&"))) if separator == "mixed" else separator
        query += item
    question = "?" if query or draw(st.booleans()) else ""
    tail = draw(st.sampled_from(("",) * 4 + _SPACES))
    query = query.replace("tlsCAFile=CA", f"tlsCAFile={_CA['file']}")
    return f"mongodb://{userinfo}{hosts}{path}{question}{query}{tail}"


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(uris())
def test_never_weaker_than_pymongo(uri: str) -> None:
    assert_not_weaker(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb://h/?tls=true ",
        "mongodb://h/?tls=true\n",
        "mongodb://h?tls=true\r\n",
        "mongodb://h/?%74lsInsecure=true&tls=true",
        "mongodb://h/?tls=true&tlsAllowInvalid%43ertificates=true",
        "mongodb://u:p?x@host/?tls=true",
        "mongodb://u:p@host/?tls=true&tlsAllowInvalidHostnames=TRUE",
        "mongodb://h/?TLS=false&tls=true",
        "mongodb://h/?tls=true;tlsinsecure=false",
        "mongodb://h/?tls=true tlsInsecure=true",
    ],
)
def test_the_findings_are_not_weaker(uri: str) -> None:
    assert_not_weaker(uri)


def test_tls_on_with_trailing_white_space_is_read_as_pymongo_reads_it() -> None:
    uri = "mongodb://h/?tls=true\n"
    assert pymongo_reading(uri) == Reading(True, True, True)
    assert trustresolve_reading(uri) == Reading(True, True, True)


def test_the_corpus_reaches_uris_pymongo_accepts() -> None:
    """The property test compares something: the corpus holds URIs PyMongo accepts with TLS on,
    with verification off, and with hostname checks off."""
    # derandomize: the same examples every run, so the search cannot miss by bad luck.
    settings_ = settings(max_examples=1500, database=None, deadline=None, derandomize=True)
    for wanted in (
        Reading(True, True, True),
        Reading(True, False, False),
        Reading(True, True, False),
    ):
        found = find(uris(), lambda uri, w=wanted: pymongo_reading(uri) == w, settings=settings_)
        assert trustresolve_reading(found) in (None, wanted, Reading(True, True, True))
