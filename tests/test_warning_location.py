"""Warnings point at the caller's line, not at trustresolve's own (warn_caller).

The cache-unusable warning is raised deep in the lazy loader; whichever public entry point
reached it, the warning's filename must be this test file.
"""

from __future__ import annotations

import os
import ssl
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

import trustresolve
from support.servers import memory_handshake
from trustresolve._tls import load as _load

HOST = "db.internal"


def _server(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(HOST).configure_cert(context)
    return context


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
@pytest.mark.parametrize(
    "build",
    [
        trustresolve.create_default_context,
        lambda: trustresolve.context_from_options(tls=True),
        lambda: trustresolve.context_from_uri("mongodb://db.internal/?tls=true"),
    ],
    ids=["create_default_context", "context_from_options", "context_from_uri"],
)
def test_unusable_cache_warning_names_the_callers_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, build: Callable[[], ssl.SSLContext]
) -> None:
    ca, evil = trustme.CA(), trustme.CA()
    bundle = tmp_path / "bundle.pem"
    ca.cert_pem.write_to_path(str(bundle))
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o777)  # world-writable: the cache refuses it
    monkeypatch.setenv("TRUSTRESOLVE_CACHE_DIR", str(cache))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    _load._plans.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        context = build()
    relevant = [w for w in caught if str(cache) in str(w.message)]
    assert relevant, [str(w.message) for w in caught]
    assert all(w.category is RuntimeWarning for w in relevant)
    assert {w.filename for w in relevant} == {__file__}
    # Same trust, loaded eagerly.
    assert memory_handshake(context, _server(ca), HOST) is None
    assert memory_handshake(context, _server(evil), HOST) is not None
