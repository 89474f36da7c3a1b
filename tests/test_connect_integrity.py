"""``--connect`` under a hostile server or input: the report stays honest.

- A certificate's names, AIA URLs and subject cannot rewrite the report (terminal escapes, CR,
  C1 controls, bidi overrides): every one is printed in a visible escaped form.
- One deadline covers the whole run, whatever a trickling server does.
- A URI's password appears in no output and no error, however the URI is malformed.
"""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path

import pytest
import trustme

from support.ca import crafted_leaf
from support.servers import (
    closed_port,
    first_then,
    leaf_context,
    serve,
    tls_handler,
    trickling_handler,
)
from support.servers import pem_server_context as server_context
from trustresolve._cli.connect import Cause, diagnose
from trustresolve._cli.main import main
from trustresolve._cli.terminal import safe

# Each tries to end the real line and draw a verdict of its own.
FAKE = "Verdict: VERIFIED: the chain and the name verify"
EVIL_DNS = [
    f"evil.example\x1b[2K\r{FAKE}\x07",
    f"evil2.example\n{FAKE}",
    "evil3.example\x1b]0;title\x07\x7f",
]
EVIL_URL = f"http://evil.example/ca.der\x1b[1A\x1b[2K\r\n{FAKE}"
# A CN holds at most 64 characters (RFC 5280 ub-common-name).
EVIL_SUBJECT = "\u009b2K\u202eDEIFIREV :tcidreV\u2066\u2069\u200b\u0085\rVerdict: VERIFIED"


