"""Options integrity: URIs read never weaker than PyMongo, no secret in any message, weak crypto
only when asked for by name (architecture §10).

The URI cases here are the findings themselves; ``test_uri_differential.py`` checks the rule
against PyMongo's own parser over a random corpus.
"""

from __future__ import annotations

import contextlib
import datetime
import shutil
import ssl
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from hypothesis import example, given, settings
from hypothesis import strategies as st

import trustresolve
from support.servers import memory_handshake, pinned_store
from trustresolve import (
    ConfigurationError,
    InsecureContextWarning,
    TLSOptions,
    TrustResolveError,
    context_from_options,
)
from trustresolve._tls.options import OPTION_NAMES

SECRET = "Zq7SECRETpw"
OPENSSL = shutil.which("openssl")


def _quiet_options(uri: str, **kwargs: Any) -> TLSOptions:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TLSOptions.from_uri(uri, **kwargs)


# --- 1. URIs PyMongo reads more strictly -------------------------------------------------------


@pytest.mark.parametrize("tail", [" ", "\n", "\r\n", "\t", "  \n "])
def test_trailing_whitespace_keeps_tls_on(tail: str) -> None:
    """PyMongo reads ``?tls=true\\n`` as TLS on (it splits a one-option query on white space)."""
    assert _quiet_options(f"mongodb://h/?tls=true{tail}").tls is True
    # With separators PyMongo keeps it in the last value (then invalid): refused here.
    with pytest.raises(ConfigurationError, match="white space"):
        TLSOptions.from_uri(f"mongodb://h/?tlsInsecure=false&tls=true{tail}")


@pytest.mark.parametrize(
    "query",
    [
        "tls=true tlsInsecure=true",
        "tls=true  tlsAllowInvalidCertificates=true",
        "tls=tr ue",
        "tls=true\ttlsInsecure=true",
    ],
)
def test_white_space_inside_a_one_option_query_is_refused(query: str) -> None:
    with pytest.raises(ConfigurationError, match="white space"):
        TLSOptions.from_uri(f"mongodb://h/?{query}")


@pytest.mark.parametrize(
    "query", ["tls=true\n&tlsInsecure=false", "tls=true&x=1\x00&y=2", "tls=true\x00"]
)
def test_control_characters_inside_the_options_are_refused(query: str) -> None:
    with pytest.raises(ConfigurationError, match="control character"):
        TLSOptions.from_uri(f"mongodb://h/?{query}")


@pytest.mark.parametrize(
    "key", ["%74lsInsecure", "tls%49nsecure", "%74ls", "tlsAllowInvalid%43ertificates", "tls+x"]
)
def test_percent_encoded_option_names_are_refused_not_decoded(key: str) -> None:
    """PyMongo ignores ``%74lsInsecure`` (an unknown key); decoding it gave CERT_NONE."""
    with pytest.raises(ConfigurationError, match="option name") as caught:
        TLSOptions.from_uri(f"mongodb://h/?tls=true&{key}=true")
    assert key not in str(caught.value)


def test_percent_encoded_values_are_decoded_as_pymongo_does() -> None:
    options = _quiet_options("mongodb://h/?tls=tr%75e&tlsAllowInvalidHostnames=%66alse")
    assert options.tls is True and options.check_hostname is True


