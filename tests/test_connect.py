"""``--connect``: a loopback server for each failure, the exit code and the cause in the report."""

from __future__ import annotations

import datetime
import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

import trustresolve
from _diag_servers import (
    closed_port,
    crl_revoking,
    leaf_context,
    leaf_only_context,
    leaf_with_aia,
    plain_handler,
    serve,
    server_context,
    silent_handler,
    tls_handler,
)
from trustresolve._cli.connect import parse_target, protocol_advice
from trustresolve._cli.main import main

NOW = datetime.datetime.now(datetime.timezone.utc)
SRC = str(Path(__file__).resolve().parent.parent / "src")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """This machine sets SSL_CERT_FILE/SSL_CERT_DIR; each test decides for itself."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "TRUSTRESOLVE_CONFIG", "SSLKEYLOGFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRUSTRESOLVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    yield
    monkeypatch.undo()
    trustresolve.resolve(refresh=True)


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def _file(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["--connect", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_verified(ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    with serve(tls_handler(leaf_context(leaf))) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", cafile)
    assert code == 0, out
    assert "Verdict: VERIFIED" in out
    assert "TLS: TLSv1.3, cipher TLS_" in out
    assert "names:   localhost, 127.0.0.1" in out
    assert f"the CA file {cafile}" in out


def test_unknown_issuer_names_the_store_and_the_fixes(
    ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = ca.issue_cert("127.0.0.1")
    other = _file(tmp_path, "other.pem", trustme.CA().cert_pem.bytes())
    with serve(tls_handler(leaf_context(leaf))) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", other)
    assert code == 1
    assert "Verdict: FAILED: unknown issuer" in out
    assert f"Store used: the CA file {other}" in out
    for fix in ("--cafile", "tlsCAFile", "SSL_CERT_FILE", "update-ca-certificates"):
        assert fix in out
    assert "[0] subject:" in out  # the certificate was fetched although verification failed


def test_unknown_issuer_with_the_resolved_store(
    ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = _file(tmp_path, "other.pem", trustme.CA().cert_pem.bytes())
    monkeypatch.setenv("SSL_CERT_FILE", other)
    trustresolve.resolve(refresh=True)
    with serve(tls_handler(leaf_context(ca.issue_cert("127.0.0.1")))) as port:
        code, out = run(capsys, f"127.0.0.1:{port}")
    assert code == 1
    assert f"Store used: the env store (file, {other})" in out


def test_unknown_root_behind_an_intermediate_the_server_sends(
    ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = ca.create_child_ca().issue_cert("127.0.0.1")
    other = _file(tmp_path, "other.pem", trustme.CA().cert_pem.bytes())
    with serve(tls_handler(leaf_context(leaf))) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", other)
    assert code == 1
    assert "unknown issuer" in out
    assert "The server sent 2 certificates" in out  # read off the wire (TLS 1.2) or 3.13 API
    assert "[1] subject:" in out


def test_missing_intermediate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = trustme.CA()
    intermediate = root.create_child_ca()
    url = "http://127.0.0.1:9/intermediate.der"
    leaf_pem, key_pem = leaf_with_aia(intermediate, url)
    cafile = _file(tmp_path, "root.pem", root.cert_pem.bytes())
    with serve(tls_handler(server_context(leaf_pem, key_pem))) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", cafile)
    assert code == 1
    assert "Verdict: FAILED: missing intermediate" in out
    assert url in out
    assert "send its full chain" in out
    # Control: the same leaf with its intermediate verifies, so only the intermediate was missing.
    full = leaf_pem + intermediate.cert_pem.bytes()
    with serve(tls_handler(server_context(full, key_pem))) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", cafile)
    assert code == 0, out


def test_leaf_only_without_aia_is_unknown_issuer_with_the_intermediate_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = trustme.CA()
    leaf = root.create_child_ca().issue_cert("127.0.0.1")
    cafile = _file(tmp_path, "root.pem", root.cert_pem.bytes())
    with serve(tls_handler(leaf_only_context(leaf))) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", cafile)
    assert code == 1
    assert "unknown issuer" in out
    assert "the server must send it too (missing intermediate)" in out


@pytest.mark.parametrize(
    ("asked", "expected"),
    [("127.0.0.1", "Name asked: 127.0.0.1"), ("localhost", "Name asked: localhost")],
)
def test_hostname_mismatch(
    asked: str, expected: str, ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = ca.issue_cert("db.example.net")
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    with serve(tls_handler(leaf_context(leaf))) as port:
        code, out = run(capsys, f"{asked}:{port}", "--cafile", cafile)
    assert code == 1
    assert "Verdict: FAILED: hostname mismatch" in out
    assert expected in out
    assert "Names in the certificate (subjectAltName): db.example.net" in out


def test_expired(ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_after = NOW - datetime.timedelta(days=2)
    leaf = ca.issue_cert(
        "127.0.0.1", not_before=NOW - datetime.timedelta(days=30), not_after=not_after
    )
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    with serve(tls_handler(leaf_context(leaf))) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", cafile)
    assert code == 1
    assert "Verdict: FAILED: certificate expired" in out
    assert f"expired on {not_after:%Y-%m-%d}" in out


def test_not_yet_valid(ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_before = NOW + datetime.timedelta(days=3)
    leaf = ca.issue_cert(
        "127.0.0.1", not_before=not_before, not_after=NOW + datetime.timedelta(days=30)
    )
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    with serve(tls_handler(leaf_context(leaf))) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", cafile)
    assert code == 1
    assert "certificate not yet valid" in out
    assert f"not valid before {not_before:%Y-%m-%d}" in out
    assert "clock" in out


def test_self_signed(ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The CA's own self-signed certificate served as the server's certificate.
    context = server_context(ca.cert_pem.bytes(), ca.private_key_pem.bytes())
    cafile = _file(tmp_path, "other.pem", trustme.CA().cert_pem.bytes())
    with serve(tls_handler(context)) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", cafile)
    assert code == 1
    assert "Verdict: FAILED: self-signed certificate" in out


def test_revoked_with_a_crl(
    ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = ca.issue_cert("127.0.0.1")
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    crlfile = _file(tmp_path, "crl.pem", crl_revoking(ca, leaf))
    with serve(tls_handler(leaf_context(leaf))) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", cafile, "--crlfile", crlfile)
        uri = f"mongodb://127.0.0.1:{port}/?tls=true&tlsCAFile={cafile}&tlsCRLFile={crlfile}"
        uri_code, uri_out = run(capsys, uri)
    assert code == 1
    assert "Verdict: FAILED: certificate revoked" in out
    assert "serial 0x" in out
    assert uri_code == 1
    assert "certificate revoked" in uri_out


def test_protocol_version_mismatch_is_the_real_alert(
    ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = ca.issue_cert("127.0.0.1")
    context = leaf_context(leaf, minimum=ssl.TLSVersion.TLSv1, maximum=ssl.TLSVersion.TLSv1_1)
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    with serve(tls_handler(context)) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", cafile)
    assert code == 1
    assert "Verdict: FAILED: protocol version mismatch" in out
    assert "OpenSSL said: TLSV1_ALERT_PROTOCOL_VERSION" in out  # the server's alert
    assert "Server offers: TLS 1.0, TLS 1.1" in out
    assert "Client allows: TLS 1.2, TLS 1.3" in out
    assert "RFC 8996" in out


def test_protocol_advice_for_a_library_too_old() -> None:
    v = ssl.TLSVersion
    fixes = protocol_advice(
        [v.TLSv1_3],
        [v.TLSv1, v.TLSv1_1, v.TLSv1_2],
        [v.TLSv1, v.TLSv1_1, v.TLSv1_2],
        "OpenSSL 1.0.2u",
    )
    assert any("cannot speak TLS 1.3" in f and "OpenSSL 1.1.1" in f for f in fixes)
    none = protocol_advice([], [v.TLSv1_2], [v.TLSv1_2], "OpenSSL 1.0.1")
    assert any("completed no handshake" in f for f in none)
    capped = protocol_advice([v.TLSv1_3], [v.TLSv1_2], [v.TLSv1_2, v.TLSv1_3], "OpenSSL 3.0")
    assert any("maximum_version" in f for f in capped)
    assert not any("cannot speak" in f for f in capped)


def test_not_a_tls_server(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(plain_handler) as port:
        code, out = run(capsys, f"127.0.0.1:{port}")
    assert code == 1
    assert "Verdict: FAILED: not a TLS server" in out


def test_connection_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, f"127.0.0.1:{closed_port()}")
    assert code == 1
    assert "Verdict: FAILED: connection refused" in out


def test_dns_failure(capsys: pytest.CaptureFixture[str]) -> None:
    # RFC 6761: .invalid never resolves; only the local resolver is asked.
    code, out = run(capsys, "trustresolve-test.invalid:443", "--timeout", "3")
    assert code == 1
    assert "Verdict: FAILED: DNS failure" in out
    assert "'trustresolve-test.invalid' does not resolve" in out


def test_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(silent_handler) as port:
        started = time.monotonic()
        code, out = run(capsys, f"127.0.0.1:{port}", "--timeout", "0.5")
    assert code == 1
    assert "Verdict: FAILED: timeout" in out
    assert "no TLS answer within 0.5 s" in out
    assert time.monotonic() - started < 5


def test_uri_first_host_and_options(
    ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    with serve(tls_handler(leaf_context(ca.issue_cert("127.0.0.1")))) as port:
        uri = (
            f"mongodb://u:p%40ss@127.0.0.1:{port},db2.invalid:27017/app?tls=true&tlsCAFile={cafile}"
        )
        code, out = run(capsys, uri)
        insecure, insecure_out = run(capsys, uri + "&tlsInsecure=true")
    assert code == 0, out
    assert f"Connecting to 127.0.0.1:{port} (from the MongoDB URI)" in out
    assert "p%40ss" not in out and "p@ss" not in out
    assert insecure == 1
    assert "WITHOUT full verification" in insecure_out


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("mongodb://127.0.0.1:1/?tls=false", "TLS is off in this URI"),
        ("mongodb+srv://cluster.example.net/", "SRV record"),
        ("http://127.0.0.1/", "not supported"),
        ("127.0.0.1:70000", "port '70000'"),
        ("[::1:443", "IPv6"),
    ],
)
def test_bad_targets_are_usage_errors(
    target: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, target)
    assert code == 2
    assert message in out


def test_bad_cafile_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "127.0.0.1:1", "--cafile", str(tmp_path / "missing.pem"))
    assert code == 2
    assert "missing.pem" in out


def test_parse_target() -> None:
    assert parse_target("example.com").port == 443
    assert (parse_target("[::1]:8443").host, parse_target("[::1]:8443").port) == ("::1", 8443)
    assert parse_target("::1").host == "::1"
    assert parse_target("mongodb://h1,h2:1/").port == 27017


def _python313() -> str | None:
    """A working Python 3.13+ other than this one (pyenv shims may exist but not run)."""
    candidates = [os.environ.get("TRUSTRESOLVE_TEST_PYTHON313"), shutil.which("python3.13")]
    candidates += [str(p) for p in Path("/root/.pyenv/versions").glob("3.1[3-9]*/bin/python3")]
    for candidate in candidates:
        if not candidate:
            continue
        probe = subprocess.run(
            [
                candidate,
                "-c",
                "import sys; assert sys.version_info >= (3, 13); print(sys.executable)",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0:
            # The interpreter itself: a pyenv shim needs PYENV_VERSION, which the test's
            # controlled environment does not carry.
            return probe.stdout.strip() or candidate
    return None


def test_tls13_only_server_chain_on_each_python(
    ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """TLS 1.3 encrypts the Certificate message: < 3.13 shows the leaf, 3.13+ the whole chain."""
    leaf = ca.create_child_ca().issue_cert("127.0.0.1")
    other = _file(tmp_path, "other.pem", trustme.CA().cert_pem.bytes())
    context = leaf_context(leaf, minimum=ssl.TLSVersion.TLSv1_3)
    with serve(tls_handler(context)) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", other)
        python313 = _python313()
        done = None
        if python313:
            env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": SRC}
            done = subprocess.run(
                [
                    python313,
                    "-m",
                    "trustresolve",
                    "--connect",
                    f"127.0.0.1:{port}",
                    "--cafile",
                    other,
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
                check=False,
            )
    assert code == 1
    if sys.version_info >= (3, 13):
        assert "[1] subject:" in out
    else:
        assert "only the leaf" in out
        assert "[1] subject:" not in out
    if done is None:
        pytest.skip("no Python 3.13 here to check get_unverified_chain()")
    assert done.returncode == 1, done.stderr
    assert "[1] subject:" in done.stdout
    assert "unknown issuer" in done.stdout
