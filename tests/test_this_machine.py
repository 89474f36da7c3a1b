"""The machine the suite runs on (CI is Debian), and a copy of its /etc/ssl: trees we did not build.

With ``SSL_CERT_*`` and the tool variables removed from the environment, trustresolve must pick
``/etc/ssl/certs/ca-certificates.crt`` with the hashed ``/etc/ssl/certs``, and count as many
certificates as the bundle holds. ``resolve()`` caches per process, is thread-safe, and
``refresh=True`` probes again.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import trustresolve
import trustresolve._store.resolve as resolve_module
from support.cli import clean_env, run_cli
from trustresolve import PlatformFacts, Resolution

DEBIAN_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
DEBIAN_DIR = "/etc/ssl/certs"
VARIABLES = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NIX_SSL_CERT_FILE",
    "TRUSTRESOLVE_CONFIG",
)

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or not os.path.isfile(DEBIAN_BUNDLE) or os.path.exists("/etc/pki"),
    reason="needs a Debian-style machine (CI is Debian)",
)


def bundle_count(path: str = DEBIAN_BUNDLE) -> int:
    with open(path, "rb") as handle:
        return handle.read().count(b"-----BEGIN CERTIFICATE-----")


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[pytest.MonkeyPatch]:
    """This machine, with the environment controlled and the process cache emptied."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-home"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "config-dirs"))
    monkeypatch.setenv("TRUSTRESOLVE_CACHE_DIR", str(tmp_path / "cache"))
    resolve_module._cached.clear()
    yield monkeypatch
    resolve_module._cached.clear()


def test_this_machine_picks_the_debian_bundle(machine: Any) -> None:
    resolution = trustresolve.resolve(PlatformFacts.current())
    source = resolution.source
    assert source is not None
    assert source.backend == "distro", resolution.explain()
    assert source.kind == "file"
    assert source.cafile == DEBIAN_BUNDLE
    assert source.capath == DEBIAN_DIR
    assert source.cert_count == bundle_count()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=source.cafile)
    assert len(context.get_ca_certs()) == source.cert_count


def test_where_and_contents_on_this_machine(machine: Any) -> None:
    assert trustresolve.where() == DEBIAN_BUNDLE
    with open(DEBIAN_BUNDLE, encoding="ascii") as handle:
        assert trustresolve.contents() == handle.read()


def test_cli_on_this_machine() -> None:
    done = run_cli("--which", env=clean_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"Trust store: distro (file), {bundle_count()} certificates"
    assert f"file:      {DEBIAN_BUNDLE}" in done.stdout
    assert f"directory: {DEBIAN_DIR}" in done.stdout


def test_resolve_caches_and_refresh_reprobes(machine: Any, tmp_path: Any) -> None:
    first = trustresolve.resolve()
    assert trustresolve.resolve() is first
    bundle = tmp_path / "one.pem"
    with open(DEBIAN_BUNDLE, encoding="ascii") as handle:
        text = handle.read()
    end = text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----\n")
    bundle.write_text(text[:end])
    machine.setenv("SSL_CERT_FILE", str(bundle))
    assert trustresolve.resolve() is first  # cached: the change is not seen yet
    fresh = trustresolve.resolve(refresh=True)
    assert fresh is not first
    assert fresh.source is not None
    assert (fresh.source.backend, fresh.source.cafile, fresh.source.cert_count) == (
        "env",
        str(bundle),
        1,
    )
    assert trustresolve.resolve() is fresh
    assert trustresolve.where() == str(bundle)
    machine.delenv("SSL_CERT_FILE")
    again = trustresolve.resolve(refresh=True)
    assert again.source is not None
    assert again.source.cafile == DEBIAN_BUNDLE


def test_resolve_with_facts_is_not_cached(machine: Any) -> None:
    facts = PlatformFacts.current()
    assert trustresolve.resolve(facts) is not trustresolve.resolve(facts)
    assert "current" not in resolve_module._cached


def run_threads(threads: list[threading.Thread], *, timeout: float) -> None:
    """Start them all, then wait for each (a hang fails the test, it does not stall it)."""
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)


