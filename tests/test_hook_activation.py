"""When the start-up hook acts: nothing at start-up, all of it at the first ``import ssl``.

Each test runs a fresh interpreter of a ``python -m venv`` with the hook installed for missing
compiled-in defaults (as in ``test_hook.py``) and a config file pinning a trustme CA, so "the
resolved store" is one CA: a real loopback handshake with a server of that CA must verify and
one with an attacker's CA must be refused, whenever and however ``ssl`` came to be imported.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from support.servers import TLSServer, http_ok, server_context
from trustresolve._cli.hook import PTH_NAME, install_hook

# attempt(port): "verified", "refused" or the error, with a context made only then.
ATTEMPT = """
def attempt(port):
    import socket, ssl
    context = ssl.create_default_context()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            context.wrap_socket(raw, server_hostname="127.0.0.1").close()
        return "verified"
    except ssl.SSLCertVerificationError:
        return "refused"
"""
EXACTLY_THE_STORE = ["verified", "refused"]


@pytest.fixture(scope="module")
def cas() -> tuple[trustme.CA, trustme.CA]:
    """(the store's CA, an attacker's CA)."""
    return trustme.CA(), trustme.CA()


@pytest.fixture(scope="module")
def ports(cas: tuple[trustme.CA, trustme.CA]) -> Iterator[tuple[int, int]]:
    """(a server of the store's CA, a server of the attacker's CA), both answering HTTP."""
    with (
        TLSServer(server_context(cas[0].issue_cert("127.0.0.1")), http_ok) as good,
        TLSServer(server_context(cas[1].issue_cert("127.0.0.1")), http_ok) as evil,
    ):
        yield good.port, evil.port


@pytest.fixture
def hooked(
    venv: tuple[str, str], tmp_path: Path, cas: tuple[trustme.CA, trustme.CA]
) -> Iterator[tuple[str, dict[str, str]]]:
    """(python, environment): the hook installed for missing defaults, the store pinned."""
    python, site = venv
    missing = tmp_path / "opt" / "prefix" / "ssl"  # never created
    install_hook(site, defaults=(str(missing / "cert.pem"), str(missing / "certs")))
    cas[0].cert_pem.write_to_path(str(tmp_path / "store.pem"))
    cas[1].cert_pem.write_to_path(str(tmp_path / "attacker.pem"))
    (tmp_path / "trustresolve.ini").write_text(
        "[trustresolve]\ncafile = store.pem\nnative = false\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "TRUSTRESOLVE_CACHE_DIR": str(tmp_path / "cache"),
        "TRUSTRESOLVE_CONFIG": str(tmp_path / "trustresolve.ini"),
        "ATTACKER_CA": str(tmp_path / "attacker.pem"),
    }
    extras = [Path(site, name) for name in ("sitecustomize.py", "00-imports-ssl.pth")]
    try:
        yield python, env
    finally:
        for path in [Path(site, PTH_NAME), *extras]:
            path.unlink(missing_ok=True)


def _run(python: str, env: dict[str, str], code: str) -> object:
    done = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(done.stdout)


def _probe(ports: tuple[int, int], before: str = "", *, report: str = "results") -> str:
    """A program: ``before``, then two attempts with late-made contexts, then ``report``."""
    return (
        f"import json, os, sys\n{before}\n{ATTEMPT}\n"
        f"results = [attempt({ports[0]}), attempt({ports[1]})]\n"
        f"print(json.dumps({report}))\n"
    )


def test_start_up_imports_nothing_for_a_program_without_tls(
    venv: tuple[str, str], hooked: tuple[str, dict[str, str]]
) -> None:
    python, env = hooked
    code = (
        "import sys, os; modules = sorted(sys.modules); import json\n"
        "print(json.dumps([modules, [type(f).__name__ for f in sys.meta_path],"
        " 'SSL_CERT_FILE' in os.environ]))"
    )
    with_hook = _run(python, env, code)
    Path(venv[1], PTH_NAME).unlink()
    without_hook = _run(python, env, code)
    assert isinstance(with_hook, list) and isinstance(without_hook, list)
    modules, finders, variable_set = with_hook
    assert finders[0] == "_ActivateOnSSLImport"  # the hook did run...
    assert "_ActivateOnSSLImport" not in without_hook[1]
    assert modules == without_hook[0]  # ...and imported nothing
    heavy = {"ssl", "_ssl", "dataclasses", "typing", "inspect", "re", "platformdirs"}
    assert not heavy & set(modules)
    assert not [name for name in modules if name.startswith("trustresolve")]
    assert variable_set is False


def test_ssl_imported_late_trusts_exactly_the_store(
    hooked: tuple[str, dict[str, str]], ports: tuple[int, int]
) -> None:
    python, env = hooked
    report = (
        "[results, type(sys.modules['ssl'].__loader__).__name__,"
        " sys.modules['ssl'].__spec__.loader is sys.modules['ssl'].__loader__]"
    )
    results, loader, same_loader = _run(python, env, _probe(ports, report=report))  # type: ignore[misc]
    assert results == EXACTLY_THE_STORE
    assert loader != "_ActivateAfter" and same_loader  # ssl keeps its own loader


def test_ssl_imported_early_by_sitecustomize(
    venv: tuple[str, str], hooked: tuple[str, dict[str, str]], ports: tuple[int, int]
) -> None:
    python, env = hooked
    # sitecustomize runs after every .pth: the finder is in place, and this is its import.
    Path(venv[1], "sitecustomize.py").write_text("import ssl\n")
    report = "[results, 'sitecustomize' in sys.modules]"
    assert _run(python, env, _probe(ports, report=report)) == [EXACTLY_THE_STORE, True]


def test_ssl_imported_by_an_earlier_pth(
    venv: tuple[str, str], hooked: tuple[str, dict[str, str]], ports: tuple[int, int]
) -> None:
    python, env = hooked
    # site runs .pth files in name order: ssl is there before the hook's line runs.
    Path(venv[1], "00-imports-ssl.pth").write_text("import ssl\n")
    before = "set_at_start = 'SSL_CERT_FILE' in os.environ"  # the hook acted at once
    report = "[results, set_at_start]"
    assert _run(python, env, _probe(ports, before, report=report)) == [EXACTLY_THE_STORE, True]


def test_find_spec_before_the_import_keeps_the_hook_armed(
    hooked: tuple[str, dict[str, str]], ports: tuple[int, int]
) -> None:
    python, env = hooked
    before = "import importlib.util\nassert importlib.util.find_spec('ssl') is not None"
    assert _run(python, env, _probe(ports, before)) == EXACTLY_THE_STORE


def test_a_variable_the_program_sets_before_importing_ssl_wins(
    hooked: tuple[str, dict[str, str]], ports: tuple[int, int]
) -> None:
    python, env = hooked
    before = "os.environ['SSL_CERT_FILE'] = os.environ['ATTACKER_CA']"
    report = "[results, os.environ.get('SSL_CERT_DIR')]"
    # The program chose that file: it alone is trusted, as without the hook.
    assert _run(python, env, _probe(ports, before, report=report)) == [
        ["refused", "verified"],
        None,
    ]


def test_threads_importing_ssl_at_once(
    hooked: tuple[str, dict[str, str]], ports: tuple[int, int]
) -> None:
    python, env = hooked
    before = (
        "import threading\n"
        "barrier, outcomes = threading.Barrier(8), []\n"
        "def worker():\n"
        "    barrier.wait()\n"
        "    outcomes.append((attempt(PORTS[0]), attempt(PORTS[1])))\n"
    )
    code = (
        f"import json, os, sys\nPORTS = {ports!r}\n{before}{ATTEMPT}\n"
        "threads = [threading.Thread(target=worker) for _ in range(8)]\n"
        "for thread in threads: thread.start()\n"
        "for thread in threads: thread.join()\n"
        "print(json.dumps(sorted(outcomes)))\n"
    )
    assert _run(python, env, code) == [EXACTLY_THE_STORE] * 8


# The error's chain holds ssl's verification error (httpx wraps httpcore's, which wraps ssl's).
REFUSED = """
def refused(error):
    import ssl
    while error is not None and not isinstance(error, ssl.SSLCertVerificationError):
        error = error.__cause__ or error.__context__
    return "refused" if error is not None else repr(error)
