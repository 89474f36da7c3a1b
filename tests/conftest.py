"""Shared test set-up: a private cache directory and a fresh resolution for every test."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "platform_fixtures"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Nothing a test materializes lands in the real user cache."""
    if "TRUSTRESOLVE_CACHE_DIR" in os.environ:
        yield
        return
    cache = tmp_path_factory.mktemp("trustresolve-cache")
    cache.chmod(0o700)
    os.environ["TRUSTRESOLVE_CACHE_DIR"] = str(cache)
    yield
    del os.environ["TRUSTRESOLVE_CACHE_DIR"]


@pytest.fixture(autouse=True)
def _fresh_resolution() -> Iterator[None]:
    """resolve() and the start-up memo cache per process; every test starts from a clean probe."""
    from trustresolve._store import memo as _memo
    from trustresolve._store import resolve as _resolve

    _resolve._cached.clear()
    _memo.forget()
    yield
    _resolve._cached.clear()
    _memo.forget()
    # gRPC's fork handlers would abort this process's later forked children (Python 3.9 forks
    # for subprocess): it runs in child processes only, see support/grpc_echo.py.
    assert "grpc" not in sys.modules, "this test loaded gRPC into the test process"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(python, site-packages) of a fresh venv that can import trustresolve and its deps.

    The repo's src and the base interpreter's site-packages (certifi, platformdirs) are plain
    path entries: .pth files inside them are not run, so start-up stays as in a fresh venv.
    Used by the start-up hook tests, which install a .pth into it.
    """
    home = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home / "v")], check=True)
    python = str(home / "v" / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = sysconfig.get_paths()["purelib"]
    Path(site, "00-trustresolve-src.pth").write_text(f"{REPO / 'src'}\n{deps}\n")
    return python, site


@pytest.fixture
def doctor_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """For ``--connect`` tests: no trust variable of this machine (each test sets its own),
    a private cache and config directory, and a fresh resolution afterwards."""
    names = ("SSL_CERT_FILE", "SSL_CERT_DIR", "TRUSTRESOLVE_CONFIG", "SSLKEYLOGFILE")
    for name in (*names, "TRUSTRESOLVE_KEY_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRUSTRESOLVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    yield
    # Tests may set these in os.environ directly; delenv recorded only the ones this machine
    # had, so without the pops a variable a test added would outlive it where none was set.
    for name in names:
        os.environ.pop(name, None)
    monkeypatch.undo()
    import trustresolve

    trustresolve.resolve(refresh=True)


@pytest.fixture
def memo_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """No start-up memo, as on macOS and Windows (architecture §9.1): for tests that swap in
    the resolution the context builder sees, which a memo of this machine would bypass."""
    from trustresolve._store import memo

    monkeypatch.setattr(memo, "applies", lambda: False)