def test_concurrent_first_calls_probe_once(machine: Any) -> None:
    calls = []
    real = resolve_module.probe_all

    def counting(facts: PlatformFacts) -> Resolution:
        calls.append(threading.get_ident())
        return real(facts)

    machine.setattr(resolve_module, "probe_all", counting)
    barrier = threading.Barrier(16)
    results: list[Resolution] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(trustresolve.resolve())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    run_threads(threads, timeout=60)
    assert not errors
    assert len(results) == 16
    assert len(calls) == 1
    assert all(result is results[0] for result in results)


def test_concurrent_refresh_is_consistent(machine: Any) -> None:
    results: list[Resolution] = []
    errors: list[BaseException] = []

    def worker(refresh: bool) -> None:
        try:
            for _ in range(5):
                results.append(trustresolve.resolve(refresh=refresh))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i % 2 == 0,)) for i in range(8)]
    run_threads(threads, timeout=120)
    assert not errors
    assert len(results) == 40
    sources = {
        (r.source.backend, r.source.cafile, r.source.cert_count) for r in results if r.source
    }
    assert sources == {("distro", DEBIAN_BUNDLE, bundle_count())}


# --------------------------------------------------------------------------------------------
# Trees we did not build: copies of this machine's /etc/ssl


def copy_etc_ssl(root: str) -> None:
    shutil.copytree(
        "/etc/ssl",
        os.path.join(root, "etc/ssl"),
        symlinks=True,
        ignore=shutil.ignore_patterns("private"),
    )


def run_root(root: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("--which", *extra, "--root", root, env=clean_env())


def test_copy_of_etc_ssl_alone(tmp_path: Any) -> None:
    """Only /etc/ssl: the hashed links lead to /usr/share/ca-certificates, absent in the copy.

    The bundle is used; the directory is not paired (its entries dangle inside the root), and the
    host's own /usr/share/ca-certificates is never read through the absolute links.
    """
    root = str(tmp_path / "image")
    copy_etc_ssl(root)
    resolution = trustresolve.resolve(PlatformFacts.from_root(root))
    source = resolution.source
    assert source is not None
    assert source.backend == "distro"
    assert source.display_cafile == DEBIAN_BUNDLE
    assert source.cafile == os.path.join(root, "etc/ssl/certs/ca-certificates.crt")
    assert source.cert_count == bundle_count()
    assert source.display_capath is None, resolution.explain()
    done = run_root(root)
    assert done.returncode == 0
    assert f"file:      {DEBIAN_BUNDLE}" in done.stdout
    assert "directory:" not in done.stdout


def test_copy_of_etc_ssl_and_usr_share_ca_certificates(tmp_path: Any) -> None:
    if not os.path.isdir("/usr/share/ca-certificates"):
        pytest.skip("no /usr/share/ca-certificates")
    root = str(tmp_path / "image")
    copy_etc_ssl(root)
    shutil.copytree(
        "/usr/share/ca-certificates",
        os.path.join(root, "usr/share/ca-certificates"),
        symlinks=True,
    )
    if os.path.isdir("/usr/local/share/ca-certificates"):
        shutil.copytree(
            "/usr/local/share/ca-certificates",
            os.path.join(root, "usr/local/share/ca-certificates"),
            symlinks=True,
        )
    resolution = trustresolve.resolve(PlatformFacts.from_root(root))
    source = resolution.source
    assert source is not None
    assert (source.display_cafile, source.display_capath) == (DEBIAN_BUNDLE, DEBIAN_DIR), (
        resolution.explain()
    )
    assert source.cert_count == bundle_count()
    done = run_root(root, "--json")
    assert done.returncode == 0
    import json

    document = json.loads(done.stdout)
    assert document["source"]["cafile"] == DEBIAN_BUNDLE
    assert document["source"]["capath"] == DEBIAN_DIR
    assert document["source"]["cert_count"] == bundle_count()
