"""``--connect`` against the real PostgreSQL, MariaDB and Redis of tests/db_servers.py.

Verified runs through each family's URI and through ``--starttls``, a plain TLS hello to the
in-protocol servers, servers with TLS off, an attacker's certificate refused with the URI's own
CA file, ``sslnegotiation=direct`` against PostgreSQL 15, and the pages' outputs
(``.. doctor-output:``) built from these runs. Every command a verdict prints is run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from db_servers import HOST, POSTGRES_BIN, Pki, Server, binary, make_pki, mariadb, postgresql
from db_servers import redis_server as redis
from support.pages import assert_shown
from support.servers import pinned_store
from trustresolve._cli.connect import Cause, diagnose
from trustresolve._cli.main import main

SHOWN_CA = "/etc/ssl/db-ca.pem"  # what the pages show for the test CA's path


pytestmark = pytest.mark.usefixtures("doctor_env")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("db-doctor-pki"))


@pytest.fixture(scope="module")
def pg(pki: Pki) -> Iterator[dict[str, Server]]:
    if binary("initdb", POSTGRES_BIN) is None:
        pytest.skip("PostgreSQL's initdb is not installed (apt-get install postgresql)")
    with contextlib.ExitStack() as stack:
        yield {
            "good": stack.enter_context(postgresql(pki)),
            "evil": stack.enter_context(postgresql(pki, kind="evil")),
            "off": stack.enter_context(postgresql(pki, tls=False)),
        }


@pytest.fixture(scope="module")
def maria(pki: Pki) -> Iterator[dict[str, Server]]:
    if (binary("mariadbd") or binary("mysqld")) is None:
        pytest.skip("MariaDB is not installed (apt-get install mariadb-server)")
    with contextlib.ExitStack() as stack:
        yield {
            "good": stack.enter_context(mariadb(pki)),
            "off": stack.enter_context(mariadb(pki, tls=False)),
        }


@pytest.fixture(scope="module")
def redis_port(pki: Pki) -> Iterator[int]:
    if binary("redis-server") is None:
        pytest.skip("Redis is not installed (apt-get install redis-server)")
    with redis(pki) as server:
        yield server.port


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["--connect", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def printed_commands(fixes: tuple[str, ...]) -> list[list[str]]:
    """The ``python -m trustresolve ...`` commands the fixes print, as argv lists."""
    found = re.findall(r"`(python -m trustresolve [^`]+)`", " ".join(fixes))
    return [shlex.split(command)[3:] for command in found]


def run_printed(fixes: tuple[str, ...], ca_pem: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each printed command verifies, with the test CA as the machine's store."""
    commands = printed_commands(fixes)
    assert commands, fixes
    with pinned_store({"SSL_CERT_FILE": ca_pem}):
        for argv in commands:
            code = main(argv)
            out = capsys.readouterr().out
            assert code == 0, (argv, out)
            assert "Verdict: VERIFIED" in out


# --- verified through each family's URI -------------------------------------------------------


def test_postgresql_uri_verifies_and_prints_no_credentials(
    pki: Pki, pg: dict[str, Server], capsys: pytest.CaptureFixture[str]
) -> None:
    port = pg["good"].port
    uri = (
        f"postgresql://app:s3cr%40t@{HOST}:{port}/shop?sslmode=verify-full"
        f"&sslrootcert={pki.ca_pem}&password=hunter2&application_name=x"
    )
    code, out = run(capsys, uri)
    assert code == 0, out
    assert "Negotiation: PostgreSQL SSLRequest, then TLS" in out
    assert f"Trust: the CA file {pki.ca_pem}" in out
    for secret in ("s3cr", "hunter2", "app:"):
        assert secret not in out
    assert_shown("db-postgresql-verified", out, {str(port): "5432", pki.ca_pem: SHOWN_CA})


@pytest.mark.parametrize("scheme", ["mysql", "mariadb"])
def test_mysql_uri_verifies(
    scheme: str, pki: Pki, maria: dict[str, Server], capsys: pytest.CaptureFixture[str]
) -> None:
    port = maria["good"].port
    uri = f"{scheme}://app:app-pw@{HOST}:{port}/?ssl-mode=VERIFY_IDENTITY&ssl-ca={pki.ca_pem}"
    code, out = run(capsys, uri)
    assert code == 0, out
    assert "Negotiation: MySQL greeting and SSLRequest, then TLS" in out
    assert "app-pw" not in out


def test_rediss_uri_verifies(pki: Pki, redis_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, f"rediss://:redis-pw@{HOST}:{redis_port}/0?ssl_ca_certs={pki.ca_pem}")
    assert code == 0, out
    assert "Negotiation:" not in out  # TLS from the first byte
    assert "redis-pw" not in out
    assert_shown("db-rediss-verified", out, {str(redis_port): "6380", pki.ca_pem: SHOWN_CA})


def test_a_plain_redis_uri_says_to_use_rediss(
    redis_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, f"redis://{HOST}:{redis_port}/0")
    assert code == 2
    assert "redis:// is Redis without TLS; use rediss://" in out


