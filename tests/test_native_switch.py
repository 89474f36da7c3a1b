"""turning native verification off from the API (``native=False``).

The resolution is a real one, probed from the macOS fixture tree with truststore: the source is
``native`` with the keychain snapshot as its fallback. Only which resolution the context
builder sees is swapped in; ``sys.platform`` is left alone.
"""

from __future__ import annotations

import ssl
import sys
from pathlib import Path

import pytest

import trustresolve
import trustresolve._tls.context as context_module
from support.servers import memory_handshake
from trustresolve._machine.facts import PlatformFacts
from trustresolve._store.resolve import probe_all

TREE = Path(__file__).resolve().parent.parent / "platform_fixtures" / "macos-truststore"


@pytest.fixture
def native_resolution(memo_off: None, monkeypatch: pytest.MonkeyPatch) -> trustresolve.Resolution:
    resolution = probe_all(PlatformFacts.from_root(str(TREE)))
    assert resolution.source is not None
    assert resolution.source.kind == "native"
    assert resolution.source.fallback is not None
    monkeypatch.setattr(context_module, "resolve", lambda: resolution)
    return resolution


def test_create_default_context_native_false_uses_the_snapshot(
    native_resolution: trustresolve.Resolution,
) -> None:
    context = trustresolve.create_default_context(native=False)
    assert type(context) is ssl.SSLContext
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_native_false_trusts_exactly_the_snapshot(
    memo_off: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A real handshake: the snapshot's CA verifies, another CA does not."""
    import trustme

    from trustresolve._x509.pem import scan_pem

    inside, outside = trustme.CA(), trustme.CA()
    pem = inside.cert_pem.bytes()
    der = tuple(cert.der for cert in scan_pem(pem).certificates)
    snapshot = trustresolve.TrustSource(
        backend="macos-keychain", kind="data", cadata=pem.decode(), cert_count=1, certificates=der
    )
    native = trustresolve.TrustSource(
        backend="native", kind="native", cert_count=1, fallback=snapshot
    )
    resolution = trustresolve.Resolution(source=native, attempts=())
    monkeypatch.setattr(context_module, "resolve", lambda: resolution)
    context = trustresolve.create_default_context(native=False)
    assert _handshake(context, inside) is None
    assert "certificate verify failed" in str(_handshake(context, outside))


def _handshake(client: ssl.SSLContext, ca: object) -> ssl.SSLError | None:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("db.example").configure_cert(server)  # type: ignore[attr-defined]
    return memory_handshake(client, server, "db.example")


@pytest.mark.skipif(sys.version_info < (3, 10), reason="truststore needs Python 3.10")
def test_native_is_the_default(native_resolution: trustresolve.Resolution) -> None:
    truststore = pytest.importorskip("truststore")
    assert isinstance(trustresolve.create_default_context(), truststore.SSLContext)
    assert isinstance(trustresolve.context_from_options(tls=True), truststore.SSLContext)


def test_option_contexts_native_false(native_resolution: trustresolve.Resolution) -> None:
    by_options = trustresolve.context_from_options(tls=True, native=False)
    by_uri = trustresolve.context_from_uri("mongodb://db.example/?tls=true", native=False)
    for context in (by_options, by_uri):
        assert type(context) is ssl.SSLContext


def test_native_false_without_a_snapshot_names_the_fix(
    memo_off: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = trustresolve.TrustSource(backend="native", kind="native")
    resolution = trustresolve.Resolution(source=bare, attempts=())
    monkeypatch.setattr(context_module, "resolve", lambda: resolution)
    with pytest.raises(trustresolve.NoTrustStoreError, match="SSL_CERT_FILE"):
        trustresolve.create_default_context(native=False)
