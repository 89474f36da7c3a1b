"""``--connect`` and the client: ``--cert``/``--key``, servers that require a client certificate,
VERIFIED only when the server accepted the client, and OpenSSL's own words in the report.

The servers are real: loopback HTTPS-like servers with ``CERT_REQUIRED`` on TLS 1.3 and on
TLS 1.2 (the two report a rejection at different moments), and a real Redis with
``tls-auth-clients yes`` (tests/db_servers.py). Where the report quotes OpenSSL, a plain ``ssl``
client program is run against the same server and must show exactly the same text.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

import trustresolve
from db_servers import CLIENT_KEY_PASSWORD, Pki, binary, make_pki, redis_server
from support.cli import clean_env
from support.servers import leaf_context, serve, tls_handler
from test_connect import _python313
from trustresolve._cli.connect import Cause, diagnose
from trustresolve._cli.main import main

SRC = str(Path(__file__).resolve().parent.parent / "src")
TLS12, TLS13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
PASSWORD_VARIABLE = "TRUSTRESOLVE_KEY_PASSWORD"


pytestmark = pytest.mark.usefixtures("doctor_env")


class Mtls:
    """A CA with an intermediate issuing the server's leaf; client certificates from the CA
    (trusted by the server) and from another CA (not trusted); the files on disk."""

    def __init__(self, directory: Path) -> None:
        self.ca = trustme.CA()
        self.leaf = self.ca.create_child_ca().issue_cert("localhost", "127.0.0.1")
        self.cafile = self._write(directory / "ca.pem", self.ca.cert_pem.bytes())
        good = self.ca.issue_cert("client", common_name="client")
        stranger = trustme.CA().issue_cert("client", common_name="client")
        self.cert = self._write(directory / "client.crt", good.cert_chain_pems[0].bytes())
        self.key = self._write(directory / "client.key", good.private_key_pem.bytes())
        self.stranger = self._write(
            directory / "stranger.pem",
            stranger.cert_chain_pems[0].bytes() + stranger.private_key_pem.bytes(),
        )

    @staticmethod
    def _write(path: Path, data: bytes) -> str:
        path.write_bytes(data)
        path.chmod(0o600)
        return str(path)

    def server_context(self, version: ssl.TLSVersion) -> ssl.SSLContext:
        """Requires a client certificate from the CA; ``version`` is the only one spoken."""
        context = leaf_context(self.leaf, minimum=version, maximum=version)
        context.verify_mode = ssl.CERT_REQUIRED
        self.ca.configure_trust(context)
        return context


@pytest.fixture
def mtls(tmp_path: Path) -> Mtls:
    return Mtls(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["--connect", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def plain_client_error(port: int, context: ssl.SSLContext, host: str = "127.0.0.1") -> str:
    """What a plain ``ssl`` program shows: its exception from wrap_socket() or first read."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                tls.settimeout(5)
                tls.recv(1)
        except ssl.SSLError as exc:
            return str(exc)
    raise AssertionError("the plain client was not refused")