@pytest.mark.parametrize(
    "uri",
    [
        f"mongodb://u:{SECRET}?x@host/?tls=true",
        f"mongodb://u:p?{SECRET}@host/?tls=true",
        f"mongodb://u:p?tls=false&{SECRET}@host/?tls=true",
        f"mongodb://u:p/x?{SECRET}@host",
        f"mongodb://u@a:p?{SECRET}@host/?tls=true",
        f"mongodb://u@a:p?{SECRET}=1@host/?tls=true",
        f"mongodb://u@a:p?tls{SECRET}=1&tls=true@host/?tls=true",
    ],
)
def test_a_question_mark_in_the_userinfo_is_refused_without_quoting_it(uri: str) -> None:
    """The options were read from the password and TLS went off; PyMongo rejects these."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ConfigurationError) as error:
            TLSOptions.from_uri(uri)
    assert SECRET not in str(error.value)
    assert all(SECRET not in str(warning.message) for warning in caught)


def test_an_at_sign_in_a_value_must_be_percent_encoded(tmp_path: Path) -> None:
    ca = tmp_path / "a@b.pem"
    ca.write_text("placeholder")
    encoded = str(ca).replace("@", "%40")
    with pytest.raises(ConfigurationError, match="%40"):
        TLSOptions.from_uri(f"mongodb://h/?tlsCAFile={ca}")
    assert TLSOptions.from_uri(f"mongodb://h/?tlsCAFile={encoded}").ca_file == str(ca)
    # With credentials the '@' before the '?' is the userinfo's: the value keeps its raw '@'.
    assert TLSOptions.from_uri(f"mongodb://u:p@h/?tlsCAFile={ca}").ca_file == str(ca)


def test_an_option_with_two_equals_signs_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="one '='"):
        TLSOptions.from_uri("mongodb://h/?tls=true&tlsInsecure=false=x")


# --- 2. no secret in any repr, str, message or warning -----------------------------------------


def _collect_texts(action: Any) -> list[str]:
    texts = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = action()
        except ConfigurationError as exc:
            texts += [str(exc), repr(exc)]
        else:
            texts += [repr(result), str(result)]
            for name in ("_settings", "_source"):
                texts.append(repr(getattr(result, name, None)))
    texts += [str(warning.message) for warning in caught]
    return texts


def _bad_inputs(pem: str) -> list[Any]:
    pw = SECRET
    return [
        lambda: TLSOptions.from_uri(f"mongodb://u:{pw}@h/?tls=true&tlsInsecure=maybe"),
        lambda: TLSOptions.from_uri(f"mongodb://u:a?{pw}@h/?tls=true"),
        lambda: TLSOptions.from_uri(f"mongodb://u:a?{pw}"),
        lambda: TLSOptions.from_uri(f"mongodb://u:a?tls={pw}"),
        lambda: TLSOptions.from_uri(f"mongodb://u:a?tlsCAFile={pw}"),
        lambda: TLSOptions.from_uri(f"mongodb://u:a?tls{pw}=1"),
        lambda: TLSOptions.from_uri(f"mongodb://h/?tls{pw}=1&tls{pw}=2"),  # unknown: not named
        lambda: TLSOptions.from_uri(f"mongodb://u:a;{pw}&x?y@h/?tls=true"),
        lambda: TLSOptions.from_uri(f"mongodb://h/?tlsCertificateKeyFilePassword={pw}"),
        lambda: TLSOptions.from_uri(
            f"mongodb://h/?tlsCertificateKeyFile={pem}&tlsCertificateKeyFilePassword={pw}"
        ),
        lambda: TLSOptions.from_uri(
            f"mongodb://h/?ssl_pem_passphrase={pw}&tlsCertificateKeyFilePassword=other"
        ),
        lambda: TLSOptions.from_uri(
            f"mongodb://h/?tls=false&tlsCertificateKeyFilePassword={pw}&tlsCertificateKeyFile={pem}"
        ),
        lambda: TLSOptions.from_kwargs(tlsCertificateKeyFilePassword=pw.encode()),
        lambda: TLSOptions.from_kwargs(tlsCertificateKeyFile=pem, tlsCertificateKeyFilePassword=pw),
        lambda: TLSOptions.from_kwargs(
            tlsCertificateKeyFile=pem, ssl_pem_passphrase=pw, tlsCertificateKeyFilePassword="x"
        ),
        lambda: TLSOptions.from_kwargs(
            tls=False, tlsCertificateKeyFile=pem, tlsCertificateKeyFilePassword=pw
        ),
        lambda: context_from_options(
            tlsCertificateKeyFile=pem, tlsCertificateKeyFilePassword=pw, tlsInsecure=True
        ),
        lambda: context_from_options(
            tlsCertificateKeyFile=pem, tlsCertificateKeyFilePassword=pw * 100, tlsInsecure=True
        ),
    ]


def test_no_secret_in_any_message_repr_or_warning(tmp_path: Path) -> None:
    pem = tmp_path / "client.pem"
    ca = trustme.CA()
    leaf = ca.issue_cert("client.example")
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"the right one"),
    )
    pem.write_bytes(leaf.cert_chain_pems[0].bytes() + encrypted)
    texts: list[str] = []
    for action in _bad_inputs(str(pem)):
        texts += _collect_texts(action)
    assert len(texts) > 30  # the actions did produce messages and reprs to look at
    leaks = [text for text in texts if SECRET in text]
    assert leaks == []


# --- 3. minimum_version below TLS 1.2 ----------------------------------------------------------


def _weak_leaf(tmp_path: Path) -> tuple[str, ssl.SSLContext]:
    """A CA file and a TLS 1.2 server whose leaf is RSA-1024 signed with SHA-1."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "weak test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        # Python 3.13's VERIFY_X509_STRICT wants a CA key usage and key identifiers.
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    ca_key_file = tmp_path / "ca.key"
    ca_key_file.write_bytes(_pkcs8(ca_key))
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "weak.example")]))
        .sign(leaf_key, hashes.SHA256())
    )
    (tmp_path / "leaf.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "san.ext").write_text(
        "subjectAltName=DNS:weak.example\n"
        "authorityKeyIdentifier=keyid:always\nsubjectKeyIdentifier=hash\n"
    )
    # cryptography refuses to sign with SHA-1; the openssl tool still does.
    subprocess.run(
        [OPENSSL, "x509", "-req", "-sha1", "-days", "30", "-in", str(tmp_path / "leaf.csr"),
         "-CA", str(ca_file), "-CAkey", str(ca_key_file), "-CAcreateserial",
         "-extfile", str(tmp_path / "san.ext"), "-out", str(tmp_path / "leaf.crt")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    chain = tmp_path / "leaf.pem"
    chain.write_bytes((tmp_path / "leaf.crt").read_bytes() + _pkcs8(leaf_key))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.set_ciphers("DEFAULT:@SECLEVEL=0")  # so that the server may present the weak leaf
    server.minimum_version = ssl.TLSVersion.TLSv1_2
    server.load_cert_chain(str(chain))
    return str(ca_file), server


def _pkcs8(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _legacy_minimum() -> ssl.TLSVersion:
    return ssl.TLSVersion.TLSv1_1


@pytest.mark.skipif(OPENSSL is None, reason="the openssl binary is not installed")
@pytest.mark.skipif(
    "LibreSSL" in ssl.OPENSSL_VERSION or ssl.OPENSSL_VERSION_INFO < (1, 1, 0),
    reason="this ssl has no OpenSSL security levels",
)
def test_lowering_the_minimum_warns_and_does_what_the_warning_says(tmp_path: Path) -> None:
    ca_file, server = _weak_leaf(tmp_path)
    default = context_from_options(tlsCAFile=ca_file)
    assert default is not None
    refused = memory_handshake(default, server, "weak.example")
    assert isinstance(refused, ssl.SSLCertVerificationError)  # too small a key / SHA-1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lowered = context_from_options(tlsCAFile=ca_file, minimum_version=_legacy_minimum())
    assert lowered is not None
    insecure = [str(w.message) for w in caught if issubclass(w.category, InsecureContextWarning)]
    assert len(insecure) == 1
    assert "weak keys" in insecure[0] and "SHA-1" in insecure[0] and "TLS 1.2" in insecure[0]
    assert "TLSv1_1" in insecure[0]
    # The warning's claim: a TLS 1.2 handshake now accepts the RSA-1024/SHA-1 leaf.
    server.maximum_version = ssl.TLSVersion.TLSv1_2
    assert memory_handshake(lowered, server, "weak.example") is None
    # ...while it still refuses an attacker's CA: verification itself stays on.
    evil = trustme.CA().issue_cert("weak.example")
    evil_server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    evil.configure_cert(evil_server)
    assert isinstance(
        memory_handshake(lowered, evil_server, "weak.example"), ssl.SSLCertVerificationError
    )


def test_the_default_minimum_does_not_warn(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for version in (None, ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            assert context_from_options(tlsCAFile=str(ca_file), minimum_version=version)


def test_the_warning_points_at_the_caller(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with pytest.warns(InsecureContextWarning, match="weak keys|before 1.2") as caught:
        warnings.simplefilter("ignore", DeprecationWarning)
        context_from_options(tlsCAFile=str(ca_file), minimum_version=ssl.TLSVersion.TLSv1)
    assert any(Path(w.filename).name == Path(__file__).name for w in caught)


# --- 6. no raw exception types from any public call --------------------------------------------

_HOSTILE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 5),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.binary(max_size=20),
    st.sampled_from(
        ["true", "false", "CERT_NONE", "/nonexistent", "/dev/null", "/", ".", "a\0b", "\udcff"]
    ),
    st.builds(Path, st.sampled_from(["/nonexistent", "/", "/dev/null"])),
    st.lists(st.integers(), max_size=2),
    st.just(object()),
)
_HOSTILE_KEYS = st.one_of(
    st.sampled_from(OPTION_NAMES),
    st.sampled_from(OPTION_NAMES).map(str.upper),
    st.text(max_size=20),
)
_HOSTILE_VERSIONS = st.one_of(
    st.none(),
    st.sampled_from(list(ssl.TLSVersion)),
    st.integers(-2, 1000),
    st.text(max_size=8),
    st.just(object()),
)


@st.composite
def _hostile_uris(draw: st.DrawFn) -> object:
    if draw(st.integers(0, 9)) == 0:
        return draw(_HOSTILE_VALUES)  # not even a str
    text = draw(st.text(max_size=60))
    head = draw(st.sampled_from(["mongodb://", "mongodb+srv://", "MONGODB://", "", "http://"]))
    middle = draw(st.sampled_from(["", "h/?", "u:p@h/?", "h?", "u:p?x@h/?", "[::1]:1/?"]))
    return head + middle + text


def _only_trustresolve_errors(action: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # documented warnings; anything raised must be ours
        with contextlib.suppress(TrustResolveError):
            action()


# Not "uri": from_uri(uri, uri=...) is a call Python itself refuses (TypeError, "multiple values
# for argument 'uri'") before any of trustresolve's code runs; no TLS option has that name.
_HOSTILE_OPTION_KEYS = _HOSTILE_KEYS.filter(lambda key: key != "uri")


@settings(max_examples=300, deadline=None)
@given(
    uri=_hostile_uris(),
    options=st.dictionaries(_HOSTILE_OPTION_KEYS, _HOSTILE_VALUES, max_size=3),
)
@example(uri=None, options={"URI": None})  # the same word in another case is an option name
def test_from_uri_and_from_kwargs_raise_only_trustresolve_errors(
    uri: object, options: dict[str, object]
) -> None:
    _only_trustresolve_errors(lambda: TLSOptions.from_uri(uri, **options))  # type: ignore[arg-type]
    _only_trustresolve_errors(lambda: TLSOptions.from_kwargs(**options))
    _only_trustresolve_errors(lambda: TLSOptions.from_kwargs(tls=True).merged(**options))


@settings(max_examples=150, deadline=None)
@given(
    uri=_hostile_uris(),
    options=st.dictionaries(_HOSTILE_KEYS, _HOSTILE_VALUES, max_size=2),
    version=_HOSTILE_VERSIONS,
    native=st.one_of(st.booleans(), st.none(), st.integers(0, 2)),
)
def test_contexts_from_options_raise_only_trustresolve_errors(
    uri: object, options: dict[str, object], version: object, native: object
) -> None:
    # tlsInsecure keeps the store out of it (nothing is loaded without verification), so the
    # examples stay fast; the store-loading path is driven by the environment test below.
    _only_trustresolve_errors(
        lambda: trustresolve.context_from_uri(
            uri,  # type: ignore[arg-type]
            minimum_version=version,  # type: ignore[arg-type]
            native=native,  # type: ignore[arg-type]
            **{**options, "tlsInsecure": True},
        )
    )
    _only_trustresolve_errors(
        lambda: trustresolve.context_from_options(
            minimum_version=version,  # type: ignore[arg-type]
            **{**options, "tls": True, "tlsInsecure": True},
        )
    )


_VALID_PEM = trustme.CA().cert_pem.bytes()
_STORE_CONTENTS = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            b"-----BEGIN TRUSTED CERTIFICATE-----\nMAA=\n-----END TRUSTED CERTIFICATE-----\n",
            b"-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n",
            b"\xff\xfe\x00garbage",
        ]
    ),
)


@settings(max_examples=60, deadline=None)
@given(
    contents=st.tuples(st.booleans(), _STORE_CONTENTS).map(
        lambda pair: (_VALID_PEM if pair[0] else b"") + pair[1]  # a real CA, then the rest
    ),
    variable=st.sampled_from(["SSL_CERT_FILE", "TRUSTRESOLVE_CONFIG"]),
)
def test_the_store_functions_raise_only_trustresolve_errors(
    tmp_path_factory: pytest.TempPathFactory, contents: bytes, variable: str
) -> None:
    directory = tmp_path_factory.mktemp("hostile")
    path = directory / "store"
    path.write_bytes(contents)
    value = str(path)
    if variable == "TRUSTRESOLVE_CONFIG":
        (directory / "trustresolve.ini").write_bytes(b"[trustresolve]\ncafile = store\n")
        value = str(directory / "trustresolve.ini")
    try:
        with pinned_store({variable: value}):
            _only_trustresolve_errors(trustresolve.create_default_context)
            _only_trustresolve_errors(trustresolve.where)
            _only_trustresolve_errors(lambda: trustresolve.resolve(refresh=True))
            _only_trustresolve_errors(
                lambda: trustresolve.context_from_uri("mongodb://h/?tls=true")
            )
    except TrustResolveError:
        pass  # pinned_store resolves on entry: a refused store raises there
