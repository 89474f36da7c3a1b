"""``--connect``: a loopback server for each failure, and the verdict's cause and evidence.

Most tests run the doctor without printing (``diagnose``) and assert on the verdict as a value;
``test_verified`` and ``test_unknown_issuer_names_the_store_and_the_fixes`` check the printed
report through the CLI.
"""

from __future__ import annotations

import datetime
import os
import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trustme
from cryptography import x509

import trustresolve
from support.ca import crl_revoking, leaf_with_aia
from support.pages import assert_shown
from support.servers import (
    closed_port,
    leaf_context,
    leaf_only_context,
    plain_handler,
    serve,
    silent_handler,
    tls_handler,
)
from support.servers import pem_server_context as server_context
from trustresolve._cli.connect import Cause, diagnose, parse_target, protocol_advice
from trustresolve._cli.main import main

NOW = datetime.datetime.now(datetime.timezone.utc)
SRC = str(Path(__file__).resolve().parent.parent / "src")


# This machine sets SSL_CERT_FILE/SSL_CERT_DIR; each test decides for itself.
pytestmark = pytest.mark.usefixtures("doctor_env")


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


def test_the_cli_page_shows_a_real_unknown_issuer_report(
    ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = ca.issue_cert("db.internal", "127.0.0.1", common_name="db.internal")
    other = _file(tmp_path, "other-ca.pem", trustme.CA().cert_pem.bytes())
    with serve(tls_handler(leaf_context(leaf))) as port:
        _, out = run(capsys, f"127.0.0.1:{port}", "--cafile", other)
    assert_shown(
        "cli-unknown-issuer", out, {str(port): "8443", other: "other-ca.pem"}, page="docs/cli.rst"
    )


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
        verdict = diagnose(f"127.0.0.1:{port}").verdict
    assert verdict.cause is Cause.UNKNOWN_ISSUER
    assert verdict.evidence["store"] == f"the env store (file, {other})"


def test_unknown_root_behind_an_intermediate_the_server_sends(
    ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = ca.create_child_ca().issue_cert("127.0.0.1")
    other = _file(tmp_path, "other.pem", trustme.CA().cert_pem.bytes())
    with serve(tls_handler(leaf_context(leaf))) as port:
        found = diagnose(f"127.0.0.1:{port}", cafile=other)
    assert found.verdict.cause is Cause.UNKNOWN_ISSUER
    assert found.verdict.evidence["sent"] == 2  # read off the wire (TLS 1.2) or 3.13 API
    assert found.chain is not None and len(found.chain.certificates) == 2


def test_missing_intermediate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = trustme.CA()
    intermediate = root.create_child_ca()
    url = "http://127.0.0.1:9/intermediate.der"
    leaf_pem, key_pem = leaf_with_aia(intermediate, url)
    cafile = _file(tmp_path, "root.pem", root.cert_pem.bytes())
    with serve(tls_handler(server_context(leaf_pem, key_pem))) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=cafile).verdict
    assert verdict.cause is Cause.MISSING_INTERMEDIATE
    assert verdict.evidence["urls"] == (url,)
    assert any("send its full chain" in fix for fix in verdict.fixes)
    # Control: the same leaf with its intermediate verifies, so only the intermediate was missing.
    full = leaf_pem + intermediate.cert_pem.bytes()
    with serve(tls_handler(server_context(full, key_pem))) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=cafile).verdict
    assert verdict.cause is Cause.VERIFIED, verdict


def test_leaf_only_without_aia_is_unknown_issuer_with_the_intermediate_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = trustme.CA()
    leaf = root.create_child_ca().issue_cert("127.0.0.1")
    cafile = _file(tmp_path, "root.pem", root.cert_pem.bytes())
    with serve(tls_handler(leaf_only_context(leaf))) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=cafile).verdict
    assert verdict.cause is Cause.UNKNOWN_ISSUER
    assert verdict.evidence["sent"] == 1
    assert any("the server must send it too (missing intermediate)" in f for f in verdict.fixes)


@pytest.mark.parametrize("asked", ["127.0.0.1", "localhost"])
def test_hostname_mismatch(asked: str, ca: trustme.CA, tmp_path: Path) -> None:
    leaf = ca.issue_cert("db.example.net")
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    with serve(tls_handler(leaf_context(leaf))) as port:
        verdict = diagnose(f"{asked}:{port}", cafile=cafile).verdict
    assert verdict.cause is Cause.HOSTNAME_MISMATCH
    assert verdict.evidence["asked"] == asked
    assert verdict.evidence["offered"] == ("db.example.net",)


def test_expired(ca: trustme.CA, tmp_path: Path) -> None:
    not_after = NOW - datetime.timedelta(days=2)
    leaf = ca.issue_cert(
        "127.0.0.1", not_before=NOW - datetime.timedelta(days=30), not_after=not_after
    )
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    with serve(tls_handler(leaf_context(leaf))) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=cafile).verdict
    assert verdict.cause is Cause.EXPIRED
    problems = verdict.evidence["problems"]
    assert isinstance(problems, tuple)
    assert any(f"expired on {not_after:%Y-%m-%d}" in str(p) for p in problems)


def test_not_yet_valid(ca: trustme.CA, tmp_path: Path) -> None:
    not_before = NOW + datetime.timedelta(days=3)
    leaf = ca.issue_cert(
        "127.0.0.1", not_before=not_before, not_after=NOW + datetime.timedelta(days=30)
    )
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    with serve(tls_handler(leaf_context(leaf))) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=cafile).verdict
    assert verdict.cause is Cause.NOT_YET_VALID
    problems = verdict.evidence["problems"]
    assert isinstance(problems, tuple)
    assert any(f"not valid before {not_before:%Y-%m-%d}" in str(p) for p in problems)
    assert any("clock" in fix for fix in verdict.fixes)


