"""docs/troubleshooting.rst shows each ``--connect`` verdict with the output of a real run: each
test here builds one scenario (a loopback server, a CA file), runs the command line and matches
what it printed against the page (``.. doctor-output: NAME``, tests/support/pages.py).
"""

from __future__ import annotations

import contextlib
import datetime
import io
import socket
import ssl
from collections.abc import Mapping
from pathlib import Path

import pytest
import trustme

from support.ca import client_only_leaf, crl_revoking, leaf_with_aia, signed_crl
from support.pages import assert_shown
from support.servers import (
    closed_port,
    leaf_context,
    leaf_only_context,
    pem_server_context,
    plain_handler,
    serve,
    silent_handler,
    tls_handler,
)
from test_connect_client import Mtls
from trustresolve._cli.main import main

PAST = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
FUTURE = datetime.datetime(2999, 1, 1, tzinfo=datetime.timezone.utc)


pytestmark = pytest.mark.usefixtures("doctor_env")


def printed(*argv: str) -> str:
    """What ``python -m trustresolve --connect ARGV`` prints (stdout and stderr)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        main(["--connect", *argv])
    return out.getvalue()


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def shown_as(port: int, paths: Mapping[str, str]) -> dict[str, str]:
    """The page shows port 8443 and short file names."""
    return {**paths, str(port): "8443"}


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def other(tmp_path: Path) -> str:
    return write(tmp_path / "other-ca.pem", trustme.CA().cert_pem.bytes())


@pytest.fixture
def cafile(ca: trustme.CA, tmp_path: Path) -> str:
    return write(tmp_path / "ca.pem", ca.cert_pem.bytes())


def test_unknown_issuer(ca: trustme.CA, other: str) -> None:
    leaf = ca.create_child_ca().issue_cert("db.internal", "127.0.0.1", common_name="db.internal")
    with serve(tls_handler(leaf_context(leaf))) as port:
        out = printed(f"127.0.0.1:{port}", "--cafile", other)
    assert_shown("unknown-issuer", out, shown_as(port, {other: "other-ca.pem"}))


def test_missing_intermediate(tmp_path: Path) -> None:
    root = trustme.CA()
    leaf_pem, key_pem = leaf_with_aia(root.create_child_ca(), "http://ca.example/int.der")
    rootfile = write(tmp_path / "root.pem", root.cert_pem.bytes())
    with serve(tls_handler(pem_server_context(leaf_pem, key_pem))) as port:
        out = printed(f"127.0.0.1:{port}", "--cafile", rootfile)
    assert_shown("missing-intermediate", out, shown_as(port, {rootfile: "root.pem"}))


def test_self_signed(other: str) -> None:
    itself = trustme.CA()
    context = pem_server_context(itself.cert_pem.bytes(), itself.private_key_pem.bytes())
    with serve(tls_handler(context)) as port:
        out = printed(f"127.0.0.1:{port}", "--cafile", other)
    assert_shown("self-signed", out, shown_as(port, {other: "other-ca.pem"}))


def test_hostname_mismatch(ca: trustme.CA, cafile: str) -> None:
    leaf = ca.issue_cert("db.example.net", common_name="db.example.net")
    with serve(tls_handler(leaf_only_context(leaf))) as port:
        out = printed(f"127.0.0.1:{port}", "--cafile", cafile)
    assert_shown("hostname-mismatch", out, shown_as(port, {cafile: "ca.pem"}))


def test_expired(ca: trustme.CA, cafile: str) -> None:
    leaf = ca.issue_cert("127.0.0.1", not_before=PAST, not_after=PAST.replace(year=2021))
    with serve(tls_handler(leaf_only_context(leaf))) as port:
        out = printed(f"127.0.0.1:{port}", "--cafile", cafile)
    assert_shown("expired", out, shown_as(port, {cafile: "ca.pem"}))


def test_not_yet_valid(ca: trustme.CA, cafile: str) -> None:
    leaf = ca.issue_cert("127.0.0.1", not_before=FUTURE, not_after=FUTURE.replace(year=3000))
    with serve(tls_handler(leaf_only_context(leaf))) as port:
        out = printed(f"127.0.0.1:{port}", "--cafile", cafile)
    assert_shown("not-yet-valid", out, shown_as(port, {cafile: "ca.pem"}))


def test_revoked(ca: trustme.CA, cafile: str, tmp_path: Path) -> None:
    leaf = ca.issue_cert("127.0.0.1")
    crlfile = write(tmp_path / "crl.pem", crl_revoking(ca, leaf))
    with serve(tls_handler(leaf_only_context(leaf))) as port:
        out = printed(f"127.0.0.1:{port}", "--cafile", cafile, "--crlfile", crlfile)
    assert_shown("revoked", out, shown_as(port, {cafile: "ca.pem", crlfile: "crl.pem"}))


def test_no_crl_for_the_issuer(ca: trustme.CA, cafile: str, tmp_path: Path) -> None:
    crlfile = write(tmp_path / "crl.pem", signed_crl(trustme.CA(), []))  # another CA's CRL
    with serve(tls_handler(leaf_only_context(ca.issue_cert("127.0.0.1")))) as port:
        out = printed(f"127.0.0.1:{port}", "--cafile", cafile, "--crlfile", crlfile)
    assert_shown("no-crl", out, shown_as(port, {cafile: "ca.pem", crlfile: "crl.pem"}))


def test_crl_out_of_date(ca: trustme.CA, cafile: str, tmp_path: Path) -> None:
    crlfile = write(tmp_path / "crl.pem", signed_crl(ca, [], next_update=PAST))
    with serve(tls_handler(leaf_only_context(ca.issue_cert("127.0.0.1")))) as port:
        out = printed(f"127.0.0.1:{port}", "--cafile", cafile, "--crlfile", crlfile)
    assert_shown("crl-out-of-date", out, shown_as(port, {cafile: "ca.pem", crlfile: "crl.pem"}))


def test_handshake_failed(ca: trustme.CA, cafile: str) -> None:
    context = leaf_context(ca.issue_cert("127.0.0.1"))

    def only_known_names(tls: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> int:
        return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME  # e.g. a proxy routing by SNI

    context.sni_callback = only_known_names  # type: ignore[assignment]
    with serve(tls_handler(context)) as port:
        out = printed(f"localhost:{port}", "--cafile", cafile)
    assert_shown("handshake-failed", out, shown_as(port, {cafile: "ca.pem"}))


def test_verify_failed(ca: trustme.CA, cafile: str) -> None:
    with serve(tls_handler(pem_server_context(*client_only_leaf(ca)))) as port:
        out = printed(f"127.0.0.1:{port}", "--cafile", cafile)
    assert_shown("verify-failed", out, shown_as(port, {cafile: "ca.pem"}))


def test_protocol_mismatch(ca: trustme.CA, cafile: str) -> None:
    versions = {"minimum": ssl.TLSVersion.TLSv1, "maximum": ssl.TLSVersion.TLSv1_1}
    old = leaf_context(ca.issue_cert("127.0.0.1"), **versions)
    with serve(tls_handler(old)) as port:
        out = printed(f"127.0.0.1:{port}", "--cafile", cafile)
    assert_shown("protocol-mismatch", out, shown_as(port, {cafile: "ca.pem"}))


def test_not_tls() -> None:
    with serve(plain_handler) as port:
        out = printed(f"127.0.0.1:{port}")
    assert_shown("not-tls", out, shown_as(port, {}))


def test_closed_during_the_handshake() -> None:
    def hang_up(conn: socket.socket) -> None:
        conn.recv(16384)  # the ClientHello, then close without a word

    with serve(hang_up) as port:
        out = printed(f"127.0.0.1:{port}")
    assert_shown("closed", out, shown_as(port, {}))


def test_timeout() -> None:
    with serve(silent_handler) as port:
        out = printed(f"127.0.0.1:{port}", "--timeout", "0.5")
    assert_shown("timeout", out, shown_as(port, {}))


def test_connection_refused() -> None:
    port = closed_port()
    out = printed(f"127.0.0.1:{port}")
    assert_shown("connection-refused", out, shown_as(port, {}))


def test_dns_failure() -> None:
    # RFC 6761: .invalid never resolves; only the local resolver is asked.
    out = printed("db.example.invalid:27017", "--timeout", "3")
    assert_shown("dns-failure", out, {})


def test_not_fully_verified(ca: trustme.CA) -> None:
    with serve(tls_handler(leaf_only_context(ca.issue_cert("127.0.0.1")))) as port:
        out = printed(f"mongodb://127.0.0.1:{port}/?tls=true&tlsInsecure=true")
    assert_shown("not-fully-verified", out, shown_as(port, {}))


# --- the client's certificate --------------------------------------------------------------------


@pytest.fixture
def mtls(tmp_path: Path) -> Mtls:
    return Mtls(tmp_path)


def _names(mtls: Mtls) -> dict[str, str]:
    return {
        mtls.cafile: "ca.pem",
        mtls.cert: "client.crt",
        mtls.key: "client.key",
        mtls.stranger: "stranger.pem",
    }


def test_client_certificate_required(mtls: Mtls) -> None:
    with serve(tls_handler(mtls.server_context(ssl.TLSVersion.TLSv1_3))) as port:
        out = printed(f"127.0.0.1:{port}", "--cafile", mtls.cafile)
    assert_shown("client-cert-required", out, shown_as(port, _names(mtls)))


def test_client_certificate_verified(mtls: Mtls) -> None:
    with serve(tls_handler(mtls.server_context(ssl.TLSVersion.TLSv1_2))) as port:
        out = printed(
            f"127.0.0.1:{port}", "--cafile", mtls.cafile, "--cert", mtls.cert, "--key", mtls.key
        )
    assert_shown("client-cert-verified", out, shown_as(port, _names(mtls)))


def test_client_certificate_rejected(mtls: Mtls) -> None:
    with serve(tls_handler(mtls.server_context(ssl.TLSVersion.TLSv1_2))) as port:
        out = printed(f"127.0.0.1:{port}", "--cafile", mtls.cafile, "--cert", mtls.stranger)
    assert_shown("client-cert-rejected", out, shown_as(port, _names(mtls)))


def test_closed_after_the_handshake(mtls: Mtls) -> None:
    context = leaf_context(mtls.leaf, maximum=ssl.TLSVersion.TLSv1_2)

    def close_at_once(conn: socket.socket) -> None:
        context.wrap_socket(conn, server_side=True).close()

    with serve(close_at_once) as port:
        out = printed(f"127.0.0.1:{port}", "--cafile", mtls.cafile)
    assert_shown("closed-after-handshake", out, shown_as(port, _names(mtls)))
