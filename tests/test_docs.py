"""The documentation cannot drift from the code: its examples run, its outputs are real.

* ``python`` blocks of every page (and the README) run in order, one namespace per page, in a
  temporary directory, against a temporary store (a trustme CA pinned with ``SSL_CERT_FILE``)
  and a loopback HTTPS server. The few absolute paths the pages use (``/etc/ssl/db-ca.pem``...)
  are swapped for temporary files holding that CA. Afterwards every verifying context a page
  left in its namespace must complete a real handshake with a server of that CA and refuse an
  attacker's ("EVIL").
* ``console``/``text`` blocks: a ``$ python -m trustresolve ... --root platform_fixtures/...``
  line with output below it is run and compared with that output (``...`` alone on a line
  stands for any lines, ``...`` inside a line for any text). ``--check`` describes this
  interpreter, so its lines are compared by their labels. Any other trustresolve command shown
  with output must be listed in ``NOT_RUN`` with the reason.
* ``ini`` blocks parse as trustresolve config files, comments and all.
* Every public name and member has a docstring and appears in ``docs/api.rst``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import inspect
import io
import os
import re
import shlex
import ssl
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import trustme

import trustresolve
from support.pages import marked_outputs, output_pattern
from support.servers import TLSServer, http_ok, memory_handshake, pinned_store, server_context
from trustresolve._backends.config import read_config
from trustresolve._machine.facts import PlatformFacts

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = sorted([*DOCS.glob("*.rst"), *DOCS.glob("platforms/*.rst"), REPO / "README.md"])
HOST = "db.example.com"

# trustresolve commands the docs show with output but this test does not run, and why.
NOT_RUN = {
    "--connect": "needs a server: each output is marked `.. doctor-output: NAME` and matched by "
    "the test that builds scenario NAME (tests/support/pages.py)",
}


@dataclasses.dataclass
class Block:
    page: str
    line: int
    language: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _rst_blocks(path: Path) -> Iterator[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    directive = re.compile(r"^(\s*)\.\. code-block:: *(\S+)\s*$")
    for number, line in enumerate(lines):
        match = directive.match(line)
        if not match:
            continue
        indent = len(match.group(1))
        body: list[str] = []
        for following in lines[number + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        while body and (not body[0].strip() or body[0].strip().startswith(":")):
            body.pop(0)
        text = inspect.cleandoc("\n".join(body)) if body else ""
        yield Block(path.relative_to(REPO).as_posix(), number + 1, match.group(2), text)


def _markdown_blocks(path: Path) -> Iterator[Block]:
    pattern = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
    text = path.read_text(encoding="utf-8")
    for match in pattern.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        yield Block(path.name, line, match.group(1), match.group(2).rstrip("\n"))


def blocks(*languages: str) -> list[Block]:
    found: list[Block] = []
    for page in PAGES:
        reader = _markdown_blocks if page.suffix == ".md" else _rst_blocks
        found += [block for block in reader(page) if block.language in languages]
    return found


def test_the_pages_have_examples() -> None:
    # The collectors below are not silently empty.
    assert len(blocks("python")) >= 15
    assert len([b for b in blocks("console", "text") if "--root platform_fixtures" in b.text]) >= 3
    assert blocks("ini")


# --- python blocks -----------------------------------------------------------------------------


@dataclasses.dataclass
class World:
    """The temporary machine the examples run on."""

    ca: trustme.CA
    evil: trustme.CA
    directory: Path
    url: str
    substitutions: dict[str, str]
    closers: list[Any]


def _write_crl(ca: trustme.CA, path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    issuer = x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject
    now = datetime.datetime.now(datetime.timezone.utc)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer)
        .last_update(now - datetime.timedelta(hours=1))
        .next_update(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )
    path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    ca, evil = trustme.CA(), trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "db-ca.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "store.pem"))
    ca.issue_cert("client.example.com").private_key_and_cert_chain_pem.write_to_path(
        str(tmp_path / "client.pem")
    )
    _write_crl(ca, tmp_path / "ca.crl.pem")
    paths = {
        "/etc/ssl/db-ca.pem": str(tmp_path / "db-ca.pem"),
        "/etc/db-ca.pem": str(tmp_path / "db-ca.pem"),
        "/etc/ssl/client.pem": str(tmp_path / "client.pem"),
    }
    substitutions = dict(paths)
    substitutions.update({quote(doc, safe=""): quote(real, safe="") for doc, real in paths.items()})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DB_KEY_PASSPHRASE", "not needed: the test key is not encrypted")
    monkeypatch.setenv(
        "MONGODB_URI",
        f"mongodb://{HOST}/?tls=true&tlsCAFile={paths['/etc/ssl/db-ca.pem']}"
        "&tlsCertificateKeyFilePassword=secret",
    )
    leaf = ca.issue_cert("localhost", "127.0.0.1", HOST)
    with pinned_store({"SSL_CERT_FILE": str(tmp_path / "store.pem")}):  # noqa: SIM117
        with TLSServer(server_context(leaf), handler=http_ok) as server:  # 3.9: no (a, b) form
            url = f"https://localhost:{server.port}/"
            substitutions["https://internal.example/"] = url
            made = World(ca, evil, tmp_path, url, substitutions, [])
            yield made
            for thing in made.closers:
                thing.close()


class _AiohttpSessionStandIn:
    """``session`` of the aiohttp line: records that it was given a context (no event loop)."""

    def get(self, url: str, *, ssl: object) -> None:
        assert isinstance(ssl, __import__("ssl").SSLContext)


def _namespace(world: World) -> dict[str, Any]:
    import httpx
    import pymongo
    import requests
    import urllib3

    def mongo_client(uri: str, **kwargs: Any) -> pymongo.MongoClient[Any]:
        # connect=False: the options are parsed and the context built, nothing is dialled.
        client: pymongo.MongoClient[Any] = pymongo.MongoClient(uri, connect=False, **kwargs)
        world.closers.append(client)
        return client

    def httpx_client(**kwargs: Any) -> httpx.Client:
        client = httpx.Client(**kwargs)
        world.closers.append(client)
        return client

    def get(url: str, **kwargs: Any) -> requests.Response:
        response = requests.get(url, timeout=10, **kwargs)
        assert response.status_code == 200  # a real verified handshake with the loopback server
        return response

    return {
        "__name__": "docs_example",
        "os": os,
        "ssl": ssl,
        "trustresolve": trustresolve,
        "MongoClient": mongo_client,
        "requests": type("requests", (), {"get": staticmethod(get)}),
        "httpx": type("httpx", (), {"Client": staticmethod(httpx_client)}),
        "urllib3": urllib3,
        "session": _AiohttpSessionStandIn(),
        "url": world.url,
        "uri": f"mongodb://{HOST}/?tls=true",
    }


# Modules an example may import that some interpreters lack, and where the example is proven.
OPTIONAL_MODULES = {
    "grpc": "grpcio has no PyPy wheel; tests/test_inject_drivers.py runs the example on CPython",
}
# Modules an example may import that must not load into the test process; their examples run in
# a child Python, on the same store (tests/support/grpc_echo.py says why gRPC is one).
CHILD_PROCESS_MODULES = {"grpc"}


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _server(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(HOST).configure_cert(context)
    return context


def _run_in_a_child(block_id: str, code: str) -> None:
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{block_id}: {done.stderr}\n{code}"


def _python_pages() -> list[str]:
    return sorted({block.page for block in blocks("python")})


@pytest.mark.parametrize("page", _python_pages())
def test_python_examples_run(page: str, world: World) -> None:
    namespace = _namespace(world)
    for block in [b for b in blocks("python") if b.page == page]:
        code = block.text
        missing = [name for name in OPTIONAL_MODULES if f"import {name}" in code and not _has(name)]
        if missing:
            # Accounted for, not skipped silently: OPTIONAL_MODULES says where it is tested.
            assert OPTIONAL_MODULES[missing[0]]
            continue
        for documented, real in world.substitutions.items():
            code = code.replace(documented, real)
        if any(f"import {name}" in code for name in CHILD_PROCESS_MODULES):
            _run_in_a_child(block.id, code)
            continue
        printed = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(printed):
            # The pages show insecure and legacy options on purpose; their warnings are
            # tested where they are raised.
            warnings.simplefilter("ignore")
            try:
                exec(compile(code, block.id, "exec"), namespace)
            except Exception as exc:
                pytest.fail(f"{block.id}: {type(exc).__name__}: {exc}\n{block.text}")
        # `print(x)  # Repr(...)` promises what is printed (prose comments are not output).
        lines = printed.getvalue().splitlines()
        for shown in re.findall(r"^print\([^#]*\)\s*#\s*(\w+\(.+)$", code, re.MULTILINE):
            assert shown.strip() in lines, f"{block.id}: prints {lines}, the page says {shown}"
    contexts = {
        name: value
        for name, value in namespace.items()
        if isinstance(value, ssl.SSLContext) and value.verify_mode != ssl.CERT_NONE
    }
    for name, context in contexts.items():
        assert memory_handshake(context, _server(world.ca), HOST) is None, f"{page}: {name}"
        refused = memory_handshake(context, _server(world.evil), HOST)
        assert isinstance(refused, ssl.SSLError), f"{page}: {name} trusts EVIL"


# --- console blocks ----------------------------------------------------------------------------


@dataclasses.dataclass
class Example:
    block: Block
    command: str
    output: list[str]


def _examples() -> list[Example]:
    found = []
    for block in blocks("console", "text"):
        current: Example | None = None
        for line in block.text.splitlines():
            if line.startswith("$ "):
                current = Example(block, line[2:], [])
                found.append(current)
            elif current is not None:
                current.output.append(line)
    return [e for e in found if e.command.startswith("python -m trustresolve") and e.output]


def _run(args: list[str]) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SSL_CERT", "TRUSTRESOLVE_CONFIG", "REQUESTS_CA", "CURL_CA"))
    }
    env["PYTHONPATH"] = str(REPO / "src")
    done = subprocess.run(
        [sys.executable, "-m", "trustresolve", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert not done.stderr, done.stderr
    return done.stdout


def _labels(lines: list[str]) -> list[str]:
    return [line.split(":", 1)[0].rstrip() for line in lines if ":" in line]


@pytest.mark.parametrize("example", _examples(), ids=lambda e: f"{e.block.id} {e.command}")
def test_console_output_is_real(example: Example) -> None:
    args = shlex.split(example.command)[3:]
    skipped = [flag for flag in NOT_RUN if flag in args]
    if skipped:
        # Not a skip: the example is accounted for, with its reason, in NOT_RUN.
        assert NOT_RUN[skipped[0]]
        return
    if "--check" in args:
        # This interpreter's facts: the same lines must exist, in the same order.
        real = iter(_labels(_run(args).splitlines()))
        for label in _labels(example.output):
            assert any(label == seen for seen in real), f"{label!r} not in --check output"
        return
    assert any(arg.startswith("platform_fixtures/") for arg in args), (
        f"{example.block.id}: show `{example.command}` on a fixture tree (--root "
        "platform_fixtures/NAME) so the output is the same everywhere, or list it in NOT_RUN"
    )
    actual = _run(args)
    expected = [line for line in example.output if line.strip() or not line]
    while expected and not expected[-1].strip():
        expected.pop()
    assert output_pattern(expected).fullmatch(actual.rstrip("\n") + "\n"), (
        f"{example.block.id}: the page shows\n"
        + "\n".join(expected)
        + f"\n\nthe run prints\n{actual}"
    )


def test_elision_matches_only_what_it_should() -> None:
    pattern = output_pattern(["a", "...", "d ... f"])
    assert pattern.fullmatch("a\nb\nc\nd e f\n")
    assert pattern.fullmatch("a\nd  f\n")
    assert not pattern.fullmatch("a\nb\nd e g\n")
    assert not pattern.fullmatch("x\nd e f\n")


# --- ini blocks --------------------------------------------------------------------------------


@pytest.mark.parametrize("block", blocks("ini"), ids=lambda b: b.id)
def test_ini_examples_parse(block: Block, tmp_path: Path) -> None:
    config = tmp_path / "trustresolve.ini"
    config.write_text(block.text + "\n", encoding="utf-8")
    facts = PlatformFacts(
        platform="linux", environ={"TRUSTRESOLVE_CONFIG": str(config)}, config_dirs=()
    )
    values = read_config(facts)
    assert values.error is None, values.error
    assert values.values, block.text
    for key, (value, _) in values.values.items():
        assert ";" not in value and "#" not in value, f"{key} = {value!r}: a comment was kept"
        documented = re.search(rf"^{key}\s*=\s*(\S+)", block.text, re.MULTILINE)
        assert documented is not None and value == documented.group(1)


# --- the API reference -------------------------------------------------------------------------


def _api_reference() -> dict[str, set[str]]:
    """``docs/api.rst``: every documented name and the members listed for it."""
    reference: dict[str, set[str]] = {}
    lines = (DOCS / "api.rst").read_text(encoding="utf-8").splitlines()
    name = None
    in_members = False
    for line in lines:
        directive = re.match(r"^\.\. auto\w+:: (\S+)", line)
        if directive:
            name = directive.group(1)
            reference[name] = set()
            in_members = False
            continue
        members = re.match(r"^\s+:members:(.*)$", line)
        if members and name:
            reference[name] |= {m.strip() for m in members.group(1).split(",") if m.strip()}
            in_members = True
        elif in_members and name and line.startswith(" " * 5) and not line.strip().startswith(":"):
            reference[name] |= {m.strip() for m in line.split(",") if m.strip()}
        else:
            in_members = False
    return reference


def _has_comment_doc(source: str, name: str) -> bool:
    """Whether ``name`` (a field or module constant) has a ``#:`` comment, as autodoc reads them."""
    lines = source.splitlines()
    for index, line in enumerate(lines):
        if re.match(rf"^\s*{re.escape(name)}\s*[:=]", line):
            if "#:" in line:
                return True
            return index > 0 and lines[index - 1].strip().startswith("#:")
    return False


