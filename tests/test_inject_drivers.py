"""Clients that injection cannot reach, and what trustresolve does for them instead.

- PyMySQL turns hostname checking off when it is given no CA: injection warns, with the fix.
- gRPC trusts the roots bundled in its wheel, not OpenSSL's: ``--env`` names the bundle as
  ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``; ``root_certificates=`` takes :func:`trustresolve.contents`.
- requests: ``verify=trustresolve.where()`` is the one-line form (an adapter given an
  ``ssl_context`` still has requests add certifi's bundle to it).

The test CA is trusted only through trustresolve's config file, as in ``test_inject_clients``.
"""

from __future__ import annotations

import os
import shlex
import signal
import ssl
import subprocess
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
import trustme

import trustresolve
from support.servers import TLSServer, http_ok, pinned_store, server_context
from trustresolve import InsecureContextWarning

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def config_store(ca: trustme.CA, tmp_path: Path) -> Iterator[str]:
    ca.cert_pem.write_to_path(str(tmp_path / "test-ca.pem"))
    ini = tmp_path / "trustresolve.ini"
    ini.write_text("[trustresolve]\ncafile = test-ca.pem\nnative = false\n")
    with pinned_store({"TRUSTRESOLVE_CONFIG": str(ini)}):
        yield str(ini)


@pytest.fixture
def injected(config_store: str) -> Iterator[None]:
    trustresolve.inject_into_ssl()
    try:
        yield
    finally:
        trustresolve.extract_from_ssl()


# --- PyMySQL -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("injected")
def test_pymysql_without_a_ca_is_warned_about(monkeypatch: pytest.MonkeyPatch) -> None:
    pymysql_connections = pytest.importorskip("pymysql.connections")
    from trustresolve._tls import inject

    monkeypatch.setattr(inject, "_warned", set())
    # What pymysql.connect(ssl_verify_cert=True, ssl_verify_identity=True) hands its builder.
    with pytest.warns(InsecureContextWarning, match=r"ssl_ca=trustresolve\.where\(\)"):
        context = pymysql_connections.Connection._create_ssl_ctx(
            None, {"check_hostname": True, "verify_mode": True}
        )
    assert context.check_hostname is False  # PyMySQL's own choice, which the warning names


@pytest.mark.usefixtures("injected")
def test_pymysql_given_the_ca_keeps_hostname_checking(monkeypatch: pytest.MonkeyPatch) -> None:
    pymysql_connections = pytest.importorskip("pymysql.connections")
    from trustresolve._tls import inject

    monkeypatch.setattr(inject, "_warned", set())
    with warnings.catch_warnings():
        warnings.simplefilter("error", InsecureContextWarning)
        context = pymysql_connections.Connection._create_ssl_ctx(
            None, {"ca": trustresolve.where(), "check_hostname": True, "verify_mode": True}
        )
    assert context.check_hostname is True


# --- requests ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("config_store")
def test_requests_verify_where_trusts_exactly_the_store(ca: trustme.CA) -> None:
    context = server_context(ca.issue_cert("localhost"))
    with TLSServer(context, http_ok) as server:
        url = f"https://localhost:{server.port}/"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url, timeout=10)  # certifi does not hold the test CA
        assert requests.get(url, timeout=10, verify=trustresolve.where()).text == "ok"


def test_the_adapter_hazard_the_page_names_is_real(ca: trustme.CA) -> None:
    # docs/adopting.rst: an HTTPAdapter's ssl_context gets certifi's bundle loaded into it.
    from requests.adapters import HTTPAdapter

    context = ssl.create_default_context(cadata=ca.cert_pem.bytes().decode("ascii"))

    class ContextAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = context
            super().init_poolmanager(*args, **kwargs)

    with TLSServer(server_context(ca.issue_cert("localhost")), http_ok) as server:
        session = requests.Session()
        session.mount("https://", ContextAdapter())
        assert session.get(f"https://localhost:{server.port}/", timeout=10).text == "ok"
    assert context.cert_store_stats()["x509_ca"] > 1  # more than the one CA it was given


# --- gRPC --------------------------------------------------------------------------------------

# gRPC runs only in child processes (support/grpc_echo.py says why: its fork handlers). It is
# installed wherever it has a wheel (requirements/tests.txt): CPython, not PyPy.
GRPC_ECHO = Path(__file__).parent / "support" / "grpc_echo.py"
HAS_GRPC = sys.implementation.name == "cpython"


@pytest.fixture
def grpc_server(ca: trustme.CA, tmp_path: Path) -> Iterator[int]:
    if not HAS_GRPC:
        pytest.skip("grpcio publishes no wheel for PyPy")
    leaf = ca.issue_cert("localhost")
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key.write_bytes(leaf.private_key_pem.bytes())
    server = subprocess.Popen(
        [sys.executable, str(GRPC_ECHO), "serve", str(chain), str(key)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        assert port.isdigit(), f"the gRPC server did not start (exit status {server.poll()})"
        yield int(port)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _grpc_client(argv: list[str], env: dict[str, str] | None = None) -> list[str]:
    """The lines a gRPC client process prints, run once more if gRPC itself aborted it."""
    for _ in range(2):
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        # gRPC's own poller sometimes aborts a busy machine's client at start-up ("epoll_wait
        # error: Bad file descriptor", SIGABRT: -6 directly, 134 through sh) before any TLS: that
        # run says nothing about trust, so it is run once more. Any other failure fails the test.
        aborted = done.returncode in {-signal.SIGABRT, 128 + signal.SIGABRT}
        if not (aborted and "epoll_wait error" in done.stderr):
            break
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _call(port: int, roots: Path | None) -> str:
    """What a gRPC client given ``roots`` (or its wheel's own when None) gets back from the echo."""
    argv = [sys.executable, str(GRPC_ECHO), "call", str(port)] + ([str(roots)] if roots else [])
    (reply,) = _grpc_client(argv)
    return reply


@pytest.mark.usefixtures("config_store")
def test_grpc_root_certificates_from_contents(grpc_server: int, tmp_path: Path) -> None:
    assert _call(grpc_server, None) == "refused UNAVAILABLE"  # grpcio's bundled roots
    roots = tmp_path / "roots.pem"
    roots.write_text(trustresolve.contents(), encoding="ascii")
    assert _call(grpc_server, roots) == "ping"


def test_grpc_default_roots_from_the_env_line(grpc_server: int, config_store: str) -> None:
    # What `eval "$(python -m trustresolve --env)"` does for a gRPC program started afterwards.
    env = {k: v for k, v in os.environ.items() if k not in {"SSL_CERT_FILE", "SSL_CERT_DIR"}}
    env["TRUSTRESOLVE_CONFIG"] = config_store
    python = shlex.quote(sys.executable)
    script = (
        f'eval "$({python} -m trustresolve --env)"'
        f" && {python} {shlex.quote(str(GRPC_ECHO))} call {grpc_server}"
        " && printenv GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"
    )
    reply, roots = _grpc_client(["sh", "-c", script], env)
    assert reply == "ping"
    assert os.path.isfile(roots)
