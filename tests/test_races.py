"""Races: 64 threads resolving, building contexts and calling where() at once agree
and never fail, including while the cache is being built for the first time."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

import trustresolve
from support.servers import memory_handshake
from trustresolve._store import resolve as _resolve
from trustresolve._tls import load as _load

THREADS = 64


@pytest.fixture
def bundle_only_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[list[trustme.CA], Path]]:
    """A bundle with no hashed directory and one garbage block: every thread has to
    materialize (a clean bundle for where(), a hashed directory for contexts)."""
    cas = [trustme.CA() for _ in range(5)]
    garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"".join(ca.cert_pem.bytes() for ca in cas) + garbage)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    monkeypatch.setenv("TRUSTRESOLVE_CACHE_DIR", str(cache))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    _load._plans.clear()
    yield cas, bundle
    _load._plans.clear()


def _hammer(work: list[object], errors: list[BaseException], index: int) -> None:
    try:
        resolution = trustresolve.resolve()
        path = trustresolve.where()
        context = trustresolve.create_default_context()
        stats = context.cert_store_stats()
        with open(path, "rb") as handle:
            count = handle.read().count(b"BEGIN CERTIFICATE")
        work[index] = (resolution, path, count, context.verify_mode, stats["x509_ca"] >= 0)
    except BaseException as exc:
        errors.append(exc)


def test_64_threads_agree_and_never_fail(bundle_only_store: tuple[list[trustme.CA], Path]) -> None:
    cas, _ = bundle_only_store
    _resolve._cached.clear()
    results: list[object] = [None] * THREADS
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def run(index: int) -> None:
        barrier.wait()
        _hammer(results, errors, index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    resolutions = {id(r[0]) for r in results}  # type: ignore[index]
    assert len(resolutions) == 1, "every thread got the one cached Resolution"
    assert {r[1] for r in results} == {results[0][1]}  # type: ignore[index]
    assert {r[2] for r in results} == {len(cas)}  # type: ignore[index]
    assert {r[3] for r in results} == {ssl.CERT_REQUIRED}  # type: ignore[index]


def test_contexts_built_concurrently_all_verify(
    bundle_only_store: tuple[list[trustme.CA], Path],
) -> None:
    """Each of 64 concurrently built contexts verifies a certificate from the store."""
    cas, _ = bundle_only_store
    _resolve._cached.clear()
    leaf = cas[3].issue_cert("race.test")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(server_context)
    contexts: list[ssl.SSLContext | None] = [None] * THREADS
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def build(index: int) -> None:
        try:
            barrier.wait()
            contexts[index] = trustresolve.create_default_context()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=build, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    for context in contexts:
        assert context is not None
        assert memory_handshake(context, server_context, "race.test") is None