@pytest.mark.parametrize(("flag", "family"), [("postgres", "pg"), ("mysql", "maria")])
def test_starttls_on_a_bare_port(
    flag: str,
    family: str,
    pki: Pki,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = request.getfixturevalue(family)["good"].port
    code, out = run(capsys, f"{HOST}:{port}", "--starttls", flag, "--cafile", pki.ca_pem)
    assert code == 0, out
    if flag == "mysql":
        assert_shown("db-starttls-mysql", out, {str(port): "3306", pki.ca_pem: SHOWN_CA})


# --- a plain TLS hello to a database that starts TLS inside its protocol ---------------------


@pytest.mark.parametrize(
    ("family", "protocol", "sign", "said", "shown_port"),
    [
        ("pg", "PostgreSQL", "answers PostgreSQL's SSLRequest", "EOF", "5432"),
        ("maria", "MySQL", "MariaDB", "WRONG_VERSION_NUMBER", "3306"),
    ],
)
def test_plain_tls_to_a_database_names_the_option(
    family: str,
    protocol: str,
    sign: str,
    said: str,
    shown_port: str,
    pki: Pki,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = request.getfixturevalue(family)["good"]
    found = diagnose(f"{HOST}:{server.port}", cafile=pki.ca_pem)
    assert found.verdict.cause is Cause.IN_PROTOCOL_TLS
    assert found.verdict.evidence["protocol"] == protocol
    assert sign in str(found.verdict.evidence["sign"])
    assert said in str(found.verdict.evidence["openssl"])
    flag = "postgres" if family == "pg" else "mysql"
    assert any(f"--starttls {flag}" in fix for fix in found.verdict.fixes)
    run_printed(found.verdict.fixes, pki.ca_pem, capsys)
    code, out = run(capsys, f"{HOST}:{server.port}", "--cafile", pki.ca_pem)
    assert code == 1
    substitutions = {str(server.port): shown_port, pki.ca_pem: SHOWN_CA}
    if family == "pg":
        assert "invalid length of startup packet" in server.log_text()  # what users saw
        assert_shown("db-plain-tls-postgresql", out, substitutions)
    else:
        assert_shown("db-plain-tls-mariadb", out, substitutions)


def test_a_mongodb_uri_to_mariadb_is_recognised_too(
    maria: dict[str, Server],
) -> None:
    verdict = diagnose(f"mongodb://{HOST}:{maria['good'].port}/?tls=true").verdict
    assert verdict.cause is Cause.IN_PROTOCOL_TLS


# --- servers with TLS off ----------------------------------------------------------------------


def test_postgresql_with_ssl_off_answers_n(
    pg: dict[str, Server], capsys: pytest.CaptureFixture[str]
) -> None:
    port = pg["off"].port
    code, out = run(capsys, f"postgresql://{HOST}:{port}/?sslmode=require")
    assert code == 1
    assert "Verdict: FAILED: the server does not offer TLS" in out
    assert_shown("db-postgresql-no-tls", out, {str(port): "5432"})
    # The check the fix names works as printed on that server.
    # The check the fix names, run with PostgreSQL's own client (psycopg is CPython-only).
    psql = binary("psql", POSTGRES_BIN)
    assert psql is not None
    shown = subprocess.run(
        [psql, "-h", HOST, "-p", str(port), "-U", "postgres", "-Atc", "SHOW ssl;"],
        env={**os.environ, "PGSSLMODE": "disable"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert shown.stdout.strip() == "off"


def test_mariadb_without_tls_has_no_client_ssl(
    maria: dict[str, Server], capsys: pytest.CaptureFixture[str]
) -> None:
    import pymysql

    server = maria["off"]
    verdict = diagnose(f"{HOST}:{server.port}", starttls="mysql").verdict
    assert verdict.cause is Cause.TLS_NOT_OFFERED
    assert "MariaDB" in str(verdict.evidence["server"])
    assert any("SHOW VARIABLES LIKE 'have_ssl';" in fix for fix in verdict.fixes)
    admin = pymysql.connect(unix_socket=str(server.directory / "mysqld.sock"), user="root")
    try:
        with admin.cursor() as cursor:
            cursor.execute("SHOW VARIABLES LIKE 'have_ssl';")
            assert cursor.fetchone() == ("have_ssl", "DISABLED")
    finally:
        admin.close()


# --- whose CAs are trusted ----------------------------------------------------------------------


def test_the_uris_root_file_refuses_an_attackers_certificate(
    pki: Pki, pg: dict[str, Server], tmp_path: Path
) -> None:
    port = pg["evil"].port  # its leaf is for the right name, from another CA
    uri = f"postgresql://{HOST}:{port}/?sslmode=verify-full&sslrootcert={pki.ca_pem}"
    # Even with the attacker's CA in the machine's store, the URI's file is the only trust.
    other = tmp_path / "machine.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with pinned_store({"SSL_CERT_FILE": str(other)}):
        verdict = diagnose(uri).verdict
    assert verdict.cause is Cause.UNKNOWN_ISSUER
    assert verdict.evidence["store"] == f"the CA file {pki.ca_pem}"
    good = diagnose(uri.replace(str(port), str(pg["good"].port))).verdict
    assert good.cause is Cause.VERIFIED  # control: the same URI verifies the real server


# --- PostgreSQL 17's direct TLS against PostgreSQL 15 ----------------------------------------


def test_direct_tls_against_postgresql_15_says_so(
    pki: Pki, pg: dict[str, Server], capsys: pytest.CaptureFixture[str]
) -> None:
    port = pg["good"].port
    uri = (
        f"postgresql://{HOST}:{port}/?sslmode=verify-full&sslrootcert={pki.ca_pem}"
        "&sslnegotiation=direct"
    )
    found = diagnose(uri)
    assert found.verdict.cause is Cause.NO_DIRECT_TLS
    assert any("Remove sslnegotiation=direct" in fix for fix in found.verdict.fixes)
    run_printed(found.verdict.fixes, pki.ca_pem, capsys)
    code, out = run(capsys, uri)
    assert code == 1
    assert_shown("db-direct-tls", out, {str(port): "5432", pki.ca_pem: SHOWN_CA})