def test_self_signed(ca: trustme.CA, tmp_path: Path) -> None:
    # The CA's own self-signed certificate served as the server's certificate.
    context = server_context(ca.cert_pem.bytes(), ca.private_key_pem.bytes())
    cafile = _file(tmp_path, "other.pem", trustme.CA().cert_pem.bytes())
    with serve(tls_handler(context)) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=cafile).verdict
    assert verdict.cause is Cause.SELF_SIGNED


def test_revoked_with_a_crl(ca: trustme.CA, tmp_path: Path) -> None:
    leaf = ca.issue_cert("127.0.0.1")
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    crlfile = _file(tmp_path, "crl.pem", crl_revoking(ca, leaf))
    with serve(tls_handler(leaf_context(leaf))) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=cafile, crlfile=crlfile).verdict
        uri = f"mongodb://127.0.0.1:{port}/?tls=true&tlsCAFile={cafile}&tlsCRLFile={crlfile}"
        uri_verdict = diagnose(uri).verdict
    serial = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).serial_number
    assert verdict.cause is Cause.REVOKED
    assert verdict.evidence["serial"] == serial
    assert uri_verdict.cause is Cause.REVOKED


def test_protocol_version_mismatch_is_the_real_alert(ca: trustme.CA, tmp_path: Path) -> None:
    leaf = ca.issue_cert("127.0.0.1")
    context = leaf_context(leaf, minimum=ssl.TLSVersion.TLSv1, maximum=ssl.TLSVersion.TLSv1_1)
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    with serve(tls_handler(context)) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=cafile).verdict
    v = ssl.TLSVersion
    assert verdict.cause is Cause.PROTOCOL_MISMATCH
    assert verdict.evidence["reason"] == "TLSV1_ALERT_PROTOCOL_VERSION"  # the server's alert
    assert verdict.evidence["server_versions"] == (v.TLSv1, v.TLSv1_1)
    assert verdict.evidence["client_versions"] == (v.TLSv1_2, v.TLSv1_3)
    assert verdict.evidence["complete"] == 1
    assert any("RFC 8996" in fix for fix in verdict.fixes)


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


def test_not_a_tls_server() -> None:
    with serve(plain_handler) as port:
        verdict = diagnose(f"127.0.0.1:{port}").verdict
    assert verdict.cause is Cause.NOT_TLS
    assert verdict.evidence["reason"]


def test_connection_refused() -> None:
    verdict = diagnose(f"127.0.0.1:{closed_port()}").verdict
    assert verdict.cause is Cause.CONNECTION_REFUSED
    assert verdict.evidence["address"] == "127.0.0.1"


def test_dns_failure() -> None:
    # RFC 6761: .invalid never resolves; only the local resolver is asked.
    verdict = diagnose("trustresolve-test.invalid:443", timeout=3).verdict
    assert verdict.cause is Cause.DNS_FAILURE
    assert verdict.evidence["host"] == "trustresolve-test.invalid"


def test_timeout() -> None:
    with serve(silent_handler) as port:
        started = time.monotonic()
        verdict = diagnose(f"127.0.0.1:{port}", timeout=0.5).verdict
    assert verdict.cause is Cause.TIMEOUT
    assert verdict.evidence["step"] == "TLS handshake"
    assert verdict.evidence["seconds"] == 0.5
    assert verdict.evidence["received"] == 0  # no TLS answer at all
    assert time.monotonic() - started < 5  # a hang guard, not a timing assertion


def test_uri_first_host_and_options(
    ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    with serve(tls_handler(leaf_context(ca.issue_cert("127.0.0.1")))) as port:
        uri = (
            f"mongodb://u:p%40ss@127.0.0.1:{port},db2.invalid:27017/app?tls=true&tlsCAFile={cafile}"
        )
        code, out = run(capsys, uri)
        insecure = diagnose(uri + "&tlsInsecure=true")
    assert code == 0, out
    assert f"Connecting to 127.0.0.1:{port} (from the MongoDB URI)" in out
    assert "p%40ss" not in out and "p@ss" not in out
    assert insecure.verdict.cause is Cause.NOT_FULLY_VERIFIED
    assert insecure.target.uri is not None and "p%40ss" not in insecure.target.uri


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
        found = diagnose(f"127.0.0.1:{port}", cafile=other)
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
    assert found.verdict.cause is Cause.UNKNOWN_ISSUER
    assert found.chain is not None
    if sys.version_info >= (3, 13):
        assert len(found.chain.certificates) == 2
    else:
        assert not found.chain.complete
        assert len(found.chain.certificates) == 1
    if done is None:
        pytest.skip("no Python 3.13 here to check get_unverified_chain()")
    assert done.returncode == 1, done.stderr
    assert "[1] subject:" in done.stdout
    assert "unknown issuer" in done.stdout


@pytest.mark.parametrize("cause", list(Cause))
def test_every_cause_has_a_report(cause: Cause) -> None:
    """The report renders each cause, even from evidence it does not expect."""
    from trustresolve._cli.connect import Verdict
    from trustresolve._cli.connect.report import verdict_lines

    headline, _ = verdict_lines(Verdict(cause, {}, ("a fix",)))
    assert headline.startswith("VERIFIED" if cause is Cause.VERIFIED else f"FAILED: {cause.value}")
