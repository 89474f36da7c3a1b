"""psycopg (libpq keywords from ``driver_kwargs()``) and asyncpg (``ssl=`` the context) against
a real PostgreSQL with TLS on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import platform
from collections.abc import Iterator
from typing import Any

import pytest

from db_servers import CLIENT_KEY_PASSWORD, HOST, POSTGRES_BIN, Pki, binary, make_pki, postgresql
from support.servers import pinned_store
from trustresolve import TLSOptions

if platform.python_implementation() != "CPython":  # before the import: it fails at GC time
    pytest.skip(
        "psycopg supports CPython only (its ctypes libpq wrapper fails on PyPy)",
        allow_module_level=True,
    )
psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed for this interpreter")

pytestmark = pytest.mark.skipif(
    binary("initdb", POSTGRES_BIN) is None,
    reason="PostgreSQL's initdb is not installed (apt-get install postgresql)",
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pg-pki"))


@pytest.fixture(scope="module")
def servers(pki: Pki) -> Iterator[dict[str, int]]:
    with contextlib.ExitStack() as stack:
        ports = {
            kind: stack.enter_context(postgresql(pki, kind=kind)).port
            for kind in ("good", "wrong_host", "expired", "evil")
        }
        yield ports


def _psycopg(options: TLSOptions, port: int, user: str = "postgres") -> bool:
    kwargs = options.driver_kwargs()
    with psycopg.connect(
        host=HOST, port=port, user=user, dbname="postgres", connect_timeout=10, **kwargs
    ) as conn:
        assert conn.pgconn.ssl_in_use
        return conn.execute("SELECT 1").fetchone() == (1,)


def _asyncpg(options: TLSOptions, port: int, user: str = "postgres") -> bool:
    asyncpg = pytest.importorskip("asyncpg", reason="asyncpg is not installed for this interpreter")

    async def run() -> bool:
        conn = await asyncpg.connect(
            host=HOST, port=port, user=user, database="postgres", timeout=10,
            ssl=options.create_context(),
        )  # fmt: skip
        try:
            return bool(await conn.fetchval("SELECT 1") == 1)
        finally:
            await conn.close()

    return asyncio.run(run())


def _refused(connect: Any, options: TLSOptions, port: int) -> bool:
    """True when the connection fails on the server's certificate (not on anything else)."""
    try:
        connect(options, port)
    except (psycopg.OperationalError, OSError) as exc:
        return "certificate" in str(exc)
    return False


CLIENTS = pytest.mark.parametrize("connect", [_psycopg, _asyncpg], ids=["psycopg", "asyncpg"])


@CLIENTS
def test_resolved_store_verify_full(connect: Any, pki: Pki, servers: dict[str, int]) -> None:
    with pinned_store({"SSL_CERT_FILE": pki.ca_pem}):
        for uri in ("postgresql://h/db?sslmode=verify-full", "postgres://h/db?sslrootcert=system"):
            assert connect(TLSOptions.from_uri(uri), servers["good"])


@CLIENTS
def test_ca_named_in_the_uri(connect: Any, pki: Pki, servers: dict[str, int]) -> None:
    options = TLSOptions.from_uri(f"postgresql://h/db?sslmode=verify-full&sslrootcert={pki.ca_pem}")
    assert connect(options, servers["good"])


@CLIENTS
def test_verify_ca_connects_to_the_wrong_host_verify_full_does_not(
    connect: Any, pki: Pki, servers: dict[str, int]
) -> None:
    uri = f"postgresql://h/db?sslrootcert={pki.ca_pem}&sslmode="
    assert connect(TLSOptions.from_uri(uri + "verify-ca"), servers["wrong_host"])
    assert _refused(connect, TLSOptions.from_uri(uri + "verify-full"), servers["wrong_host"])


@CLIENTS
@pytest.mark.parametrize("kind", ["wrong_host", "expired", "evil"])
def test_bad_certificates_never_connect(
    connect: Any, kind: str, pki: Pki, servers: dict[str, int]
) -> None:
    options = TLSOptions.from_uri(f"postgresql://h/db?sslmode=verify-full&sslrootcert={pki.ca_pem}")
    assert _refused(connect, options, servers[kind])
    with pinned_store({"SSL_CERT_FILE": pki.ca_pem}):
        assert _refused(
            connect, TLSOptions.from_uri("postgresql://h/?sslmode=verify-full"), servers[kind]
        )


@CLIENTS
def test_cert_auth_with_an_encrypted_key(connect: Any, pki: Pki, servers: dict[str, int]) -> None:
    options = TLSOptions.from_kwargs(
        dialect="postgresql",
        sslmode="verify-full",
        sslrootcert=pki.ca_pem,
        sslcert=pki.client_cert,
        sslkey=pki.client_key,
        sslpassword=CLIENT_KEY_PASSWORD,
    )
    assert connect(options, servers["good"], user="client")
    without = TLSOptions.from_kwargs(
        dialect="postgresql", sslmode="verify-full", sslrootcert=pki.ca_pem
    )
    with pytest.raises(Exception, match="certificate"):
        connect(without, servers["good"], user="client")


@CLIENTS
def test_crl_revokes(connect: Any, pki: Pki) -> None:
    options = TLSOptions.from_kwargs(
        dialect="postgresql", sslmode="verify-full", sslrootcert=pki.ca_pem, sslcrl=pki.crl
    )
    with postgresql(pki, kind="revoked") as server:
        assert _refused(connect, options, server.port)
        plain = TLSOptions.from_kwargs(
            dialect="postgresql", sslmode="verify-full", sslrootcert=pki.ca_pem
        )
        assert connect(plain, server.port)


def test_require_does_not_verify_and_says_so(pki: Pki, servers: dict[str, int]) -> None:
    options = TLSOptions.from_uri("postgresql://h/db?sslmode=require")
    assert options.driver_kwargs() == {"sslmode": "require", "ssl_min_protocol_version": "TLSv1.2"}
    assert _psycopg(options, servers["evil"])  # what libpq itself does with require
    from trustresolve import InsecureContextWarning

    with pytest.warns(InsecureContextWarning, match="sslmode=require"):
        assert _asyncpg(options, servers["evil"])