def talks(port: int, context: ssl.SSLContext) -> bool:
    """A plain program's handshake and first read succeed (the read times out: no alert)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    with sock, context.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
        tls.settimeout(0.5)
        try:
            tls.recv(1)
        except socket.timeout:
            return True
    return False


# --- servers that require a client certificate, TLS 1.3 and TLS 1.2 --------------------------


@pytest.mark.parametrize("version", [TLS13, TLS12], ids=["tls1.3", "tls1.2"])
def test_no_client_certificate_is_its_own_verdict_with_openssls_words(
    version: ssl.TLSVersion, mtls: Mtls, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(tls_handler(mtls.server_context(version))) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", mtls.cafile)
        found = diagnose(f"127.0.0.1:{port}", cafile=mtls.cafile)
        program = plain_client_error(port, ssl.create_default_context(cafile=mtls.cafile))
    assert code == 1, out
    assert "Verdict: FAILED: the server requires a client certificate" in out
    verdict = found.verdict
    assert verdict.cause is Cause.CLIENT_CERT_REQUIRED
    assert verdict.evidence["openssl"] == program
    assert f"  OpenSSL: {program}" in out
    expected_alert = (
        "TLSV13_ALERT_CERTIFICATE_REQUIRED" if version is TLS13 else "SSLV3_ALERT_HANDSHAKE_FAILURE"
    )
    assert verdict.evidence["alert"] == expected_alert
    when = "after the handshake" if version is TLS13 else "during the handshake"
    assert verdict.evidence["when"] == when
    assert any("--cert client.crt --key client.key" in fix for fix in verdict.fixes)
    # The chain as sent, read although the server refused the client: leaf and intermediate,
    # on TLS 1.2 (its plaintext Certificate) and on TLS 1.3 (3.13+ only, said exactly).
    assert found.chain is not None
    if version is TLS12 or sys.version_info >= (3, 13):
        assert len(found.chain.certificates) == 2 and found.chain.complete
    else:
        assert not found.chain.complete
        assert "this server speaks only TLS 1.3, which encrypts its Certificate message" in out
    assert "TLS 1.2 or Python 3.13+" not in out


@pytest.mark.parametrize("version", [TLS13, TLS12], ids=["tls1.3", "tls1.2"])
def test_verified_only_with_the_right_client_certificate(
    version: ssl.TLSVersion, mtls: Mtls, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(tls_handler(mtls.server_context(version))) as port:
        args = (f"127.0.0.1:{port}", "--cafile", mtls.cafile)
        code, out = run(capsys, *args, "--cert", mtls.cert, "--key", mtls.key)
        rejected = diagnose(args[0], cafile=mtls.cafile, cert=mtls.stranger)
        program = ssl.create_default_context(cafile=mtls.cafile)
        program.load_cert_chain(mtls.stranger)
        refused_program = plain_client_error(port, program)
    assert code == 0, out
    assert "Verdict: VERIFIED" in out
    assert f"Client certificate: {mtls.cert} (key {mtls.key})" in out
    assert f"The server accepted the client certificate {mtls.cert}." in out
    if version is TLS12 or sys.version_info >= (3, 13):
        assert "[1] subject:" in out  # the probes presented the certificate too: whole chain
    else:
        assert "this server speaks only TLS 1.3, which encrypts" in out
    assert rejected.verdict.cause is Cause.CLIENT_CERT_REJECTED
    assert rejected.verdict.evidence["alert"] == "TLSV1_ALERT_UNKNOWN_CA"
    assert rejected.verdict.evidence["openssl"] == refused_program
    assert rejected.verdict.evidence["certificate"] == mtls.stranger
    assert any("does not trust the CA" in fix for fix in rejected.verdict.fixes)


def test_tls13_only_server_requiring_a_certificate_on_313(
    mtls: Mtls, capsys: pytest.CaptureFixture[str]
) -> None:
    """Python 3.13 shows the whole chain of a TLS 1.3-only server that refuses the client."""
    python313 = _python313()
    if python313 is None:
        pytest.skip("no Python 3.13 here to check get_unverified_chain()")
    with serve(tls_handler(mtls.server_context(TLS13))) as port:
        argv = ["-m", "trustresolve", "--connect", f"127.0.0.1:{port}", "--cafile", mtls.cafile]
        done = subprocess.run(
            [python313, *argv],
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=60,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    assert "[1] subject:" in done.stdout
    assert "only the leaf" not in done.stdout
    assert "the server requires a client certificate" in done.stdout
    assert "  OpenSSL: [SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED]" in done.stdout


def test_a_server_closing_right_after_the_handshake_is_not_verified(
    mtls: Mtls, capsys: pytest.CaptureFixture[str]
) -> None:
    context = leaf_context(mtls.leaf, maximum=TLS12)

    def close_at_once(conn: socket.socket) -> None:
        context.wrap_socket(conn, server_side=True).close()

    with serve(close_at_once) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", mtls.cafile)
    assert code == 1, out
    assert "Verdict: FAILED: the server closed the connection right after the handshake" in out


# --- the key and its passphrase ---------------------------------------------------------------


@pytest.fixture
def encrypted(tmp_path: Path, mtls: Mtls) -> str:
    """The good client key, encrypted with CLIENT_KEY_PASSWORD."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(Path(mtls.key).read_bytes(), None)
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(CLIENT_KEY_PASSWORD.encode()),
    )
    return Mtls._write(tmp_path / "encrypted.key", data)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        (None, "is encrypted and no passphrase was given; set TRUSTRESOLVE_KEY_PASSWORD"),
        ("not-the-password", "TRUSTRESOLVE_KEY_PASSWORD: wrong passphrase"),
    ],
    ids=["missing", "wrong"],
)
def test_an_encrypted_key_needs_the_right_passphrase(
    password: str | None,
    message: str,
    encrypted: str,
    mtls: Mtls,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if password is not None:
        monkeypatch.setenv(PASSWORD_VARIABLE, password)
    code, out = run(capsys, "127.0.0.1:1", "--cert", mtls.cert, "--key", encrypted)
    assert code == 2
    assert message in out and encrypted in out
    assert "not-the-password" not in out
    assert out.count("\n") == 1  # one line, no traceback


def test_the_right_passphrase_verifies_and_is_never_printed(
    encrypted: str, mtls: Mtls, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PASSWORD_VARIABLE, CLIENT_KEY_PASSWORD)
    with serve(tls_handler(mtls.server_context(TLS13))) as port:
        code, out = run(
            capsys, f"127.0.0.1:{port}", "--cafile", mtls.cafile, "--cert", mtls.cert,
            "--key", encrypted,
        )  # fmt: skip
    assert code == 0, out
    assert CLIENT_KEY_PASSWORD not in out


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (("ca", None), "--cert: '{ca}' holds no PEM private key; --cert must hold"),
        (("key", None), "--cert: '{key}' holds no PEM certificate"),
        (("cert", "stranger"), "--cert: the private key in '{stranger}' does not match"),
        (("cert", "missing"), "--key: cannot read '{missing}'"),
    ],
    ids=["no-key", "not-a-certificate", "mismatch", "missing-key"],
)
def test_bad_client_files_name_the_option_and_the_file(
    files: tuple[str, str | None],
    message: str,
    mtls: Mtls,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = {
        "ca": mtls.cafile,
        "key": mtls.key,
        "cert": mtls.cert,
        "stranger": mtls.stranger,
        "missing": str(tmp_path / "missing.key"),
    }
    cert, key = files
    argv = ["127.0.0.1:1", "--cert", paths[cert]] + (["--key", paths[key]] if key else [])
    code, out = run(capsys, *argv)
    assert code == 2
    assert message.format(**paths) in out
    assert out.count("\n") == 1


def test_key_without_cert_and_two_certificates_are_usage_errors(
    mtls: Mtls, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "127.0.0.1:1", "--key", mtls.key)
    assert code == 2 and "--key needs --cert" in out
    uri = f"mongodb://127.0.0.1:1/?tls=true&tlsCertificateKeyFile={mtls.stranger}"
    code, out = run(capsys, uri, "--cert", mtls.cert, "--key", mtls.key)
    assert code == 2
    assert "names its own client certificate (tlsCertificateKeyFile)" in out
    with pytest.raises(SystemExit) as exited:
        main(["--which", "--cert", mtls.cert])
    assert exited.value.code == 2
    assert "--cert goes with --connect" in capsys.readouterr().err


def test_the_uri_client_certificate_is_presented_by_the_probes_too(
    mtls: Mtls, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(tls_handler(mtls.server_context(TLS12))) as port:
        uri = (
            f"mongodb://127.0.0.1:{port}/?tls=true&tlsCAFile={mtls.cafile}"
            f"&tlsCertificateKeyFile={mtls.stranger}"
        )
        found = diagnose(uri)
    assert found.verdict.cause is Cause.CLIENT_CERT_REJECTED
    assert found.chain is not None and len(found.chain.certificates) == 2


# --- a real Redis with tls-auth-clients yes ---------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("connect-client-pki"))


@pytest.mark.skipif(
    binary("redis-server") is None,
    reason="redis-server is not installed (apt-get install redis-server)",
)
def test_redis_requiring_client_certificates(
    pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = Mtls(tmp_path).stranger
    with redis_server(pki, auth_clients=True) as server:
        target = f"127.0.0.1:{server.port}"
        without = diagnose(target, cafile=pki.ca_pem)
        program = plain_client_error(server.port, ssl.create_default_context(cafile=pki.ca_pem))
        rejected = diagnose(target, cafile=pki.ca_pem, cert=stranger)
        monkeypatch.setenv(PASSWORD_VARIABLE, CLIENT_KEY_PASSWORD)
        code, out = run(
            capsys, target, "--cafile", pki.ca_pem, "--cert", pki.client_cert,
            "--key", pki.client_key,
        )  # fmt: skip
        # The same through the program's URI: its own options, its own spelling in the fix.
        uri = f"rediss://127.0.0.1:{server.port}/0?ssl_ca_certs={pki.ca_pem}"
        uri_without = diagnose(uri)
        with_options = (
            f"{uri}&ssl_certfile={pki.client_cert}&ssl_keyfile={pki.client_key}"
            f"&ssl_password={CLIENT_KEY_PASSWORD}"
        )
        uri_with = diagnose(with_options)
    assert uri_without.verdict.cause is Cause.CLIENT_CERT_REQUIRED
    assert "ssl_certfile=client.crt&ssl_keyfile=client.key" in uri_without.verdict.fixes[0]
    assert "sslcert=" not in uri_without.verdict.fixes[0]
    assert uri_with.verdict.verified, uri_with.verdict
    assert without.verdict.cause is Cause.CLIENT_CERT_REQUIRED
    assert without.verdict.evidence["openssl"] == program
    assert rejected.verdict.cause is Cause.CLIENT_CERT_REJECTED
    assert rejected.verdict.evidence["alert"] == "TLSV1_ALERT_UNKNOWN_CA"
    assert code == 0, out
    assert "Verdict: VERIFIED" in out
    assert CLIENT_KEY_PASSWORD not in out


# --- OpenSSL's words are the program's words ---------------------------------------------------


def _verify_failure_servers(ca: trustme.CA) -> dict[str, tuple[ssl.SSLContext, str]]:
    import datetime

    now = datetime.datetime.now(datetime.timezone.utc)
    expired = ca.issue_cert(
        "127.0.0.1",
        not_before=now - datetime.timedelta(days=30),
        not_after=now - datetime.timedelta(days=2),
    )
    return {
        "unknown issuer": (leaf_context(trustme.CA().issue_cert("127.0.0.1")), "127.0.0.1"),
        "expired": (leaf_context(expired), "127.0.0.1"),
        "hostname mismatch": (leaf_context(ca.issue_cert("db.example.net")), "127.0.0.1"),
        "self-signed": (_self_signed_context(), "127.0.0.1"),
        "protocol mismatch": (
            leaf_context(ca.issue_cert("127.0.0.1"), maximum=ssl.TLSVersion.TLSv1_1),
            "127.0.0.1",
        ),
    }


def _self_signed_context() -> ssl.SSLContext:
    from support.servers import pem_server_context

    other = trustme.CA()
    return pem_server_context(other.cert_pem.bytes(), other.private_key_pem.bytes())


@pytest.mark.parametrize(
    ("scenario", "cause"),
    [
        ("unknown issuer", Cause.UNKNOWN_ISSUER),
        ("expired", Cause.EXPIRED),
        ("hostname mismatch", Cause.HOSTNAME_MISMATCH),
        ("self-signed", Cause.SELF_SIGNED),
        ("protocol mismatch", Cause.PROTOCOL_MISMATCH),
    ],
)
def test_the_report_quotes_what_the_program_sees(
    scenario: str, cause: Cause, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = trustme.CA()
    cafile = Mtls._write(tmp_path / "ca.pem", ca.cert_pem.bytes())
    context, host = _verify_failure_servers(ca)[scenario]
    with serve(tls_handler(context)) as port:
        code, out = run(capsys, f"{host}:{port}", "--cafile", cafile)
        found = diagnose(f"{host}:{port}", cafile=cafile)
        # The program's context is the one the doctor says it gets (ssl's own allows TLS 1.0
        # on Python 3.9, and would then fail differently against the TLS 1.1 server).
        context = trustresolve.create_default_context(cafile=cafile)
        program = plain_client_error(port, context, host)
    assert found.verdict.cause is cause
    assert found.verdict.evidence["openssl"] == program
    assert code == 1
    headline = out.splitlines().index(f"Verdict: FAILED: {cause.value}")
    assert out.splitlines()[headline + 1] == f"  OpenSSL: {program}"
