""" "never weaker by accident": bad input never turns verification off.

Every case builds a real context and proves it with a handshake against a server whose CA
the context does not trust: the handshake must fail.
"""

from __future__ import annotations

import ssl
import sys
import warnings
from pathlib import Path

import pytest
import trustme

from support.servers import memory_handshake
from trustresolve import ConfigurationError, TLSOptions, context_from_uri


@pytest.fixture(scope="module")
def untrusted_server() -> ssl.SSLContext:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme.CA().issue_cert("db.example").configure_cert(server)
    return server


@pytest.fixture(scope="module")
def own_ca_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def _handshake_fails(client: ssl.SSLContext, server: ssl.SSLContext) -> bool:
    return memory_handshake(client, server, "db.example") is not None


INVALID_INSECURE_VALUES = [
    "tlsAllowInvalidCertificates=invalid",
    "tlsAllowInvalidCertificates=yes",
    "tlsAllowInvalidCertificates=1",
    "tlsAllowInvalidCertificates=TRUE",
    "tlsInsecure=on",
    "tlsInsecure=",
    "tlsAllowInvalidHostnames=maybe",
    "ssl_cert_reqs=0",  # only the names are valid in a URI
    "ssl_cert_reqs=CERT_NON",
    "ssl_cert_reqs=PROTOCOL_SSLv23",  # an ssl attribute whose value happens to be 2
    "ssl_match_hostname=no",
]


@pytest.mark.parametrize("query", INVALID_INSECURE_VALUES)
def test_invalid_insecure_value_in_a_uri_leaves_verification_on(
    query: str, own_ca_file: str, untrusted_server: ssl.SSLContext
) -> None:
    uri = f"mongodb://db.example/?tls=true&tlsCAFile={own_ca_file}&{query}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warnings themselves are tested elsewhere
        context = context_from_uri(uri)
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert _handshake_fails(context, untrusted_server)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tlsAllowInvalidCertificates": "invalid"},
        {"tlsAllowInvalidCertificates": 1},
        {"tlsInsecure": "yes"},
        {"ssl_cert_reqs": True},  # True == 1 == CERT_OPTIONAL in PyMongo 3: not here
        {"ssl_cert_reqs": 3},
        {"ssl_cert_reqs": "PROTOCOL_SSLv23"},
        {"tlsAllowInvalidHostnames": None, "ssl_match_hostname": "maybe"},
    ],
)
def test_invalid_insecure_keyword_raises_instead_of_relaxing(
    kwargs: dict[str, object], own_ca_file: str
) -> None:
    with pytest.raises(ConfigurationError), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        TLSOptions.from_kwargs(tls=True, tlsCAFile=own_ca_file, **kwargs)


def test_cert_none_only_when_asked_and_it_warns(own_ca_file: str) -> None:
    with pytest.warns(UserWarning, match="does not verify"):
        context = context_from_uri("mongodb://db.example/?tls=true&tlsInsecure=true")
    assert context is not None and context.verify_mode == ssl.CERT_NONE


def test_below_tls12_only_when_asked(own_ca_file: str) -> None:
    context = context_from_uri(f"mongodb://db.example/?tls=true&tlsCAFile={own_ca_file}")
    assert context is not None
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


@pytest.mark.skipif(sys.version_info < (3, 13), reason="ssl's strict flags exist from 3.13")
def test_option_contexts_are_as_strict_as_create_default_context(own_ca_file: str) -> None:
    import trustresolve

    reference = trustresolve.create_default_context(cafile=own_ca_file)
    context = context_from_uri(f"mongodb://db.example/?tls=true&tlsCAFile={own_ca_file}")
    assert context is not None
    assert context.verify_flags & reference.verify_flags == reference.verify_flags


def test_passphrase_never_reaches_repr_errors_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cr3t-passphrase"
    ca = trustme.CA()
    leaf = ca.issue_cert("client.example")
    key_file = tmp_path / "client.pem"
    key_file.write_bytes(leaf.private_key_pem.bytes() + leaf.cert_chain_pems[0].bytes())
    caplog.set_level("DEBUG")
    options = TLSOptions.from_kwargs(
        tls=True, tlsCertificateKeyFile=str(key_file), tlsCertificateKeyFilePassword=secret
    )
    assert secret not in repr(options) and secret not in str(options)
    with pytest.raises(ConfigurationError) as info:
        TLSOptions.from_kwargs(
            tls=True,
            tlsCertificateKeyFile=str(key_file),
            tlsCertificateKeyFilePassword=secret,
            ssl_pem_passphrase="other-" + secret,
        )
    assert secret not in str(info.value)
    assert all(secret not in record.getMessage() for record in caplog.records)
