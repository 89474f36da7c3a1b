"""inject_into_ssl() reaches every client, in either import order, and extraction undoes it.

Each case runs in a fresh interpreter, so "imported before" and "imported after" injection are
real import orders, not modules already cached by this test process. The test CA is trusted only
through trustresolve's config file (``TRUSTRESOLVE_CONFIG``) with ``SSL_CERT_FILE``/``SSL_CERT_DIR``
unset, so neither ``ssl``'s defaults nor certifi trust it: a request succeeds only while
injection is in effect. Every failure is checked to be a certificate verification failure, so a
client that fails for another reason cannot pass for "not injected".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest
import trustme

from support.servers import TLSServer, http_ok, mongodb_responder, server_context

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# One client call per name: the child evaluates the body with URL, HOST, PORT, MONGO_PORT and
# OTHER_CA (a CA file that did not sign the server) defined, and returns its text.
CLIENTS = {
    "requests": "import requests\nreturn requests.get(URL, timeout=10).text",
    "requests-session": (
        "import requests\nwith requests.Session() as s:\n    return s.get(URL, timeout=10).text"
    ),
    "httpx": "import httpx\nwith httpx.Client() as c:\n    return c.get(URL).text",
    "httpx-async": (
        "import asyncio, httpx\n"
        "async def go():\n"
        "    async with httpx.AsyncClient() as c:\n"
        "        return (await c.get(URL)).text\n"
        "return asyncio.run(go())"
    ),
    "urllib3": (
        "import urllib3\nreturn urllib3.PoolManager(retries=0).request('GET', URL).data.decode()"
    ),
    "urllib.request": (
        "import urllib.request\n"
        "with urllib.request.urlopen(URL, timeout=10) as r:\n    return r.read().decode()"
    ),
    "aiohttp": (
        "import asyncio, aiohttp\n"
        "async def go():\n"
        "    async with aiohttp.ClientSession() as s, s.get(URL) as r:\n"
        "        return await r.text()\n"
        "return asyncio.run(go())"
    ),
    "asyncio-streams": (
        "import asyncio\n"
        "async def go():\n"
        "    reader, writer = await asyncio.open_connection(HOST, PORT, ssl=True)\n"
        "    writer.write(b'GET / HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n')\n"
        "    data = await reader.read(4096)\n"
        "    writer.close()\n"
        "    return data.decode().rsplit('\\r\\n', 1)[-1]\n"
        "return asyncio.run(go())"
    ),
    "pymongo": (
        "import pymongo\n"
        "client = pymongo.MongoClient(f'mongodb://localhost:{MONGO_PORT}/?tls=true',"
        " serverSelectionTimeoutMS=5000, connectTimeoutMS=5000)\n"
        "try:\n    client.admin.command('ping')\nfinally:\n    client.close()\n"
        "return 'ok'"
    ),
    "pip-requests": ("from pip._vendor import requests\nreturn requests.get(URL, timeout=10).text"),
}

# A client given an explicit CA by its user keeps that CA, injected or not.
EXPLICIT_CA_CLIENTS = {
    "requests-verify": (
        "import requests\nreturn requests.get(URL, timeout=10, verify=OTHER_CA).text"
    ),
    "httpx-verify": (
        "import httpx, ssl\n"
        "with httpx.Client(verify=ssl.create_default_context(cafile=OTHER_CA)) as c:\n"
        "    return c.get(URL).text"
    ),
    "urllib3-ca_certs": (
        "import urllib3\n"
        "pool = urllib3.PoolManager(retries=0, ca_certs=OTHER_CA)\n"
        "return pool.request('GET', URL).data.decode()"
    ),
    "urllib-installed-opener": (
        "import ssl, urllib.request\n"
        "context = ssl.create_default_context(cafile=OTHER_CA)\n"
        "handler = urllib.request.HTTPSHandler(context=context)\n"
        "urllib.request.install_opener(urllib.request.build_opener(handler))\n"
        "with urllib.request.urlopen(URL, timeout=10) as r:\n    return r.read().decode()"
    ),
    "ssl-cafile": (
        "import socket, ssl\n"
        "ctx = ssl.create_default_context(cafile=OTHER_CA)\n"
        "with socket.create_connection((HOST, PORT), timeout=10) as raw:\n"
        "    with ctx.wrap_socket(raw, server_hostname=HOST):\n"
        "        return 'ok'"
    ),
}

# The steps of a run: "call" records the client's result, the others change the injection.
ORDERS = {
    "imported-before": ["import", "call", "inject", "call", "extract", "call"],
    "imported-after": ["inject", "import", "call", "extract", "call"],
}
EXPECTED = {
    "imported-before": ["fails", "ok", "fails"],
    "imported-after": ["ok", "fails"],
}

CHILD = """
import json, os, sys, warnings
warnings.simplefilter("ignore")
URL, HOST, PORT, MONGO_PORT, OTHER_CA = {url!r}, "localhost", {port}, {mongo_port}, {other_ca!r}
import {injector} as injector