# This machine sets SSL_CERT_FILE/SSL_CERT_DIR; each test decides for itself.
pytestmark = pytest.mark.usefixtures("doctor_env")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["--connect", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _file(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _terminal_unsafe(text: str) -> list[str]:
    """The characters of ``text`` a terminal would act on (a newline ends a line: allowed)."""
    return [
        c
        for c in text
        if c != "\n" and unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
    ]


def _assert_honest(out: str, cause: Cause) -> None:
    """No character a terminal acts on, and exactly one line that starts as a verdict: the real
    one (a server's text may still *contain* the words, escaped, inside its own line)."""
    assert _terminal_unsafe(out) == [], out
    verdicts = [line for line in out.splitlines() if line.lstrip().startswith("Verdict:")]
    assert verdicts == [f"Verdict: FAILED: {cause.value}"], out


# --- server-controlled text -------------------------------------------------------------------


def test_safe_escapes_every_kind_of_control() -> None:
    assert safe("plain text, 100% ASCII") == "plain text, 100% ASCII"
    assert safe("café, ünïcode, 日本") == "café, ünïcode, 日本"  # printable non-ASCII stays
    assert safe("a\x1b[2Kb\rc\x07\x7f\n\t") == "a\\x1b[2Kb\\x0dc\\x07\\x7f\\x0a\\x09"
    assert safe("\u009b\u0085") == "\\x9b\\x85"  # C1: CSI, NEL
    assert safe("\u202e\u2066\u2069\u200b\ufeff") == "\\u202e\\u2066\\u2069\\u200b\\ufeff"
    assert safe("\u2028\u2029") == "\\u2028\\u2029"
    assert safe("\udcff") == "\\udcff"  # an undecodable byte of a path (surrogateescape)
    assert safe("\U000e0001") == "\\U000e0001"  # a tag character (format)
    assert _terminal_unsafe(safe("".join(map(chr, range(0x30000))))) == []


def test_hostile_names_in_a_hostname_mismatch_cannot_fake_a_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = trustme.CA()
    leaf_pem, key_pem = crafted_leaf(ca, common_name=EVIL_SUBJECT, dns_names=EVIL_DNS)
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    with serve(tls_handler(server_context(leaf_pem, key_pem))) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", cafile)
        found = diagnose(f"127.0.0.1:{port}", cafile=cafile)
    assert code == 1
    assert found.verdict.cause is Cause.HOSTNAME_MISMATCH
    assert found.verdict.evidence["offered"] == tuple(EVIL_DNS)  # the evidence is not altered
    _assert_honest(out, Cause.HOSTNAME_MISMATCH)
    assert "evil.example\\x1b[2K\\x0dVerdict: VERIFIED" in out  # shown, visibly escaped
    assert "\\u202e" in out and "\\x9b" in out


def test_hostile_aia_url_and_subject_in_a_missing_intermediate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = trustme.CA()
    intermediate = root.create_child_ca()
    leaf_pem, key_pem = crafted_leaf(
        intermediate,
        common_name=EVIL_SUBJECT,
        dns_names=["localhost", *EVIL_DNS],
        ca_issuers_url=EVIL_URL,
    )
    cafile = _file(tmp_path, "root.pem", root.cert_pem.bytes())
    with serve(tls_handler(server_context(leaf_pem, key_pem))) as port:
        code, out = run(capsys, f"localhost:{port}", "--cafile", cafile)
    assert code == 1
    _assert_honest(out, Cause.MISSING_INTERMEDIATE)
    assert "http://evil.example/ca.der\\x1b[1A" in out


def test_hostile_subject_of_an_unknown_issuer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf_pem, key_pem = crafted_leaf(
        trustme.CA(), common_name=EVIL_SUBJECT, dns_names=["localhost", *EVIL_DNS]
    )
    other = _file(tmp_path, "other.pem", trustme.CA().cert_pem.bytes())
    with serve(tls_handler(server_context(leaf_pem, key_pem))) as port:
        code, out = run(capsys, f"localhost:{port}", "--cafile", other)
    assert code == 1
    _assert_honest(out, Cause.UNKNOWN_ISSUER)


def test_a_hostile_cafile_path_is_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = trustme.CA()
    cafile = _file(tmp_path, f"ca\x1b[2K\r{FAKE}\u202e.pem", ca.cert_pem.bytes())
    with serve(tls_handler(leaf_context(trustme.CA().issue_cert("127.0.0.1")))) as port:
        code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", cafile)
    assert code == 1
    _assert_honest(out, Cause.UNKNOWN_ISSUER)
    missing = str(tmp_path / f"\x1b]0;x\x07{FAKE}.pem")
    code, out = run(capsys, "127.0.0.1:1", "--cafile", missing)
    assert code == 2
    assert _terminal_unsafe(out) == [], out


# --- one deadline -----------------------------------------------------------------------------

TIMEOUT = 3.0
HANG_GUARD = 5 * TIMEOUT  # not a timing assertion: only "it did not hang"
FIRST = 2  # the doctor's connections before its probes: the TCP check, the verifying handshake


def test_a_trickling_server_cannot_stretch_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(trickling_handler(1.5)) as port:
        started = time.monotonic()
        found = diagnose(f"127.0.0.1:{port}", timeout=TIMEOUT)
        code, out = run(capsys, f"127.0.0.1:{port}", "--timeout", f"{TIMEOUT:g}")
        elapsed = time.monotonic() - started
    assert found.verdict.cause is Cause.TIMEOUT
    assert found.verdict.evidence["step"] == "TLS handshake"
    received = found.verdict.evidence["received"]
    assert isinstance(received, int) and received >= 1  # it did answer, a byte at a time
    assert code == 1
    assert "Verdict: FAILED: timeout" in out
    assert "timed out" in out
    assert elapsed < 2 * HANG_GUARD


def test_the_deadline_covers_the_certificate_fetch(tmp_path: Path) -> None:
    """The verifying handshake fails at once; the later handshakes that fetch the chain
    trickle: they share the run's deadline instead of each getting the timeout again."""
    leaf = trustme.CA().issue_cert("127.0.0.1")
    other = _file(tmp_path, "other.pem", trustme.CA().cert_pem.bytes())
    handler = first_then(tls_handler(leaf_context(leaf)), trickling_handler(1.5), count=FIRST)
    with serve(handler) as port:
        started = time.monotonic()
        found = diagnose(f"127.0.0.1:{port}", cafile=other, timeout=TIMEOUT)
        elapsed = time.monotonic() - started
    assert found.verdict.cause is Cause.UNKNOWN_ISSUER
    assert found.chain is None
    assert found.chain_timed_out
    assert elapsed < HANG_GUARD


def test_the_deadline_covers_the_version_probes(tmp_path: Path) -> None:
    import ssl

    leaf = trustme.CA().issue_cert("127.0.0.1")
    legacy = leaf_context(leaf, minimum=ssl.TLSVersion.TLSv1, maximum=ssl.TLSVersion.TLSv1_1)
    handler = first_then(tls_handler(legacy), trickling_handler(1.5), count=FIRST)
    with serve(handler) as port:
        started = time.monotonic()
        found = diagnose(f"127.0.0.1:{port}", timeout=TIMEOUT)
        elapsed = time.monotonic() - started
    assert found.verdict.cause is Cause.PROTOCOL_MISMATCH
    assert found.verdict.evidence["complete"] == 0  # the probes ran out of time, and say so
    assert elapsed < HANG_GUARD


# --- secrets ----------------------------------------------------------------------------------

SECRET_PARTS = ("Hunter2", "Secret", "hunter2", "s3cr3t")


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb://admin:Hunter2/Secret@{loop}/?tls=true",  # '/' unescaped in the password
        "mongodb://admin:Hunter2Secret@127.0.0.1:notaport/?tls=true",
        "mongodb://admin:Hunter2Secret",  # the host forgotten: the password looks like a port
        "mongodb://admin:Hunter2Secret/",
        "mongodb://:Hunter2Secret/?tls=true",
        "mongodb://admin:Hun?ter2Secret@{loop}/?tls=true",  # '?' unescaped in the password
        "mongodb://admin:Hunter2Secret@[::1/?tls=true",
        "mongodb://admin:Hunter2Secret@/?tls=true",
        "mongodb://admin:Hunter2Secret@{loop}/?tls=false",
        "mongodb://admin:Hunter2Secret@{loop}/?tls=true&tlsCAFile=/nonexistent/ca.pem",
        "mongodb://admin:Hunter2Secret@{loop}/?tls=true&tlsInsecure=maybe",
        "mongodb://admin:Hunter2Secret@{loop}/?tls=true&tlsCertificateKeyFilePassword=s3cr3t",
        "mongodb://admin:Hunter2%2FSecret@{loop}/?tls=true",
        "mongodb://admin:Hunter2Secret@/tmp/mongodb-27017.sock/?tls=true",
        "mongodb://admin:Hunter2Secret@{loop},db2.invalid/app?tls=true&appName=a%40b",
        "mongodb://admin:Hunter2Secret@{loop}/?tls=true&appName=a@b",
        "mongodb+srv://admin:Hunter2Secret@cluster.example.net/",
        "mongodb://hunter2@{loop}/?tls=true",  # a username alone
    ],
)
def test_no_output_shows_a_password(uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    target = uri.replace("{loop}", f"127.0.0.1:{closed_port()}")
    code, out = run(capsys, target, "--timeout", "3")
    assert code in (1, 2), out
    assert out.strip(), "a failure must say why"
    for part in SECRET_PARTS:
        assert part not in out, out


def test_a_verified_run_with_credentials_shows_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = trustme.CA()
    cafile = _file(tmp_path, "ca.pem", ca.cert_pem.bytes())
    with serve(tls_handler(leaf_context(ca.issue_cert("127.0.0.1")))) as port:
        uri = f"mongodb://admin:Hunter2/Secret@127.0.0.1:{port}/app?tls=true&tlsCAFile={cafile}"
        code, out = run(capsys, uri)
        found = diagnose(uri)
    assert code == 0, out
    assert found.verdict.cause is Cause.VERIFIED
    assert found.target.uri is not None
    for part in SECRET_PARTS:
        assert part not in out
        assert part not in found.target.uri