def _public_members(cls: type) -> list[str]:
    names = [n for n in vars(cls) if not n.startswith("_")]
    if dataclasses.is_dataclass(cls):
        names += [f.name for f in dataclasses.fields(cls) if f.name not in names]
    return names


def _documented(owner: Any, name: str) -> bool:
    if dataclasses.is_dataclass(owner) and name in {f.name for f in dataclasses.fields(owner)}:
        return _has_comment_doc(inspect.getsource(owner), name)
    value = inspect.getattr_static(owner, name)
    if isinstance(value, (property, classmethod, staticmethod)) or inspect.isfunction(value):
        return bool(inspect.getdoc(getattr(owner, name)))
    return _has_comment_doc(inspect.getsource(owner), name)


def test_dir_shows_the_public_api_only() -> None:
    assert dir(trustresolve) == sorted(trustresolve.__all__)


@pytest.mark.parametrize("name", sorted(trustresolve.__all__))
def test_public_name_is_documented_and_in_the_reference(name: str) -> None:
    reference = _api_reference()
    assert name in reference, f"{name} is not in docs/api.rst"
    value = getattr(trustresolve, name)
    if inspect.isclass(value) or inspect.isfunction(value):
        assert inspect.getdoc(value), f"{name} has no docstring"
    else:
        defined_in = "._version" if name == "__version__" else trustresolve._LAZY[name]
        module = sys.modules[f"trustresolve{defined_in}"]
        assert _has_comment_doc(inspect.getsource(module), name), f"{name} has no #: comment"
    if inspect.isclass(value):
        for member in _public_members(value):
            assert member in reference[name], f"{name}.{member} is not listed in docs/api.rst"
            assert _documented(value, member), f"{name}.{member} has no docstring"