def client():
{body}

def attempt():
    try:
        return ["ok", client()]
    except Exception as exc:
        text, seen = [], exc
        while seen is not None:
            text.append(f"{{type(seen).__name__}}: {{seen}}")
            seen = seen.__cause__ or seen.__context__
        return ["error", " | ".join(text)]

results = []
for step in {steps!r}:
    if step == "import":
        exec({imports!r})
    elif step == "inject":
        injector.inject_into_ssl()
    elif step == "extract":
        injector.extract_from_ssl()
    else:
        results.append(attempt())
print(json.dumps(results))
"""

# What each client imports, so "imported before" imports the library before injecting.
IMPORTS = {
    "requests": "import requests",
    "requests-session": "import requests",
    "httpx": "import httpx",
    "httpx-async": "import httpx",
    "urllib3": "import urllib3",
    "urllib.request": "import urllib.request",
    "aiohttp": "import aiohttp, aiohttp.connector",
    "asyncio-streams": "import asyncio",
    "pymongo": "import pymongo",
    "pip-requests": "from pip._vendor import requests",
}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def servers(ca: trustme.CA) -> Iterator[tuple[int, int]]:
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    with (
        TLSServer(server_context(leaf), http_ok) as https,
        TLSServer(server_context(leaf), mongodb_responder) as mongo,
    ):
        yield https.port, mongo.port


@pytest.fixture(scope="module")
def child_env(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("inject-clients")
    ca.cert_pem.write_to_path(str(folder / "test-ca.pem"))
    trustme.CA().cert_pem.write_to_path(str(folder / "other-ca.pem"))
    (folder / "trustresolve.ini").write_text(
        "[trustresolve]\ncafile = test-ca.pem\nnative = false\n"
    )
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"}
    }
    env["TRUSTRESOLVE_CONFIG"] = str(folder / "trustresolve.ini")
    env["OTHER_CA"] = str(folder / "other-ca.pem")
    return env


def run_child(
    env: dict[str, str],
    servers: tuple[int, int],
    body: str,
    imports: str,
    steps: list[str],
    injector: str = "trustresolve",
) -> list[list[str]]:
    port, mongo_port = servers
    code = CHILD.format(
        injector=injector,
        url=f"https://localhost:{port}/",
        port=port,
        mongo_port=mongo_port,
        other_ca=env["OTHER_CA"],
        body=textwrap.indent(body, "    "),
        steps=steps,
        imports=imports,
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: list[list[str]] = json.loads(done.stdout.splitlines()[-1])
    return results


def outcome(result: list[str]) -> str:
    kind, text = result
    if kind == "ok":
        assert text.strip() == "ok", text
        return "ok"
    # Only a verification failure counts as "not trusted"; anything else is a broken test.
    assert "certificate verify failed" in text.lower(), text
    return "fails"


def _available(name: str) -> bool:
    module = IMPORTS[name].split()[1].rstrip(",")
    try:
        __import__(module)
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("order", sorted(ORDERS))
@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_client_trusts_the_store_only_while_injected(
    client: str, order: str, child_env: dict[str, str], servers: tuple[int, int]
) -> None:
    if not _available(client):
        pytest.skip(f"{IMPORTS[client]} is not installed for {sys.executable}")
    results = run_child(child_env, servers, CLIENTS[client], IMPORTS[client], ORDERS[order])
    assert [outcome(result) for result in results] == EXPECTED[order]


@pytest.mark.parametrize("client", sorted(EXPLICIT_CA_CLIENTS))
def test_an_explicit_ca_is_kept_under_injection(
    client: str, child_env: dict[str, str], servers: tuple[int, int]
) -> None:
    steps = ["inject", "call", "extract", "call"]
    results = run_child(child_env, servers, EXPLICIT_CA_CLIENTS[client], "", steps)
    assert [outcome(result) for result in results] == ["fails", "fails"]


def test_nested_inject_and_extract(child_env: dict[str, str], servers: tuple[int, int]) -> None:
    steps = ["import", "inject", "inject", "call", "extract", "call", "extract"]
    steps += ["inject", "call", "extract", "call"]
    results = run_child(child_env, servers, CLIENTS["requests"], IMPORTS["requests"], steps)
    assert [outcome(result) for result in results] == ["ok", "fails", "ok", "fails"]


def test_a_certifi_path_stays_the_library_default_only(tmp_path: Path) -> None:
    from trustresolve._tls.inject import _is_certifi_bundle

    assert _is_certifi_bundle("/venv/lib/site-packages/certifi/cacert.pem")
    assert _is_certifi_bundle(b"/venv/lib/site-packages/pip/_vendor/certifi/cacert.pem")
    assert not _is_certifi_bundle(str(tmp_path / "cacert.pem"))
    assert not _is_certifi_bundle("/etc/ssl/certs/ca-certificates.crt")
    assert not _is_certifi_bundle(42)


# --- the comparison page -----------------------------------------------------------------------

ADOPTING_PAGE = os.path.join(os.path.dirname(__file__), os.pardir, "docs", "adopting.rst")


def _documented_table() -> dict[str, list[str]]:
    """The rows of the csv-table on docs/adopting.rst: client -> the four yes/no cells."""
    import csv

    with open(ADOPTING_PAGE, encoding="utf-8") as page:
        lines = page.read().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(".. csv-table:: What"))
    rows = []
    for line in lines[start + 1 :]:
        if line.strip().startswith(":") or not line.strip():
            if rows:
                break
            continue
        rows.append(line.strip())
    return {row[0]: row[1:] for row in csv.reader(rows, skipinitialspace=True)}


def _truststore_cell(result: list[str]) -> str:
    """ "yes", "no" (verification failed), or "no (Error)" for any other failure."""
    kind, text = result
    if kind == "ok":
        return "yes"
    if "certificate verify failed" in text.lower():
        return "no"
    return f"no ({text.split(':', 1)[0]})"


def test_the_comparison_page_shows_what_was_measured(
    child_env: dict[str, str], servers: tuple[int, int]
) -> None:
    truststore = pytest.importorskip("truststore", reason="truststore needs Python 3.10 or newer")
    if sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11):
        pytest.skip("the page records truststore's behaviour as measured on CPython 3.11")
    if not truststore.__version__.startswith("0.10."):
        pytest.skip(f"the page records truststore 0.10, this is {truststore.__version__}")
    # truststore verifies with OpenSSL's default paths on Linux: the test CA goes there.
    env = {name: value for name, value in child_env.items() if name != "TRUSTRESOLVE_CONFIG"}
    env["SSL_CERT_FILE"] = os.path.join(os.path.dirname(env["OTHER_CA"]), "test-ca.pem")
    measured = {}
    for client in sorted(CLIENTS):
        if not _available(client):
            continue
        cells = ["yes", "yes"]  # trustresolve: proven call by call in the test above
        for order in ("imported-before", "imported-after"):
            steps = ["import", "inject", "call"]
            if order == "imported-after":
                steps = ["inject", "import", "call"]
            results = run_child(env, servers, CLIENTS[client], IMPORTS[client], steps, "truststore")
            cells.append(_truststore_cell(results[-1]))
        measured[client] = cells
    documented = _documented_table()
    assert {name: documented.get(name) for name in measured} == measured, (
        "docs/adopting.rst's table differs from this run: "
        + "; ".join(f"{name}: {', '.join(cells)}" for name, cells in measured.items())
    )
