"""inject_into_ssl() / extract_from_ssl().

The resolved store here comes from the ``config`` backend (``TRUSTRESOLVE_CONFIG``), with
SSL_CERT_FILE/SSL_CERT_DIR unset: OpenSSL's own defaults then stay on the system store, which
does not hold the test CA, so a handshake succeeds only if injection is in effect.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading
import types
import urllib.request
from ssl import create_default_context as create_default_context_imported_early
from typing import TYPE_CHECKING, Any

import pytest
import requests
import trustme
import urllib3

import trustresolve._tls.context as context_module
from support.servers import TLSServer, http_ok, pinned_store, server_context
from trustresolve._errors import NoTrustStoreError
from trustresolve._store.resolve import resolve, where
from trustresolve._tls.inject import extract_from_ssl, inject_into_ssl, is_injected

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

STDLIB_LOAD_DEFAULT_CERTS = vars(ssl.SSLContext)["load_default_certs"]
STDLIB_CREATE_DEFAULT_CONTEXT = ssl.create_default_context


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def config_store(ca: trustme.CA, tmp_path: Path) -> Iterator[str]:
    """The resolved store is the test CA, pinned in a config file; yields the CA path."""
    ca.cert_pem.write_to_path(str(tmp_path / "test-ca.pem"))
    ini = tmp_path / "trustresolve.ini"
    ini.write_text("[trustresolve]\ncafile = test-ca.pem\nnative = false\n")
    with pinned_store({"TRUSTRESOLVE_CONFIG": str(ini)}):
        assert resolve().source is not None
        assert resolve().source.backend == "config"
        yield str(tmp_path / "test-ca.pem")


@pytest.fixture
def injected(config_store: str) -> Iterator[None]:
    inject_into_ssl()
    try:
        yield
    finally:
        extract_from_ssl()


@pytest.fixture(autouse=True)
def _always_extracted() -> Iterator[None]:
    yield
    extract_from_ssl()
    assert vars(ssl.SSLContext)["load_default_certs"] is STDLIB_LOAD_DEFAULT_CERTS


@pytest.fixture
def https_server(ca: trustme.CA) -> Iterator[TLSServer]:
    context = server_context(ca.issue_cert("localhost", "127.0.0.1"))
    with TLSServer(context, http_ok) as running:
        yield running


def handshake(context: ssl.SSLContext, server: TLSServer) -> str:
    with (
        socket.create_connection(server.address, timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        return str(tls.version())


def plain_context_with_default_certs() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_default_certs()
    return context


# --- the stdlib --------------------------------------------------------------------------------


@pytest.mark.usefixtures("config_store")
def test_create_default_context_uses_the_store_only_while_injected(
    https_server: TLSServer,
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(ssl.create_default_context(), https_server)
    inject_into_ssl()
    assert handshake(ssl.create_default_context(), https_server)
    assert handshake(create_default_context_imported_early(), https_server)
    assert handshake(plain_context_with_default_certs(), https_server)
    extract_from_ssl()
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(ssl.create_default_context(), https_server)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(plain_context_with_default_certs(), https_server)


@pytest.mark.usefixtures("injected")
def test_urllib_request_uses_the_store(https_server: TLSServer) -> None:
    with urllib.request.urlopen(f"https://localhost:{https_server.port}/", timeout=10) as reply:
        assert reply.read() == b"ok"


@pytest.mark.usefixtures("config_store")
def test_extract_restores_the_originals_exactly() -> None:
    inject_into_ssl()
    assert vars(ssl.SSLContext)["load_default_certs"] is not STDLIB_LOAD_DEFAULT_CERTS
    extract_from_ssl()
    assert vars(ssl.SSLContext)["load_default_certs"] is STDLIB_LOAD_DEFAULT_CERTS
    assert ssl.create_default_context is STDLIB_CREATE_DEFAULT_CONTEXT
    assert not is_injected()


@pytest.mark.usefixtures("config_store")
def test_inject_and_extract_are_idempotent(https_server: TLSServer) -> None:
    extract_from_ssl()  # nothing to undo: no error
    inject_into_ssl()
    patched = vars(ssl.SSLContext)["load_default_certs"]
    inject_into_ssl()
    assert vars(ssl.SSLContext)["load_default_certs"] is patched  # not wrapped twice
    assert handshake(ssl.create_default_context(), https_server)
    extract_from_ssl()
    extract_from_ssl()
    assert vars(ssl.SSLContext)["load_default_certs"] is STDLIB_LOAD_DEFAULT_CERTS


@pytest.mark.usefixtures("config_store")
def test_concurrent_inject_and_extract_leave_a_consistent_state() -> None:
    start = threading.Barrier(16)
    errors: list[BaseException] = []

    def churn(index: int) -> None:
        try:
            start.wait()
            for _ in range(50):
                (inject_into_ssl if index % 2 else extract_from_ssl)()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    current = vars(ssl.SSLContext)["load_default_certs"]
    assert (current is not STDLIB_LOAD_DEFAULT_CERTS) == is_injected()
    extract_from_ssl()
    assert vars(ssl.SSLContext)["load_default_certs"] is STDLIB_LOAD_DEFAULT_CERTS


def test_a_machine_without_a_store_fails_at_injection(
    memo_off: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_store() -> Any:
        raise NoTrustStoreError("no usable CA trust store was found", resolution=None)  # type: ignore[arg-type]

    monkeypatch.setattr(context_module, "resolve", no_store)
    with pytest.raises(NoTrustStoreError):
        inject_into_ssl()
    assert not is_injected()
    assert vars(ssl.SSLContext)["load_default_certs"] is STDLIB_LOAD_DEFAULT_CERTS


@pytest.mark.usefixtures("injected")
def test_server_side_contexts_keep_ssl_s_behaviour(monkeypatch: pytest.MonkeyPatch) -> None:
    # Purpose.CLIENT_AUTH verifies clients: never the resolved (server-auth) store.
    monkeypatch.setattr(context_module, "resolve", lambda: pytest.fail("resolved for a server"))
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_default_certs(ssl.Purpose.CLIENT_AUTH)


def test_importing_patches_nothing() -> None:
    code = (
        "import ssl, trustresolve, trustresolve._tls.inject, trustresolve._tls.context\n"
        "assert ssl.SSLContext.load_default_certs.__module__ == 'ssl'\n"
        "assert ssl.create_default_context.__module__ == 'ssl'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- libraries imported before injection -------------------------------------------------------


@pytest.mark.usefixtures("config_store")
def test_urllib3_imported_before_uses_the_store(https_server: TLSServer) -> None:
    url = f"https://localhost:{https_server.port}/"
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        urllib3.PoolManager(retries=0).request("GET", url)
    inject_into_ssl()
    assert urllib3.PoolManager(retries=0).request("GET", url).data == b"ok"


@pytest.mark.usefixtures("config_store")
def test_requests_imported_before_uses_the_store(https_server: TLSServer) -> None:
    url = f"https://localhost:{https_server.port}/"
    original_bundle = requests.adapters.DEFAULT_CA_BUNDLE_PATH
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, timeout=10)
    inject_into_ssl()
    assert where() == requests.adapters.DEFAULT_CA_BUNDLE_PATH
    assert requests.get(url, timeout=10).text == "ok"
    extract_from_ssl()
    assert requests.adapters.DEFAULT_CA_BUNDLE_PATH is original_bundle


@pytest.mark.usefixtures("config_store")
def test_requests_preloaded_context_is_swapped_and_restored(
    monkeypatch: pytest.MonkeyPatch, https_server: TLSServer
) -> None:
    # requests 2.32.x kept an import-time context (certifi) in adapters._preloaded_ssl_context.
    preloaded = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    monkeypatch.setattr(requests.adapters, "_preloaded_ssl_context", preloaded, raising=False)
    inject_into_ssl()
    swapped = requests.adapters._preloaded_ssl_context
    assert swapped is not preloaded
    assert handshake(swapped, https_server)
    extract_from_ssl()
    assert requests.adapters._preloaded_ssl_context is preloaded


@pytest.mark.usefixtures("config_store")
def test_aiohttp_imported_before_uses_the_store(https_server: TLSServer) -> None:
    import asyncio

    import aiohttp

    original = aiohttp.connector._SSL_CONTEXT_VERIFIED
    url = f"https://localhost:{https_server.port}/"

    async def fetch() -> str:
        async with aiohttp.ClientSession() as session, session.get(url) as reply:
            return await reply.text()

    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        asyncio.run(fetch())
    inject_into_ssl()
    assert aiohttp.connector._SSL_CONTEXT_VERIFIED is not original
    assert asyncio.run(fetch()) == "ok"
    extract_from_ssl()
    assert aiohttp.connector._SSL_CONTEXT_VERIFIED is original


@pytest.mark.usefixtures("config_store")
def test_pymongo_pyopenssl_context_class_is_patched_and_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # pymongo[ocsp] builds contexts with its own PyOpenSSL wrapper class, not ssl.SSLContext.
    loaded: list[str] = []

    class FakePyOpenSSLContext:
        def load_default_certs(self) -> None:
            loaded.append("system")

        def load_verify_locations(self, cafile: str) -> None:
            loaded.append(cafile)

    original = FakePyOpenSSLContext.load_default_certs
    module = types.ModuleType("pymongo.pyopenssl_context")
    module.SSLContext = FakePyOpenSSLContext  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pymongo.pyopenssl_context", module)
    inject_into_ssl()
    FakePyOpenSSLContext().load_default_certs()
    assert loaded == [where()]
    extract_from_ssl()
    assert vars(FakePyOpenSSLContext)["load_default_certs"] is original
    FakePyOpenSSLContext().load_default_certs()
    assert loaded == [where(), "system"]