# --- outputs matched by the tests that build their scenario -----------------------------------


def _marked() -> list[tuple[Path, str, int, list[str]]]:
    return [
        (page, *found) for page in PAGES if page.suffix == ".rst" for found in marked_outputs(page)
    ]


def test_every_marked_output_is_claimed_by_a_test() -> None:
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "tests").glob("test_*.py"))
    for page, scenario, line, _ in _marked():
        assert re.search(rf"assert_shown\(\s*\"{re.escape(scenario)}\"", tests), (
            f'{page.name}:{line}: no test calls assert_shown("{scenario}", ...)'
        )


def test_every_connect_output_is_marked() -> None:
    marked = {(page.relative_to(REPO).as_posix(), line) for page, _, line, _ in _marked()}
    for example in _examples():
        if "--connect" in shlex.split(example.command):
            assert (example.block.page, example.block.line) in marked, (
                f"{example.block.id}: mark the block with `.. doctor-output: NAME` and match it "
                "in the test that builds that scenario (tests/support/pages.py)"
            )


def test_the_ssl_c_suffix_is_optional_only_at_the_end() -> None:
    pattern = output_pattern(["OpenSSL: [SSL: X] y (_ssl.c:...)"])
    assert pattern.fullmatch("OpenSSL: [SSL: X] y (_ssl.c:1006)\n")
    assert pattern.fullmatch("OpenSSL: [SSL: X] y\n")  # PyPy
    assert not pattern.fullmatch("OpenSSL: [SSL: X] z\n")