"""


@pytest.mark.parametrize(
    "fetch",
    [
        "import urllib.request\n"
        "def fetch(port):\n"
        "    with urllib.request.urlopen(f'https://127.0.0.1:{port}/', timeout=10) as answer:\n"
        "        return answer.read().decode()\n",
        "import httpx\n"
        "def fetch(port):\n"
        "    return httpx.get(f'https://127.0.0.1:{port}/', timeout=10).text\n",
    ],
    ids=["urllib.request", "httpx"],
)
def test_http_clients_imported_after_start_up(
    hooked: tuple[str, dict[str, str]], ports: tuple[int, int], fetch: str
) -> None:
    # Both import ssl when imported; httpx reads SSL_CERT_FILE itself (trust_env).
    python, env = hooked
    assert _run(python, env, _fetch_both(fetch, ports)) == ["ok", "refused"]


def test_requests_keeps_its_own_bundle(
    hooked: tuple[str, dict[str, str]], ports: tuple[int, int]
) -> None:
    # requests verifies against certifi's bundle whatever OpenSSL's variables say (its
    # DEFAULT_CA_BUNDLE_PATH): the hook neither widens nor changes that; inject_into_ssl() does.
    python, env = hooked
    fetch = (
        "import requests\n"
        "def fetch(port):\n"
        "    return requests.get(f'https://127.0.0.1:{port}/', timeout=10).text\n"
    )
    assert _run(python, env, _fetch_both(fetch, ports)) == ["refused", "refused"]


def _fetch_both(fetch: str, ports: tuple[int, int]) -> str:
    """A program: ``fetch(port)`` for both servers, "refused" for a verification error."""
    return (
        f"import json\n{fetch}{REFUSED}\n"
        "def attempt(port):\n"
        "    try:\n"
        "        return fetch(port)\n"
        "    except Exception as error:\n"
        "        return refused(error)\n"
        f"print(json.dumps([attempt({ports[0]}), attempt({ports[1]})]))\n"
    )
