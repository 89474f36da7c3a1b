"""redis-py (sync and asyncio) against a real Redis with TLS on 127.0.0.1.

The client gets exactly what ``TLSOptions.driver_kwargs()`` returns (redis-py takes no
SSLContext). Every refusal is a real handshake failing against a real server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from db_servers import CLIENT_KEY_PASSWORD, HOST, Pki, binary, make_pki, redis_server
from support.servers import pinned_store
from trustresolve import TLSOptions

redis = pytest.importorskip("redis", reason="redis-py is not installed for this interpreter")
redis_asyncio = pytest.importorskip("redis.asyncio", reason="redis-py has no asyncio client here")

pytestmark = pytest.mark.skipif(
    binary("redis-server") is None,
    reason="redis-server is not installed (apt-get install redis-server)",
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("redis-pki"))


@pytest.fixture(scope="module")
def servers(pki: Pki) -> Iterator[dict[str, int]]:
    """One Redis per server certificate, and one that requires client certificates."""
    ports: dict[str, int] = {}
    with contextlib_exit_stack() as stack:
        for kind in ("good", "wrong_host", "expired", "evil"):
            ports[kind] = stack.enter_context(redis_server(pki, kind=kind)).port
        mtls = stack.enter_context(redis_server(pki, auth_clients=True))
        ports["mtls"] = mtls.port
        yield ports


def contextlib_exit_stack() -> Any:
    import contextlib

    return contextlib.ExitStack()


def _ping(kwargs: dict[str, Any], port: int) -> bool:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No retries: a refused handshake is the answer, not a hiccup.
    client = redis.Redis(
        host=HOST, port=port, socket_timeout=10, retry=Retry(NoBackoff(), 0), **kwargs
    )
    try:
        return bool(client.ping())
    finally:
        client.close()


def _ping_async(kwargs: dict[str, Any], port: int) -> bool:
    async def ping() -> bool:
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        client = redis_asyncio.Redis(
            host=HOST, port=port, socket_timeout=10, retry=Retry(NoBackoff(), 0), **kwargs
        )
        try:
            return bool(await client.ping())
        finally:
            await client.aclose()

    return asyncio.run(ping())


def _async_takes_key_password() -> bool:
    import inspect

    from redis.asyncio.connection import SSLConnection

    return "ssl_password" in inspect.signature(SSLConnection.__init__).parameters


PINGS = pytest.mark.parametrize("ping", [_ping, _ping_async], ids=["sync", "asyncio"])


@PINGS
def test_resolved_store_verifies_fully(ping: Any, pki: Pki, servers: dict[str, int]) -> None:
    with pinned_store({"SSL_CERT_FILE": pki.ca_pem}):
        kwargs = TLSOptions.from_uri(f"rediss://{HOST}:{servers['good']}/0").driver_kwargs()
        assert kwargs["ssl_check_hostname"] is True
        assert ping(kwargs, servers["good"])


@PINGS
def test_ca_named_in_the_uri(ping: Any, pki: Pki, servers: dict[str, int]) -> None:
    uri = f"rediss://{HOST}:{servers['good']}/0?ssl_ca_certs={pki.ca_pem}&ssl_cert_reqs=required"
    assert ping(TLSOptions.from_uri(uri).driver_kwargs(), servers["good"])


@PINGS
@pytest.mark.parametrize("kind", ["wrong_host", "expired", "evil"])
def test_bad_certificates_never_connect(
    ping: Any, kind: str, pki: Pki, servers: dict[str, int]
) -> None:
    # The EVIL CA is the platform's here: only the named CA may decide.
    kwargs = TLSOptions.from_kwargs(
        dialect="redis", ssl=True, ssl_ca_certs=pki.ca_pem
    ).driver_kwargs()
    with pytest.raises(redis.exceptions.ConnectionError, match=r"(?i)certificate"):
        ping(kwargs, servers[kind])


def test_no_hostname_check_connects_to_the_wrong_host(pki: Pki, servers: dict[str, int]) -> None:
    kwargs = TLSOptions.from_kwargs(
        dialect="redis", ssl=True, ssl_ca_certs=pki.ca_pem, ssl_check_hostname=False
    ).driver_kwargs()
    assert _ping(kwargs, servers["wrong_host"])
    with pytest.raises(redis.exceptions.ConnectionError, match=r"(?i)certificate"):
        _ping(kwargs, servers["evil"])


@PINGS
def test_mutual_tls_with_an_encrypted_key(ping: Any, pki: Pki, servers: dict[str, int]) -> None:
    if ping is _ping_async and not _async_takes_key_password():
        pytest.skip(f"redis-py {redis.__version__}'s asyncio client has no ssl_password")
    options = TLSOptions.from_kwargs(
        dialect="redis",
        ssl=True,
        ssl_ca_certs=pki.ca_pem,
        ssl_certfile=pki.client_cert,
        ssl_keyfile=pki.client_key,
        ssl_password=CLIENT_KEY_PASSWORD,
    )
    assert options.create_context() is not None  # the builder reads the encrypted key too
    assert ping(options.driver_kwargs(), servers["mtls"])
    without = TLSOptions.from_kwargs(dialect="redis", ssl=True, ssl_ca_certs=pki.ca_pem)
    with pytest.raises(redis.exceptions.ConnectionError):
        ping(without.driver_kwargs(), servers["mtls"])
