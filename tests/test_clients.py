"""Real clients using trustresolve against loopback servers.

Each client is also shown failing against the same server when trustresolve is not what gives it
its roots, so a pass means trustresolve's roots were used.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING

import aiohttp
import httpx
import pymongo
import pytest
import requests
import trustme
import urllib3
from pymongo.errors import ServerSelectionTimeoutError

from support.servers import TLSServer, http_ok, mongodb_responder, pinned_store, server_context
from trustresolve._store.resolve import where
from trustresolve._tls.context import create_default_context
from trustresolve._tls.inject import extract_from_ssl, inject_into_ssl

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    return str(tmp_path / "ca.pem")


@pytest.fixture
def store_is_ca(ca_file: str) -> Iterator[None]:
    with pinned_store({"SSL_CERT_FILE": ca_file}):
        assert where() == ca_file
        yield


@pytest.fixture
def other_ca_file(tmp_path: Path) -> str:
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "other.pem"))
    return str(tmp_path / "other.pem")


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 10  # pymongo's monitors stop shortly after close()
    while time.monotonic() < deadline:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra:
            return
        time.sleep(0.05)
    pytest.fail(f"threads left running: {[t.name for t in extra]}")


@pytest.fixture
def https_server(ca: trustme.CA) -> Iterator[TLSServer]:
    with TLSServer(server_context(ca.issue_cert("localhost", "127.0.0.1")), http_ok) as running:
        yield running


@pytest.fixture
def mongodb_server(ca: trustme.CA) -> Iterator[TLSServer]:
    context = server_context(ca.issue_cert("localhost", "127.0.0.1"))
    with TLSServer(context, mongodb_responder) as running:
        yield running


def url(server: TLSServer) -> str:
    return f"https://localhost:{server.port}/"


# --- pymongo -----------------------------------------------------------------------------------


def ping(server: TLSServer, timeout_ms: int = 5000, **options: object) -> object:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        "127.0.0.1",
        server.port,
        directConnection=True,
        serverSelectionTimeoutMS=timeout_ms,
        connect=False,
        **options,
    )
    try:
        return client.admin.command("ping")["ok"]
    finally:
        client.close()


@pytest.mark.usefixtures("store_is_ca")
def test_pymongo_with_tls_ca_file_from_where(mongodb_server: TLSServer) -> None:
    assert ping(mongodb_server, tls=True, tlsCAFile=where()) == 1.0
    assert mongodb_server.handshake_errors == []


def test_pymongo_refuses_the_server_with_another_ca(
    mongodb_server: TLSServer, other_ca_file: str
) -> None:
    with pytest.raises(ServerSelectionTimeoutError, match="certificate verify failed"):
        ping(mongodb_server, timeout_ms=1500, tls=True, tlsCAFile=other_ca_file)


def test_pymongo_with_only_tls_true_after_injection(
    mongodb_server: TLSServer, ca: trustme.CA, tmp_path: Path
) -> None:
    # Through the config backend: OpenSSL's own defaults (which PyMongo loads without
    # tlsCAFile) stay on the system store, so only injection can make this work.
    ca.cert_pem.write_to_path(str(tmp_path / "pinned.pem"))
    (tmp_path / "trustresolve.ini").write_text("[trustresolve]\ncafile = pinned.pem\n")
    with pinned_store({"TRUSTRESOLVE_CONFIG": str(tmp_path / "trustresolve.ini")}):
        with pytest.raises(ServerSelectionTimeoutError, match="certificate verify failed"):
            ping(mongodb_server, timeout_ms=1500, tls=True)
        inject_into_ssl()
        try:
            assert ping(mongodb_server, tls=True) == 1.0
        finally:
            extract_from_ssl()


# --- HTTP clients ------------------------------------------------------------------------------


@pytest.mark.usefixtures("store_is_ca")
def test_requests_with_verify_where(https_server: TLSServer, other_ca_file: str) -> None:
    assert requests.get(url(https_server), verify=where(), timeout=10).text == "ok"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url(https_server), verify=other_ca_file, timeout=10)


@pytest.mark.usefixtures("store_is_ca")
def test_httpx_with_create_default_context(https_server: TLSServer) -> None:
    with httpx.Client(verify=create_default_context()) as client:
        assert client.get(url(https_server)).text == "ok"


def test_httpx_refuses_without_the_resolved_store(
    https_server: TLSServer, other_ca_file: str
) -> None:
    with (
        pinned_store({"SSL_CERT_FILE": other_ca_file}),
        httpx.Client(verify=create_default_context()) as client,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get(url(https_server))


@pytest.mark.usefixtures("store_is_ca")
def test_urllib3_with_create_default_context(https_server: TLSServer) -> None:
    with urllib3.PoolManager(ssl_context=create_default_context(), retries=0) as pool:
        assert pool.request("GET", url(https_server)).data == b"ok"


def test_urllib3_refuses_without_the_resolved_store(
    https_server: TLSServer, other_ca_file: str
) -> None:
    with (
        pinned_store({"SSL_CERT_FILE": other_ca_file}),
        urllib3.PoolManager(ssl_context=create_default_context(), retries=0) as pool,
        pytest.raises(urllib3.exceptions.MaxRetryError, match="CERTIFICATE_VERIFY"),
    ):
        pool.request("GET", url(https_server))


async def aiohttp_get(target: str) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.get(target, ssl=create_default_context()) as reply,
    ):
        return await reply.text()


@pytest.mark.usefixtures("store_is_ca")
def test_aiohttp_with_create_default_context(https_server: TLSServer) -> None:
    assert asyncio.run(aiohttp_get(url(https_server))) == "ok"


def test_aiohttp_refuses_without_the_resolved_store(
    https_server: TLSServer, other_ca_file: str
) -> None:
    with (
        pinned_store({"SSL_CERT_FILE": other_ca_file}),
        pytest.raises(aiohttp.ClientConnectorCertificateError),
    ):
        asyncio.run(aiohttp_get(url(https_server)))
