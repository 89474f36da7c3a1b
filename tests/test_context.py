"""The context builder, proven by real handshakes on loopback.

Every test that says a connection is refused also shows the same connection succeeding with the
one setting changed, so none of them can pass by failing for an unrelated reason.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import sys
import warnings
from typing import TYPE_CHECKING

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import trustresolve._tls.context as context_module
from support.ca import signed_crl
from support.servers import TLSServer, pinned_store, server_context
from trustresolve._errors import ConfigurationError
from trustresolve._machine.model import Resolution, TrustSource
from trustresolve._tls.context import InsecureContextWarning, create_default_context
from trustresolve._tls.options import TLSOptions, context_from_options, context_from_uri

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PASSPHRASE = "correct horse battery staple"


# --- certificates ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def other_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("localhost", "127.0.0.1")


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def other_ca_file(other_ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "other-ca.pem"
    other_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def store_is_ca(ca_file: str) -> Iterator[None]:
    """The resolved store (env backend, SSL_CERT_FILE) is the test CA."""
    with pinned_store({"SSL_CERT_FILE": ca_file}):
        yield


@pytest.fixture
def store_is_other_ca(other_ca_file: str) -> Iterator[None]:
    with pinned_store({"SSL_CERT_FILE": other_ca_file}):
        yield


def encrypted_client_files(
    ca: trustme.CA, tmp_path: Path, passphrase: str = PASSPHRASE
) -> tuple[str, str, str]:
    """``(combined cert+encrypted key, cert only, encrypted key only)`` for a client cert."""
    leaf = ca.issue_cert("client@example.com")
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    )
    cert = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    combined, cert_only, key_only = (tmp_path / n for n in ("client.pem", "crt.pem", "key.pem"))
    combined.write_bytes(cert + encrypted)
    cert_only.write_bytes(cert)
    key_only.write_bytes(encrypted)
    return str(combined), str(cert_only), str(key_only)


def write_crl(
    ca: trustme.CA, path: Path, revoked: list[trustme.LeafCert], *, der: bool = False
) -> str:
    """A CRL signed by ``ca`` revoking ``revoked``, written to ``path``."""
    path.write_bytes(signed_crl(ca, revoked, der=der))
    return str(path)


# --- handshakes --------------------------------------------------------------------------------


def handshake(
    client: ssl.SSLContext | None,
    server: TLSServer,
    hostname: str = "localhost",
    *,
    await_alert: bool = False,
) -> str:
    """Connect and finish the handshake; return the negotiated version.

    Under TLS 1.3 a server refusing the client's certificate says so only after the client's
    handshake is done: ``await_alert`` sends a byte and waits briefly for that alert.
    """
    assert client is not None
    with (
        socket.create_connection(server.address, timeout=10) as raw,
        client.wrap_socket(raw, server_hostname=hostname) as tls,
    ):
        if await_alert:
            tls.sendall(b"ping")
            tls.settimeout(0.5)
            with contextlib.suppress(socket.timeout):
                tls.recv(1)
        return str(tls.version())


@pytest.fixture
def server(server_cert: trustme.LeafCert) -> Iterator[TLSServer]:
    with TLSServer(server_context(server_cert)) as running:
        yield running


def test_trusted_ca_file_verifies_the_server(server: TLSServer, ca_file: str) -> None:
    context = context_from_options(tls=True, tlsCAFile=ca_file)
    assert handshake(context, server) in ("TLSv1.2", "TLSv1.3")


def test_untrusted_ca_file_is_refused(server: TLSServer, other_ca_file: str) -> None:
    context = context_from_options(tls=True, tlsCAFile=other_ca_file)
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        handshake(context, server)
    assert "unable to get local issuer certificate" in str(caught.value)


def test_ca_file_replaces_the_resolved_store(
    server: TLSServer, store_is_ca: None, other_ca_file: str
) -> None:
    assert handshake(context_from_options(tls=True), server)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(context_from_options(tls=True, tlsCAFile=other_ca_file), server)


@pytest.mark.usefixtures("store_is_ca")
def test_without_ca_file_the_resolved_store_is_used(server: TLSServer) -> None:
    assert handshake(context_from_uri("mongodb://localhost/?tls=true"), server)


@pytest.mark.usefixtures("store_is_other_ca")
def test_resolved_store_without_the_issuer_refuses(server: TLSServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(context_from_uri("mongodb://localhost/?tls=true"), server)


def test_uri_keyword_overrides_the_uri_ca_file(
    server: TLSServer, ca_file: str, other_ca_file: str
) -> None:
    uri = f"mongodb://localhost/?tls=true&tlsCAFile={other_ca_file}"
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(context_from_uri(uri), server)
    assert handshake(context_from_uri(uri, tlsCAFile=ca_file), server)


# --- hostnames ---------------------------------------------------------------------------------


@pytest.fixture
def wrong_name_server(ca: trustme.CA) -> Iterator[TLSServer]:
    with TLSServer(server_context(ca.issue_cert("db.example.net"))) as running:
        yield running


def test_hostname_mismatch_is_refused(wrong_name_server: TLSServer, ca_file: str) -> None:
    context = context_from_options(tls=True, tlsCAFile=ca_file)
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        handshake(context, wrong_name_server)
    assert "Hostname mismatch" in str(caught.value) or "hostname" in str(caught.value)


def test_allow_invalid_hostnames_accepts_the_mismatch(
    wrong_name_server: TLSServer, ca_file: str
) -> None:
    context = context_from_options(tls=True, tlsCAFile=ca_file, tlsAllowInvalidHostnames=True)
    assert context is not None
    assert (context.check_hostname, context.verify_mode) == (False, ssl.CERT_REQUIRED)
    assert handshake(context, wrong_name_server)


def test_allow_invalid_hostnames_still_verifies_the_chain(
    wrong_name_server: TLSServer, other_ca_file: str
) -> None:
    context = context_from_options(tlsCAFile=other_ca_file, tlsAllowInvalidHostnames=True)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(context, wrong_name_server)


def test_legacy_match_hostname_false_accepts_the_mismatch(
    wrong_name_server: TLSServer, ca_file: str
) -> None:
    with pytest.warns(DeprecationWarning) as caught:
        context = context_from_options(ssl=True, ssl_ca_certs=ca_file, ssl_match_hostname=False)
    assert {str(w.message) for w in caught} == {
        "Option 'ssl_ca_certs' is deprecated, use 'tlsCAFile' instead.",
        "Option 'ssl_match_hostname' is deprecated, use 'tlsAllowInvalidHostnames' instead.",
    }
    assert handshake(context, wrong_name_server)


# --- verification off --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"tls": True, "tlsAllowInvalidCertificates": True},
        {"tls": True, "tlsInsecure": True},
        {"ssl": True, "ssl_cert_reqs": ssl.CERT_NONE},
        {"ssl": True, "ssl_cert_reqs": "CERT_NONE"},
    ],
    ids=[
        "tlsAllowInvalidCertificates",
        "tlsInsecure",
        "ssl_cert_reqs-constant",
        "ssl_cert_reqs-name",
    ],
)
def test_cert_none_connects_to_anyone_and_warns_once(
    wrong_name_server: TLSServer, options: dict[str, object]
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        context = context_from_options(**options)
    insecure = [w for w in caught if issubclass(w.category, InsecureContextWarning)]
    assert len(insecure) == 1
    assert insecure[0].filename == __file__  # blames the caller, not trustresolve
    assert context is not None
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_NONE, False)
    assert handshake(context, wrong_name_server)


def test_verification_on_does_not_warn(ca_file: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        context_from_options(tls=True, tlsCAFile=ca_file)


def test_cert_none_needs_no_trust_store(memo_off: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_store() -> Resolution:
        raise AssertionError("a CERT_NONE context must not resolve the store")

    monkeypatch.setattr(context_module, "resolve", no_store)
    with pytest.warns(InsecureContextWarning):
        context = context_from_options(tls=True, tlsAllowInvalidCertificates=True)
    assert context is not None
    assert context.cert_store_stats()["x509"] == 0


def test_cert_optional_behaves_as_in_ssl(
    server: TLSServer, ca_file: str, other_ca_file: str
) -> None:
    with pytest.warns(DeprecationWarning):
        context = context_from_options(ssl_cert_reqs="CERT_OPTIONAL", ssl_ca_certs=ca_file)
    assert context is not None
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_OPTIONAL, True)
    assert handshake(context, server)
    # In a client CERT_OPTIONAL still fails an unverifiable server (ssl docs).
    with pytest.warns(DeprecationWarning):
        strict = context_from_options(ssl_cert_reqs=ssl.CERT_OPTIONAL, ssl_ca_certs=other_ca_file)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(strict, server)


# --- mutual TLS --------------------------------------------------------------------------------


@pytest.fixture
def mtls_server(server_cert: trustme.LeafCert, ca: trustme.CA) -> Iterator[TLSServer]:
    with TLSServer(server_context(server_cert, client_ca=ca)) as running:
        yield running


def test_client_certificate_with_encrypted_key_and_passphrase(
    mtls_server: TLSServer, ca: trustme.CA, ca_file: str, tmp_path: Path
) -> None:
    combined, _, _ = encrypted_client_files(ca, tmp_path)
    context = context_from_options(
        tlsCAFile=ca_file,
        tlsCertificateKeyFile=combined,
        tlsCertificateKeyFilePassword=PASSPHRASE,
    )
    assert handshake(context, mtls_server, await_alert=True)
    mtls_server.wait_for_handshakes(1)
    assert mtls_server.handshake_errors == []
    assert mtls_server.completed_handshakes == 1


def test_server_requiring_a_client_certificate_refuses_none(
    mtls_server: TLSServer, ca_file: str
) -> None:
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        handshake(context_from_options(tlsCAFile=ca_file), mtls_server, await_alert=True)
    mtls_server.wait_for_handshakes(1)
    assert mtls_server.handshake_errors  # the server says why: no certificate


def test_legacy_separate_key_file(
    mtls_server: TLSServer, ca: trustme.CA, ca_file: str, tmp_path: Path
) -> None:
    _, cert_only, key_only = encrypted_client_files(ca, tmp_path)
    with pytest.warns(DeprecationWarning) as caught:
        context = context_from_options(
            ssl_ca_certs=ca_file,
            ssl_certfile=cert_only,
            ssl_keyfile=key_only,
            ssl_pem_passphrase=PASSPHRASE,
        )
    assert handshake(context, mtls_server)
    assert len(caught) == 4  # one per legacy name, each naming its modern name


def test_wrong_passphrase_says_so_without_showing_it(ca: trustme.CA, tmp_path: Path) -> None:
    combined, _, _ = encrypted_client_files(ca, tmp_path)
    with pytest.raises(ConfigurationError, match="wrong passphrase") as caught:
        context_from_options(tlsCertificateKeyFile=combined, tlsCertificateKeyFilePassword="nope")
    assert "nope" not in str(caught.value)
    assert "tlsCertificateKeyFilePassword" in str(caught.value)
    assert combined in str(caught.value)


def test_missing_passphrase_for_encrypted_key_does_not_prompt(
    ca: trustme.CA, tmp_path: Path
) -> None:
    combined, _, _ = encrypted_client_files(ca, tmp_path)
    with pytest.raises(ConfigurationError, match="encrypted and no passphrase"):
        context_from_options(tlsCertificateKeyFile=combined)


def test_key_not_matching_the_certificate_is_told_apart(ca: trustme.CA, tmp_path: Path) -> None:
    cert = ca.issue_cert("client@example.com").cert_chain_pems[0].bytes()
    stranger_key = ca.issue_cert("someone-else").private_key_pem.bytes()
    mismatched = tmp_path / "mismatch.pem"
    mismatched.write_bytes(cert + stranger_key)
    with pytest.raises(ConfigurationError, match="does not match the certificate") as caught:
        context_from_options(
            tlsCertificateKeyFile=str(mismatched), tlsCertificateKeyFilePassword="x"
        )
    assert "passphrase" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not pem at all", "holds no PEM certificate"),
        (
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "holds no PEM private key",
        ),
    ],
)
def test_client_file_without_certificate_or_key(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_bytes(content)
    with pytest.raises(ConfigurationError, match=expected) as caught:
        context_from_options(tlsCertificateKeyFile=str(bad))
    assert "tlsCertificateKeyFile" in str(caught.value) and str(bad) in str(caught.value)


def test_damaged_client_file_names_option_and_path(ca: trustme.CA, tmp_path: Path) -> None:
    leaf = ca.issue_cert("client@example.com")
    damaged = tmp_path / "damaged.pem"
    key = leaf.private_key_pem.bytes().replace(b"\n", b"\n!", 3)
    damaged.write_bytes(leaf.cert_chain_pems[0].bytes() + key)
    with pytest.raises(ConfigurationError, match="could not be loaded") as caught:
        context_from_options(tlsCertificateKeyFile=str(damaged))
    assert str(damaged) in str(caught.value)


# --- revocation --------------------------------------------------------------------------------


def test_revoked_server_certificate_passes_without_crl(server: TLSServer, ca_file: str) -> None:
    assert handshake(context_from_options(tlsCAFile=ca_file), server)


def test_revoked_server_certificate_is_refused_with_crl(
    server: TLSServer, server_cert: trustme.LeafCert, ca: trustme.CA, ca_file: str, tmp_path: Path
) -> None:
    crl = write_crl(ca, tmp_path / "crl.pem", revoked=[server_cert])
    context = context_from_options(tlsCAFile=ca_file, tlsCRLFile=crl)
    assert context is not None
    assert context.verify_flags & ssl.VERIFY_CRL_CHECK_LEAF
    assert context.verify_flags & ssl.VERIFY_X509_TRUSTED_FIRST  # kept, unlike PyMongo
    with pytest.raises(ssl.SSLCertVerificationError, match="revoked"):
        handshake(context, server)


def test_crl_not_listing_the_server_lets_it_through(
    server: TLSServer, ca: trustme.CA, ca_file: str, tmp_path: Path
) -> None:
    crl = write_crl(ca, tmp_path / "crl.pem", revoked=[ca.issue_cert("someone-else")])
    with pytest.warns(DeprecationWarning, match="'ssl_crlfile' is deprecated, use 'tlsCRLFile'"):
        context = context_from_options(tlsCAFile=ca_file, ssl_crlfile=crl)
    assert handshake(context, server)


def test_crl_with_the_resolved_store(
    server: TLSServer, server_cert: trustme.LeafCert, ca: trustme.CA, tmp_path: Path
) -> None:
    crl = write_crl(ca, tmp_path / "crl.pem", revoked=[server_cert])
    ca_pem = tmp_path / "store.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    with pinned_store({"SSL_CERT_FILE": str(ca_pem)}):
        assert handshake(context_from_options(tls=True), server)
        with pytest.raises(ssl.SSLCertVerificationError, match="revoked"):
            handshake(context_from_options(tlsCRLFile=crl), server)


def test_crl_file_errors_name_the_option_and_path(
    ca: trustme.CA, ca_file: str, tmp_path: Path
) -> None:
    der = write_crl(ca, tmp_path / "crl.der", revoked=[], der=True)
    with pytest.raises(ConfigurationError, match="looks like DER") as caught:
        context_from_options(tlsCAFile=ca_file, tlsCRLFile=der)
    assert "tlsCRLFile" in str(caught.value) and der in str(caught.value)
    mixed = tmp_path / "crl-and-ca.pem"
    crl_pem = write_crl(ca, tmp_path / "crl.pem", revoked=[])
    with open(crl_pem, "rb") as handle:
        mixed.write_bytes(handle.read() + ca.cert_pem.bytes())
    with pytest.raises(ConfigurationError, match="would become trusted roots"):
        context_from_options(tlsCAFile=ca_file, tlsCRLFile=str(mixed))
    with pytest.raises(ConfigurationError, match="no '-----BEGIN X509 CRL-----' block"):
        context_from_options(tlsCAFile=ca_file, tlsCRLFile=ca_file)
    damaged = tmp_path / "damaged-crl.pem"
    damaged.write_text("-----BEGIN X509 CRL-----\nnot base64!\n-----END X509 CRL-----\n")
    with pytest.raises(ConfigurationError, match="could not be loaded") as caught:
        context_from_options(tlsCAFile=ca_file, tlsCRLFile=str(damaged))
    assert str(damaged) in str(caught.value)


# --- protocol versions -------------------------------------------------------------------------


@pytest.fixture
def tls11_only_server(server_cert: trustme.LeafCert) -> Iterator[TLSServer]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # ssl deprecates TLSv1_1 itself
        context = server_context(
            server_cert,
            ciphers="DEFAULT:@SECLEVEL=0",  # OpenSSL 3 allows TLS 1.1 only at level 0
            minimum_version=ssl.TLSVersion.TLSv1_1,
            maximum_version=ssl.TLSVersion.TLSv1_1,
        )
    with TLSServer(context) as running:
        yield running


@pytest.mark.skipif(not ssl.HAS_TLSv1_1, reason="this OpenSSL was built without TLS 1.1")
def test_tls11_only_server_is_refused_with_a_protocol_error(
    tls11_only_server: TLSServer, ca_file: str
) -> None:
    with pytest.raises(ssl.SSLError) as caught:
        handshake(context_from_options(tlsCAFile=ca_file), tls11_only_server)
    assert caught.value.reason in (
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "UNSUPPORTED_PROTOCOL",
        "NO_PROTOCOLS_AVAILABLE",
        "WRONG_SSL_VERSION",
    )


@pytest.mark.skipif(not ssl.HAS_TLSv1_1, reason="this OpenSSL was built without TLS 1.1")
def test_tls11_only_when_explicitly_asked(tls11_only_server: TLSServer, ca_file: str) -> None:
    # trustresolve's own warning: weak crypto only when asked for by name, and said out loud.
    with pytest.warns(InsecureContextWarning, match="SHA-1"):
        if sys.version_info >= (3, 10):
            with pytest.warns(DeprecationWarning, match="TLSv1_1"):  # ssl's own, deserved
                context = context_from_options(
                    tlsCAFile=ca_file, minimum_version=ssl.TLSVersion.TLSv1_1
                )
        else:  # 3.9's ssl does not deprecate TLS 1.1 yet
            context = context_from_options(
                tlsCAFile=ca_file, minimum_version=ssl.TLSVersion.TLSv1_1
            )
    assert handshake(context, tls11_only_server) == "TLSv1.1"


def test_default_minimum_is_tls12(ca_file: str) -> None:
    context = context_from_options(tlsCAFile=ca_file)
    assert context is not None
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.protocol == ssl.PROTOCOL_TLS_CLIENT


@pytest.mark.parametrize(
    "version", [ssl.TLSVersion.SSLv3, ssl.TLSVersion.MAXIMUM_SUPPORTED, "TLSv1_1"]
)
def test_minimum_version_outside_tls_is_refused(ca_file: str, version: object) -> None:
    with pytest.raises(ConfigurationError, match="minimum_version"):
        context_from_options(tlsCAFile=ca_file, minimum_version=version)  # type: ignore[arg-type]


def test_minimum_version_is_not_read_from_uris(ca_file: str) -> None:
    with pytest.warns(UserWarning, match="minimum_version|unknown"):
        options = TLSOptions.from_uri(f"mongodb://h/?tlsCAFile={ca_file}&tlsMinimumVersion=TLSv1")
    assert options.as_dict() == {"tlsCAFile": ca_file}


# --- what each option does to the context ------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "verify_mode", "check_hostname"),
    [
        ({"tls": True}, ssl.CERT_REQUIRED, True),
        ({"tls": True, "tlsAllowInvalidHostnames": True}, ssl.CERT_REQUIRED, False),
        ({"tls": True, "tlsAllowInvalidCertificates": True}, ssl.CERT_NONE, False),
        ({"tls": True, "tlsInsecure": True}, ssl.CERT_NONE, False),
        ({"tls": True, "tlsInsecure": False}, ssl.CERT_REQUIRED, True),
        ({"ssl": True, "ssl_cert_reqs": "CERT_REQUIRED"}, ssl.CERT_REQUIRED, True),
        ({"ssl": True, "ssl_cert_reqs": 1, "ssl_match_hostname": False}, ssl.CERT_OPTIONAL, False),
    ],
)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::trustresolve._tls.context.InsecureContextWarning")
@pytest.mark.usefixtures("store_is_ca")
def test_options_set_verify_mode_and_check_hostname(
    options: dict[str, object], verify_mode: ssl.VerifyMode, check_hostname: bool
) -> None:
    context = context_from_options(**options)
    assert context is not None
    assert (context.verify_mode, context.check_hostname) == (verify_mode, check_hostname)
    assert context.protocol == ssl.PROTOCOL_TLS_CLIENT


@pytest.mark.parametrize("options", [{}, {"tls": False}, {"tlsInsecure": True}, {"ssl": False}])
def test_tls_off_gives_no_context(options: dict[str, object]) -> None:
    assert context_from_options(**options) is None


def test_ca_file_that_is_not_pem_names_option_and_path(tmp_path: Path) -> None:
    bad = tmp_path / "ca.txt"
    bad.write_text("hello")
    with pytest.raises(ConfigurationError) as caught:
        context_from_options(tlsCAFile=str(bad))
    assert "tlsCAFile" in str(caught.value) and str(bad) in str(caught.value)
    with pytest.raises(ConfigurationError, match="ssl_ca_certs"), pytest.warns(DeprecationWarning):
        context_from_options(ssl_ca_certs=str(bad))


def test_ca_file_without_certificates_is_refused(ca: trustme.CA, tmp_path: Path) -> None:
    crl_only = write_crl(ca, tmp_path / "crl.pem", revoked=[])
    with pytest.raises(ConfigurationError, match="holds no certificate"):
        context_from_options(tlsCAFile=crl_only)


# --- create_default_context --------------------------------------------------------------------


@pytest.mark.usefixtures("store_is_ca")
def test_create_default_context_uses_the_resolved_store(server: TLSServer) -> None:
    context = create_default_context()
    assert type(context) is ssl.SSLContext
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert handshake(context, server)


@pytest.mark.usefixtures("store_is_other_ca")
def test_create_default_context_refuses_what_the_store_does_not_hold(server: TLSServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(create_default_context(), server)


@pytest.mark.usefixtures("store_is_other_ca")
def test_create_default_context_ca_arguments_replace_the_store(
    server: TLSServer, ca: trustme.CA, ca_file: str, tmp_path: Path
) -> None:
    assert handshake(create_default_context(cafile=ca_file), server)
    assert handshake(create_default_context(cadata=ca.cert_pem.bytes().decode()), server)
    hashed = tmp_path / "hashed"
    hashed.mkdir()
    ca.cert_pem.write_to_path(str(hashed / f"{_subject_hash(ca_file)}.0"))
    assert handshake(create_default_context(capath=str(hashed)), server)


def _subject_hash(pem_path: str) -> str:
    from trustresolve._x509.subject_hash import name_hash

    with open(pem_path, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    return name_hash(cert.subject.public_bytes())


def test_create_default_context_errors_like_ssl(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        create_default_context(cafile=str(tmp_path / "missing.pem"))


def test_create_default_context_for_servers_is_ssl_s_own() -> None:
    context = create_default_context(ssl.Purpose.CLIENT_AUTH)
    theirs = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    assert context.protocol == theirs.protocol  # PROTOCOL_TLS_SERVER from 3.10, TLS on 3.9
    assert context.verify_mode == theirs.verify_mode == ssl.CERT_NONE


@pytest.mark.usefixtures("store_is_ca")
def test_create_default_context_mirrors_ssl_s_flags_and_options() -> None:
    # 3.13 added VERIFY_X509_STRICT and PARTIAL_CHAIN to ssl's default context; we follow.
    ours, theirs = create_default_context(), ssl.create_default_context()
    assert ours.verify_flags == theirs.verify_flags
    assert ours.options == theirs.options
    # A client context either way; 3.9's ssl still uses the generic PROTOCOL_TLS for it.
    assert ours.protocol == ssl.PROTOCOL_TLS_CLIENT
    assert theirs.protocol in (ssl.PROTOCOL_TLS_CLIENT, ssl.PROTOCOL_TLS)
    assert ours.check_hostname and theirs.check_hostname


def _native_resolution(fallback: TrustSource | None) -> Resolution:
    native = TrustSource(backend="native", kind="native", fallback=fallback)
    return Resolution(source=native, attempts=())


@pytest.mark.skipif(sys.version_info < (3, 10), reason="truststore needs Python 3.10")
def test_native_store_gives_a_truststore_context(
    memo_off: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    truststore = pytest.importorskip("truststore")
    monkeypatch.setattr(context_module, "resolve", lambda: _native_resolution(None))
    context = create_default_context()
    assert isinstance(context, truststore.SSLContext)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    options_context = context_from_options(tls=True)
    assert isinstance(options_context, truststore.SSLContext)


def test_native_store_with_crl_uses_its_snapshot(
    memo_off: None,
    monkeypatch: pytest.MonkeyPatch,
    server: TLSServer,
    server_cert: trustme.LeafCert,
    ca: trustme.CA,
    ca_file: str,
    tmp_path: Path,
) -> None:
    snapshot = TrustSource(backend="macos-keychain", kind="file", cafile=ca_file, cert_count=1)
    monkeypatch.setattr(context_module, "resolve", lambda: _native_resolution(snapshot))
    crl = write_crl(ca, tmp_path / "crl.pem", revoked=[server_cert])
    context = context_from_options(tlsCRLFile=crl)
    assert type(context) is ssl.SSLContext  # OpenSSL verifies: the CRL applies
    with pytest.raises(ssl.SSLCertVerificationError, match="revoked"):
        handshake(context, server)
    monkeypatch.setattr(context_module, "resolve", lambda: _native_resolution(None))
    with pytest.raises(ConfigurationError, match="no snapshot"):
        context_from_options(tlsCRLFile=crl)
