"""The start-up memo (architecture §9.1): a warm process stats, it does not parse, and every
change that must reach trust does.

Each check runs whole fresh interpreters (the memo is what one process leaves for the next)
and, where trust is the question, makes a real loopback handshake: a server whose leaf the old
CA issued must be refused after a change that drops that CA, and one the new CA issued accepted.
An audit hook in the child lists every store file Python opened; OpenSSL's own reads of a
hashed directory are not audited, and are not parsing in Python.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import trustme

from support.servers import serve, server_context, tls_handler
from trustresolve._x509.der import parse_certificate
from trustresolve._x509.pem import scan_pem
from trustresolve._x509.subject_hash import name_hash

_TRUST_VARIABLES = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "TRUSTRESOLVE_CONFIG",
    "TRUSTRESOLVE_CACHE_DIR",
)
# The child: build the default context, shake hands, report what it opened and imported.
_CHILD = r"""
import os, sys  # json only after the imports are listed: a first run must not need it
# What the interpreter's own start-up imported (virtualenv's .pth imports typing on 3.9).
preloaded = set(sys.modules)
store = sys.argv[1]
opened = []
def audit(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)):
        path = os.fsdecode(args[0])
        if path.startswith(store):
            opened.append(path)
sys.addaudithook(audit)
import socket, ssl, trustresolve
context = trustresolve.create_default_context()
heavy = [
    m for m in ("dataclasses", "typing", "configparser", "platformdirs")
    if m in sys.modules and m not in preloaded
]
# What only a config file, a --root tree or a report needs: never a plain first run's cost.
extra = [m for m in _FIRST_RUN_NEVER if m in sys.modules and m not in preloaded]
verified = {}
for port in sys.argv[2:]:
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost"):
                verified[port] = True
    except ssl.SSLCertVerificationError:
        verified[port] = False
import json
print(json.dumps({"opened": opened, "heavy": heavy, "extra": extra, "verified": verified}))
""".replace(
    "_FIRST_RUN_NEVER",
    repr(
        (
            "configparser",
            "json",
            "dataclasses",  # the probe's value classes are records (architecture §9.2)
            "typing",
            "inspect",
            "importlib.util",
            "importlib",  # the lazy names and backends come through __import__
            "hashlib",  # _digests.py takes OpenSSL's constructors from _hashlib
            "contextlib",
            "platformdirs",
            "datetime",
            "ipaddress",
            "trustresolve._x509.certinfo",
            "trustresolve._backends.macos_trust",
        )
    ),
)


class Run:
    """One child's report."""

    def __init__(self, report: dict[str, object], ports: dict[str, int]) -> None:
        self.opened: list[str] = list(report["opened"])  # type: ignore[call-overload]
        self.heavy: list[str] = list(report["heavy"])  # type: ignore[call-overload]
        self.extra: list[str] = list(report["extra"])  # type: ignore[call-overload]
        verified: dict[str, bool] = report["verified"]  # type: ignore[assignment]
        self.trusts = {name: verified[str(port)] for name, port in ports.items()}


