"""PyMySQL and aiomysql (``ssl=`` the context from ``driver_kwargs()``) against a real MariaDB
with TLS on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from db_servers import CLIENT_KEY_PASSWORD, HOST, Pki, binary, make_pki, mariadb
from support.servers import pinned_store
from trustresolve import TLSOptions

pymysql = pytest.importorskip("pymysql", reason="PyMySQL is not installed for this interpreter")

pytestmark = pytest.mark.skipif(
    binary("mariadbd") is None and binary("mysqld") is None,
    reason="the MariaDB server is not installed (apt-get install mariadb-server)",
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("mysql-pki"))


@pytest.fixture(scope="module")
def servers(pki: Pki) -> Iterator[dict[str, int]]:
    with contextlib.ExitStack() as stack:
        yield {
            kind: stack.enter_context(mariadb(pki, kind=kind)).port
            for kind in ("good", "wrong_host", "expired", "revoked")
        }


def _pymysql(options: TLSOptions, port: int, user: str = "app") -> bool:
    conn = pymysql.connect(
        host=HOST, port=port, user=user, password=f"{user}-pw", connect_timeout=10,
        **options.driver_kwargs(),
    )  # fmt: skip
    try:
        with conn.cursor() as cursor:
            cursor.execute("SHOW STATUS LIKE 'Ssl_version'")
            row = cursor.fetchone()
            assert row is not None and row[1].startswith("TLS")
        return True
    finally:
        conn.close()


def _aiomysql(options: TLSOptions, port: int, user: str = "app") -> bool:
    aiomysql = pytest.importorskip(
        "aiomysql", reason="aiomysql is not installed for this interpreter"
    )
    kwargs = options.driver_kwargs()
    assert set(kwargs) == {"ssl"}  # aiomysql takes the context as ssl= too

    async def run() -> bool:
        conn = await aiomysql.connect(
            host=HOST, port=port, user=user, password=f"{user}-pw", connect_timeout=10,
            ssl=kwargs["ssl"],
        )  # fmt: skip
        try:
            async with conn.cursor() as cursor:
                await cursor.execute("SHOW STATUS LIKE 'Ssl_version'")
                row = await cursor.fetchone()
                assert row is not None and row[1].startswith("TLS")
            return True
        finally:
            conn.close()

    return asyncio.run(run())


def _refused(connect: Any, options: TLSOptions, port: int, user: str = "app") -> str:
    """The failure message; the test asserts what it is about."""
    with pytest.raises(Exception) as info:
        connect(options, port, user)
    return str(info.value) + repr(info.value.__cause__ or info.value.__context__)


CLIENTS = pytest.mark.parametrize("connect", [_pymysql, _aiomysql], ids=["PyMySQL", "aiomysql"])


@CLIENTS
def test_resolved_store_verify_identity(connect: Any, pki: Pki, servers: dict[str, int]) -> None:
    with pinned_store({"SSL_CERT_FILE": pki.ca_pem}):
        options = TLSOptions.from_uri("mysql://h/db?ssl-mode=VERIFY_IDENTITY")
        assert connect(options, servers["good"])
        assert "certificate" in _refused(connect, options, servers["wrong_host"])


@CLIENTS
def test_ca_named_in_the_uri(connect: Any, pki: Pki, servers: dict[str, int]) -> None:
    options = TLSOptions.from_uri(f"mariadb://h/db?ssl-ca={pki.ca_pem}")
    assert options.check_hostname
    assert connect(options, servers["good"])


@CLIENTS
def test_verify_ca_connects_to_the_wrong_host_verify_identity_does_not(
    connect: Any, pki: Pki, servers: dict[str, int]
) -> None:
    uri = f"mysql://h/db?ssl-ca={pki.ca_pem}&ssl-mode="
    assert connect(TLSOptions.from_uri(uri + "VERIFY_CA"), servers["wrong_host"])
    assert "certificate" in _refused(
        connect, TLSOptions.from_uri(uri + "VERIFY_IDENTITY"), servers["wrong_host"]
    )


@CLIENTS
def test_evil_ca_never_connects(connect: Any, pki: Pki, servers: dict[str, int]) -> None:
    evil_ca = pki.directory / "unrelated-ca.pem"
    import trustme

    trustme.CA().cert_pem.write_to_path(str(evil_ca))
    options = TLSOptions.from_kwargs(dialect="mysql", ssl_ca=str(evil_ca))
    assert "certificate" in _refused(connect, options, servers["good"])


@CLIENTS
def test_expired_never_connects(connect: Any, pki: Pki, servers: dict[str, int]) -> None:
    for options in (
        TLSOptions.from_kwargs(dialect="mysql", ssl_ca=pki.ca_pem),
        TLSOptions.from_kwargs(dialect="mysql", ssl_mode="VERIFY_CA", ssl_ca=pki.ca_pem),
    ):
        assert "expired" in _refused(connect, options, servers["expired"])


@CLIENTS
def test_require_x509_with_an_encrypted_key(
    connect: Any, pki: Pki, servers: dict[str, int]
) -> None:
    options = TLSOptions.from_kwargs(
        dialect="mysql",
        ssl={"ca": pki.ca_pem, "cert": pki.client_cert, "key": pki.client_key},
        ssl_key_password=CLIENT_KEY_PASSWORD,
    )
    assert connect(options, servers["good"], user="x509")
    without = TLSOptions.from_kwargs(dialect="mysql", ssl_ca=pki.ca_pem)
    assert "Access denied" in _refused(connect, without, servers["good"], user="x509")


@CLIENTS
def test_crl_revokes(connect: Any, pki: Pki, servers: dict[str, int]) -> None:
    revoking = TLSOptions.from_kwargs(dialect="mysql", ssl_ca=pki.ca_pem, ssl_crl=pki.crl)
    assert "revoked" in _refused(connect, revoking, servers["revoked"])
    assert connect(revoking, servers["good"])
