"""The wire formats of ``_cli/connect/negotiate.py`` against loopback fakes: PostgreSQL's
SSLRequest and its answers, MySQL's greeting, error packet and SSLRequest, PostgreSQL 17's
direct TLS with ALPN, and how a plain TLS hello to such a port is recognised.

The real servers (tests/db_servers.py) are in test_connect_databases.py; these fakes cover the
answers a real server cannot be made to give on demand ('E', a MySQL error packet, direct TLS).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from support.pages import assert_shown
from support.servers import leaf_context, plain_handler, serve
from trustresolve._cli.connect import Cause, diagnose, parse_target
from trustresolve._cli.connect.negotiate import CLIENT_SSL, MESSAGE_LIMIT, SSL_REQUEST
from trustresolve._cli.main import main
from trustresolve._errors import ConfigurationError

pytestmark = pytest.mark.usefixtures("doctor_env")


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def cafile(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def _recv_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


# --- PostgreSQL ---------------------------------------------------------------------------------


def postgres_fake(
    answer: bytes, seen: list[bytes], then: ssl.SSLContext | None = None
) -> Callable[[socket.socket], None]:
    """Reads the 8-byte request, answers ``answer``; after ``S`` does TLS with ``then``."""

    def handle(conn: socket.socket) -> None:
        seen.append(_recv_exact(conn, 8))
        conn.sendall(answer)
        if then is not None:
            with then.wrap_socket(conn, server_side=True) as tls, contextlib.suppress(OSError):
                tls.recv(1)

    return handle


def test_the_ssl_request_is_eight_bytes_and_s_starts_tls(ca: trustme.CA, cafile: str) -> None:
    seen: list[bytes] = []
    context = leaf_context(ca.issue_cert("localhost"))
    with serve(postgres_fake(b"S", seen, context)) as port:
        uri = f"postgresql://localhost:{port}/db?sslmode=verify-full&sslrootcert={cafile}"
        verdict = diagnose(uri).verdict
    assert verdict.cause is Cause.VERIFIED, verdict
    # Length 8, code 80877103 (1234 << 16 | 5679), for every handshake of the run.
    assert bytes.fromhex("0000000804d2162f") == SSL_REQUEST
    requests = [r for r in seen if r]  # the first connection only checks that TCP answers
    assert all(request == SSL_REQUEST for request in requests)
    assert len(requests) >= 2  # the verifying handshake and the chain fetch both negotiated


def test_n_is_the_server_does_not_offer_tls() -> None:
    with serve(postgres_fake(b"N", [])) as port:
        verdict = diagnose(f"127.0.0.1:{port}", starttls="postgres").verdict
    assert verdict.cause is Cause.TLS_NOT_OFFERED
    assert any("ssl = on" in fix for fix in verdict.fixes)
    assert any("sslmode=prefer" in fix and "WITHOUT" in fix for fix in verdict.fixes)


def _error_response(message: bytes, code: bytes = b"28000") -> bytes:
    body = b"SFATAL\x00C" + code + b"\x00M" + message + b"\x00\x00"
    return b"E" + struct.pack("!i", len(body) + 4) + body


def test_an_error_response_is_quoted_escaped_and_bounded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    message = b"no entry for host \x1b[31mred\x1b[0m " + b"x" * 2000
    with serve(postgres_fake(_error_response(message), [])) as port:
        verdict = diagnose(f"127.0.0.1:{port}", starttls="postgres").verdict
        code = main(["--connect", f"127.0.0.1:{port}", "--starttls", "postgres"])
    out = capsys.readouterr().out
    assert verdict.cause is Cause.REFUSED_BEFORE_TLS
    text = str(verdict.evidence["message"])
    assert text.startswith("no entry for host \\x1b[31mred")
    assert len(text) == MESSAGE_LIMIT + 3 and text.endswith("...")
    assert verdict.evidence["code"] == "28000"
    assert code == 1
    assert "\x1b" not in out and "[28000]" in out


def test_a_wrong_answer_is_not_taken_for_postgresql() -> None:
    with serve(postgres_fake(b"HTTP/1.0 400 Bad Request\r\n\r\n", [])) as port:
        verdict = diagnose(f"127.0.0.1:{port}", starttls="postgres").verdict
    assert verdict.cause is Cause.UNEXPECTED_ANSWER
    assert str(verdict.evidence["data"]).startswith("HTTP/1.0 400")


# --- PostgreSQL 17's direct TLS -----------------------------------------------------------------


def test_direct_tls_with_alpn_postgresql_verifies(ca: trustme.CA, cafile: str) -> None:
    context = leaf_context(ca.issue_cert("localhost"))
    context.set_alpn_protocols(["postgresql"])
    seen: list[bytes] = []

    def handle(conn: socket.socket) -> None:
        seen.append(conn.recv(1, socket.MSG_PEEK))  # a ClientHello, no SSLRequest
        with context.wrap_socket(conn, server_side=True) as tls, contextlib.suppress(OSError):
            tls.recv(1)

    with serve(handle) as port:
        uri = (
            f"postgresql://localhost:{port}/?sslmode=verify-full&sslrootcert={cafile}"
            "&sslnegotiation=direct"
        )
        found = diagnose(uri)
    assert found.verdict.cause is Cause.VERIFIED, found.verdict
    assert b"\x16" in seen and set(seen) <= {b"\x16", b""}  # TLS records, no SSLRequest
    assert found.chain is not None and found.chain.certificates  # the probes offered ALPN too


def test_direct_tls_without_alpn_is_refused_as_libpq_does(
    ca: trustme.CA, cafile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    context = leaf_context(ca.issue_cert("localhost"))  # selects no ALPN
    with serve(lambda conn: _tls_then_wait(context, conn)) as port:
        uri = (
            f"postgresql://localhost:{port}/?sslmode=verify-full&sslrootcert={cafile}"
            "&sslnegotiation=direct"
        )
        verdict = diagnose(uri).verdict
        main(["--connect", uri])
    out = capsys.readouterr().out
    assert_shown("db-no-alpn", out, {str(port): "5432", cafile: "/etc/ssl/db-ca.pem"})
    assert verdict.cause is Cause.NO_ALPN
    assert verdict.evidence["selected"] == ""


def _tls_then_wait(context: ssl.SSLContext, conn: socket.socket) -> None:
    with context.wrap_socket(conn, server_side=True) as tls, contextlib.suppress(OSError):
        tls.recv(1)


# A TLS 1.2 record: fatal alert (2) no_application_protocol (120).
NO_APPLICATION_PROTOCOL = bytes.fromhex("15030300020278")


def test_plain_tls_to_a_direct_tls_postgresql_names_postgresql(ca: trustme.CA) -> None:
    """A PostgreSQL 17 port refuses a hello without ALPN postgresql (no_application_protocol)
    and answers an SSLRequest: the doctor says PostgreSQL."""
    context = leaf_context(ca.issue_cert("localhost"))
    context.set_alpn_protocols(["postgresql"])

    def handle(conn: socket.socket) -> None:
        if conn.recv(1, socket.MSG_PEEK) != b"\x16":
            postgres_fake(b"S", [], context)(conn)
        elif b"\x0apostgresql" not in conn.recv(4096, socket.MSG_PEEK):
            conn.sendall(NO_APPLICATION_PROTOCOL)  # what PostgreSQL 17 answers (RFC 7301 §3.2)
        else:
            _tls_then_wait(context, conn)

    with serve(handle) as port:
        verdict = diagnose(f"localhost:{port}").verdict
    assert verdict.cause is Cause.IN_PROTOCOL_TLS, verdict
    assert verdict.evidence["protocol"] == "PostgreSQL"
    assert "no application protocol" in str(verdict.evidence["openssl"])


# --- MySQL / MariaDB ----------------------------------------------------------------------------


def greeting(flags: int, version: bytes = b"8.0.36") -> bytes:
    payload = (
        b"\x0a" + version + b"\x00" + struct.pack("<I", 7) + b"abcdefgh" + b"\x00"
        + struct.pack("<H", flags) + b"\x21" + struct.pack("<H", 2) + struct.pack("<H", 0)
        + b"\x15" + b"\x00" * 10 + b"ijklmnopqrst\x00" + b"mysql_native_password\x00"
    )  # fmt: skip
    return len(payload).to_bytes(3, "little") + b"\x00" + payload


def mysql_fake(
    first: bytes, seen: list[bytes], then: ssl.SSLContext | None = None
) -> Callable[[socket.socket], None]:
    """Greets with ``first``; after a 36-byte SSLRequest does TLS with ``then``."""

    def handle(conn: socket.socket) -> None:
        conn.sendall(first)
        if then is None:
            with contextlib.suppress(OSError):
                conn.recv(1024)
            return
        seen.append(_recv_exact(conn, 36))
        _tls_then_wait(then, conn)

    return handle


def test_the_mysql_ssl_request_follows_the_greeting(ca: trustme.CA, cafile: str) -> None:
    seen: list[bytes] = []
    context = leaf_context(ca.issue_cert("localhost"))
    with serve(mysql_fake(greeting(0xFFFF), seen, context)) as port:
        verdict = diagnose(f"localhost:{port}", starttls="mysql", cafile=cafile).verdict
    assert verdict.cause is Cause.VERIFIED, verdict
    request = next(r for r in seen if r)  # the first connection only checks TCP
    assert request[:4] == b"\x20\x00\x00\x01"  # 32-byte payload, sequence id 1
    flags, max_packet, _charset, filler = struct.unpack("<IIB23s", request[4:])
    assert flags & CLIENT_SSL and flags & 0x200  # CLIENT_SSL, CLIENT_PROTOCOL_41
    assert max_packet == 2**24 - 1
    assert filler == b"\x00" * 23


def test_a_greeting_without_client_ssl_does_not_offer_tls() -> None:
    with serve(mysql_fake(greeting(0xFFFF & ~CLIENT_SSL, b"10.11.6-MariaDB"), [])) as port:
        verdict = diagnose(f"localhost:{port}", starttls="mysql").verdict
    assert verdict.cause is Cause.TLS_NOT_OFFERED
    assert verdict.evidence["server"] == "10.11.6-MariaDB"
    assert any("ssl_cert" in fix and "have_ssl" in fix for fix in verdict.fixes)
    assert any("ssl-mode=PREFERRED" in fix for fix in verdict.fixes)


def test_a_mysql_error_packet_is_quoted(capsys: pytest.CaptureFixture[str]) -> None:
    message = b"Host '127.0.0.1' is not allowed to connect to this MySQL server"
    payload = b"\xff" + struct.pack("<H", 1130) + b"#HY000" + message
    packet = len(payload).to_bytes(3, "little") + b"\x00" + payload
    with serve(mysql_fake(packet, [])) as port:
        verdict = diagnose(f"mysql://localhost:{port}/").verdict
        main(["--connect", f"mysql://localhost:{port}/"])
    assert_shown("db-refused", capsys.readouterr().out, {str(port): "3306"})
    assert verdict.cause is Cause.REFUSED_BEFORE_TLS
    assert verdict.evidence["message"] == message.decode()
    assert verdict.evidence["code"] == "error 1130 (HY000)"


def test_plain_tls_to_a_mysql_greeting_says_mysql() -> None:
    with serve(mysql_fake(greeting(0xFFFF, b"8.0.36"), [])) as port:
        verdict = diagnose(f"localhost:{port}").verdict
    assert verdict.cause is Cause.IN_PROTOCOL_TLS
    assert verdict.evidence["server"] == "8.0.36"
    assert any("--starttls mysql" in fix for fix in verdict.fixes)


def test_an_oversized_greeting_is_not_read() -> None:
    huge = b"\xff\xff\xff\x00" + b"\x0a" * 64
    with serve(mysql_fake(huge, [])) as port:
        verdict = diagnose(f"localhost:{port}", starttls="mysql", timeout=5).verdict
    assert verdict.cause is Cause.UNEXPECTED_ANSWER


# --- targets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "port", "dialect"),
    [
        ("postgresql://h/db", 5432, "postgresql"),
        ("postgres://u:p@h/db", 5432, "postgresql"),
        ("mysql://h", 3306, "mysql"),
        ("mariadb://u@h:3307/x", 3307, "mysql"),
        ("rediss://:pw@h/0", 6379, "redis"),
        ("mongodb://h", 27017, "mongodb"),
    ],
)
def test_default_ports_and_families(uri: str, port: int, dialect: str) -> None:
    target = parse_target(uri)
    assert (target.host, target.port, target.dialect) == ("h", port, dialect)
    assert target.uri is not None and "p@" not in target.uri and "pw" not in target.uri


def test_starttls_targets() -> None:
    assert parse_target("db", "postgres").port == 5432
    assert parse_target("db:6000", "mysql").port == 6000
    with pytest.raises(ConfigurationError, match="goes with a HOST"):
        parse_target("postgresql://db/", "postgres")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("postgresql:///db", "local UNIX socket"),
        ("postgresql://%2Fvar%2Frun%2Fpostgresql/db", "UNIX domain socket"),
        ("mysql://u@(/tmp/mysql.sock)/db", "UNIX domain socket"),
        ("redis://127.0.0.1:1/0", "redis:// is Redis without TLS; use rediss://"),
        ("postgresql://127.0.0.1:1/?sslmode=disable", "sslmode=disable turns TLS off"),
        ("mysql://127.0.0.1:1/?ssl-mode=DISABLED", "ssl-mode=DISABLED turns TLS off"),
        ("postgresql://127.0.0.1:1/?sslnegotiation=direct", "may not be used with sslnegot"),
    ],
)
def test_bad_database_targets_are_usage_errors(
    target: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--connect", target]) == 2
    assert message in capsys.readouterr().err


def test_starttls_goes_with_connect(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--which", "--starttls", "postgres"])
    assert exited.value.code == 2
    assert "--starttls goes with --connect" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("target", "named"),
    [
        ("mongodb://127.0.0.1:{port}/?tls=true", "enable net.tls"),
        ("rediss://127.0.0.1:{port}/0", "tls-port"),
        ("127.0.0.1:{port}", "--starttls postgres, --starttls mysql"),
    ],
)
def test_the_not_tls_fix_speaks_the_targets_family(target: str, named: str) -> None:
    with serve(plain_handler) as port:
        verdict = diagnose(target.format(port=port)).verdict
    assert verdict.cause is Cause.NOT_TLS
    assert named in verdict.fixes[0]
    assert ("MongoDB" in verdict.fixes[0]) == target.startswith("mongodb")


def test_starttls_postgres_on_a_mysql_port_says_mysql() -> None:
    with serve(mysql_fake(greeting(0xFFFF, b"8.0.36"), [])) as port:
        verdict = diagnose(f"localhost:{port}", starttls="postgres").verdict
    assert verdict.cause is Cause.IN_PROTOCOL_TLS
    assert verdict.evidence["protocol"] == "MySQL"
    assert "not PostgreSQL" in verdict.fixes[0] and "--starttls mysql" in verdict.fixes[0]