class World:
    """A store directory, a private cache, and one loopback server per CA."""

    def __init__(self, tmp: Path, stack: ExitStack) -> None:
        self.store = tmp / "store"
        self.store.mkdir()
        self.cache = tmp / "cache"
        self.stack = stack
        self.cas: dict[str, trustme.CA] = {}
        self.ports: dict[str, int] = {}
        for name in ("old", "new", "evil"):  # one subject: EVIL's file name is OLD's
            self.add(name, trustme.CA(organization_name="Same Org"))
        self.env = {k: v for k, v in os.environ.items() if k not in _TRUST_VARIABLES}
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env["TRUSTRESOLVE_CACHE_DIR"] = str(self.cache)

    def add(self, name: str, ca: trustme.CA) -> None:
        """``ca`` as ``name``, with a server presenting a leaf it issued."""
        self.cas[name] = ca
        leaf = ca.issue_cert("localhost")
        self.ports[name] = self.stack.enter_context(serve(tls_handler(server_context(leaf))))

    def pem(self, name: str) -> bytes:
        return self.cas[name].cert_pem.bytes()

    def run(self, cwd: Path | None = None, **variables: str) -> Run:
        env = {**self.env, **variables}
        found = subprocess.run(
            [sys.executable, "-c", _CHILD, str(self.store), *map(str, self.ports.values())],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return Run(json.loads(found.stdout), self.ports)

    def warm(self, cwd: Path | None = None, **variables: str) -> Run:
        """Two runs: the first resolves fully and writes the memo, the second uses it."""
        self.run(cwd, **variables)
        return self.run(cwd, **variables)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with ExitStack() as stack:
        yield World(tmp_path, stack)


def _hashed_name(pem: bytes) -> str:
    der = scan_pem(pem).certificates[0].der
    return f"{name_hash(parse_certificate(der).subject)}.0"


def _same_size_pem(world: World, name: str) -> str:
    """A CA whose PEM is exactly as long as ``name``'s, so an edit can keep the file's size."""
    for _ in range(200):
        ca = trustme.CA(organization_name="Same Org")
        if len(ca.cert_pem.bytes()) == len(world.pem(name)):
            world.add("new", ca)
            return "new"
    raise AssertionError("no same-size CA in 200 tries")  # pragma: no cover


def _system_store(world: World, *names: str) -> dict[str, str]:
    """A bundle and its own hashed directory (Debian's pair), holding ``names``."""
    bundle = world.store / "bundle.pem"
    bundle.write_bytes(b"".join(world.pem(n) for n in names))
    directory = world.store / "certs"
    directory.mkdir()
    for name in names:
        (directory / _hashed_name(world.pem(name))).write_bytes(world.pem(name))
    return {"SSL_CERT_FILE": str(bundle), "SSL_CERT_DIR": str(directory)}


def _bundle_store(world: World, name: str, file: str = "bundle.pem") -> dict[str, str]:
    bundle = world.store / file
    bundle.write_bytes(world.pem(name))
    return {"SSL_CERT_FILE": str(bundle)}


@pytest.mark.parametrize("layout", ["system", "bundle-only"])
def test_a_warm_process_opens_no_certificate_and_imports_no_dataclasses(
    world: World, layout: str
) -> None:
    variables = _system_store(world, "old") if layout == "system" else _bundle_store(world, "old")
    first = world.run(**variables)
    assert first.trusts == {"old": True, "new": False, "evil": False}
    assert first.opened  # the cold run read the store
    warm = world.run(**variables)
    assert warm.trusts == {"old": True, "new": False, "evil": False}
    assert warm.opened == []
    assert warm.heavy == []
    # The cold run left one complete memo for the context, which the warm run used.
    assert [p.name.split("-")[1] for p in world.cache.glob("memo-*")] == ["context"]


@pytest.mark.parametrize("layout", ["system", "bundle-only"])
def test_a_first_run_imports_only_what_the_probe_uses(world: World, layout: str) -> None:
    """An empty cache and no config file: the full path runs, without the modules only a
    config file (configparser), a ``--root`` tree (json), a report (certinfo, datetime,
    ipaddress) or macOS (macos_trust) needs, nor dataclasses, typing, importlib.util or
    platformdirs (architecture §9.2), and still trusts exactly the store and leaves the memo."""
    variables = _system_store(world, "old") if layout == "system" else _bundle_store(world, "old")
    first = world.run(**variables)
    assert first.opened  # a real first run: it read the store
    assert first.extra == []
    assert first.trusts == {"old": True, "new": False, "evil": False}
    assert [p.name.split("-")[1] for p in world.cache.glob("memo-*")] == ["context"]
    assert world.run(**variables).opened == []  # the next process uses what it left


def test_an_edit_in_place_with_size_and_mtime_restored_is_seen(world: World) -> None:
    variables = _bundle_store(world, "old")
    assert world.warm(**variables).trusts["old"]
    bundle = world.store / "bundle.pem"
    before = bundle.stat()
    replacement = world.pem(_same_size_pem(world, "old"))
    bundle.write_bytes(replacement)
    os.utime(bundle, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert bundle.stat().st_size == before.st_size
    assert bundle.stat().st_mtime_ns == before.st_mtime_ns
    after = world.run(**variables)
    assert after.trusts == {"old": False, "new": True, "evil": False}
    assert str(bundle) in after.opened  # checked by content again


def test_a_file_added_to_the_hashed_directory_is_trusted_next_run(world: World) -> None:
    variables = _system_store(world, "old")
    assert world.warm(**variables).trusts == {"old": True, "new": False, "evil": False}
    added = world.store / "certs" / _hashed_name(world.pem("new"))
    if added.exists():  # one subject, so one hash: the next number
        added = added.with_suffix(".1")
    added.write_bytes(world.pem("new"))
    after = world.run(**variables)
    assert after.trusts["old"] and after.trusts["new"] and not after.trusts["evil"]


def test_a_changed_variable_changes_the_store(world: World) -> None:
    old = _bundle_store(world, "old", "old.pem")
    new = _bundle_store(world, "new", "new.pem")
    assert world.warm(**old).trusts == {"old": True, "new": False, "evil": False}
    assert world.run(**new).trusts == {"old": False, "new": True, "evil": False}
    assert world.run(**old).trusts == {"old": True, "new": False, "evil": False}


def test_a_changed_config_file_changes_the_store(world: World) -> None:
    (world.store / "old.pem").write_bytes(world.pem("old"))
    (world.store / "new.pem").write_bytes(world.pem("new"))
    ini = world.store / "trustresolve.ini"
    ini.write_text(f"[trustresolve]\ncafile = {world.store / 'old.pem'}\n")
    variables = {"TRUSTRESOLVE_CONFIG": str(ini)}
    assert world.warm(**variables).trusts == {"old": True, "new": False, "evil": False}
    ini.write_text(f"[trustresolve]\ncafile = {world.store / 'new.pem'}\n")
    assert world.run(**variables).trusts == {"old": False, "new": True, "evil": False}


def test_a_relative_variable_is_bound_to_its_working_directory(world: World) -> None:
    for name in ("old", "new"):
        (world.store / name).mkdir()
        (world.store / name / "bundle.pem").write_bytes(world.pem(name))
    assert world.warm(world.store / "old", SSL_CERT_FILE="bundle.pem").trusts["old"]
    after = world.run(world.store / "new", SSL_CERT_FILE="bundle.pem")
    assert after.trusts == {"old": False, "new": True, "evil": False}


def _poison_hashed_entry(cache: Path, world: World) -> None:
    """Overwrite the cached copy of "old" with "evil" (same subject, so the same file name),
    keeping the file's mtime: what a tampered cache would hold."""
    (entry,) = [p for p in cache.glob("hashed-*") if p.is_dir()]
    (target,) = [p for p in entry.iterdir() if p.name != "MANIFEST"]
    before = target.stat()
    target.chmod(0o600)
    target.write_bytes(world.pem("evil"))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_a_swapped_cache_file_is_refused(world: World) -> None:
    variables = _bundle_store(world, "old")
    assert world.warm(**variables).trusts == {"old": True, "new": False, "evil": False}
    _poison_hashed_entry(world.cache, world)
    after = world.run(**variables)
    assert after.trusts == {"old": True, "new": False, "evil": False}


def test_a_copied_cache_is_checked_by_content(world: World) -> None:
    variables = _bundle_store(world, "old")
    assert world.warm(**variables).trusts["old"]
    copy = world.cache.parent / "restored"
    shutil.copytree(world.cache, copy, copy_function=shutil.copy2)
    _poison_hashed_entry(copy, world)
    copy.chmod(0o700)
    after = world.run(**{**variables, "TRUSTRESOLVE_CACHE_DIR": str(copy)})
    assert after.trusts == {"old": True, "new": False, "evil": False}
    assert str(world.store / "bundle.pem") in after.opened  # the memo was not taken


def test_refresh_forgets_what_the_process_recalled(world: World) -> None:
    """In one process the memo answers like resolve()'s cache; refresh=True drops both."""
    variables = _bundle_store(world, "old")
    world.warm(**variables)
    script = (
        "import os, trustresolve\n"
        "from trustresolve._store import memo\n"
        "assert memo.recall(memo.CONTEXT)\n"
        "os.environ['SSL_CERT_FILE'] = os.environ['NEW_FILE']\n"
        "trustresolve.resolve(refresh=True)\n"
        "assert memo.recall(memo.CONTEXT) is None\n"
    )
    (world.store / "new.pem").write_bytes(world.pem("new"))
    env = {**world.env, **variables, "NEW_FILE": str(world.store / "new.pem")}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120)


def test_two_environments_keep_their_own_memo(world: World) -> None:
    """Programs of one user whose environments differ (here one sets REQUESTS_CA_BUNDLE, which
    the probe reads and reports) do not make each other miss: each environment has its own
    memo, and each still trusts exactly its store."""
    plain = _bundle_store(world, "old")
    tool = {**plain, "REQUESTS_CA_BUNDLE": plain["SSL_CERT_FILE"]}
    world.run(**plain)
    world.run(**tool)
    for variables in (plain, tool, plain):
        warm = world.run(**variables)
        assert warm.opened == [], "answered from its own memo"
        assert warm.trusts == {"old": True, "new": False, "evil": False}
    assert len(list(world.cache.glob("memo-context-*"))) == 2


def test_a_memo_cut_short_is_not_used(world: World) -> None:
    """The memo is not fsync'ed, so a crash may leave part of it. Its results (the directories
    the context loads) come last: cut after the first of two, it would trust less. The checksum
    at its end refuses any part of it, and the full path then trusts the whole store again."""
    bundle = world.store / "bundle.pem"
    bundle.write_bytes(world.pem("old"))
    directory = world.store / "certs"  # a directory of another CA: loaded after the bundle's
    directory.mkdir()
    (directory / _hashed_name(world.pem("new"))).write_bytes(world.pem("new"))
    variables = {"SSL_CERT_FILE": str(bundle), "SSL_CERT_DIR": str(directory)}
    warm = world.warm(**variables)
    assert warm.opened == []
    assert warm.trusts == {"old": True, "new": True, "evil": False}
    (memo,) = world.cache.glob("memo-context-*")
    data = memo.read_bytes()
    results = data.split(b"\0r\0\0")
    assert len(results) == 3  # two directories: the materialized bundle, then the store's
    for cut in (len(data) - len(results[-1]) - len(b"\0r\0\0"), len(data) // 2, len(data) - 1):
        memo.write_bytes(data[:cut])  # in place: the memo keeps its own inode
        after = world.run(**variables)
        assert after.opened, cut  # the full path ran
        assert after.trusts == {"old": True, "new": True, "evil": False}, cut
        data = memo.read_bytes()  # the full path wrote a new one
