"""Trust integrity: paths, the cache and the machine.

Who may change a path (owner and mode of every directory and link target on the way), cache
entries bound to the store's own certificates, hashed names that are not files, a hostile
``platform.json``, no home directory, and ``fork()`` while a lock is held. Trust questions are
answered by real handshakes against a GOOD and an attacker's (EVIL) CA.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from hypothesis import given, settings
from hypothesis import strategies as st

from support.servers import memory_handshake
from trustresolve import ConfigurationError, NoTrustStoreError, TrustResolveError
from trustresolve._machine.facts import PlatformFacts
from trustresolve._machine.model import TrustSource
from trustresolve._machine.pathsafety import unsafe_reason, who_else_can_change
from trustresolve._store import cache as _cache
from trustresolve._store import resolve as _resolve
from trustresolve._store.resolve import probe_all
from trustresolve._tls import load as _load
from trustresolve._x509.der import parse_certificate
from trustresolve._x509.pem import scan_pem
from trustresolve._x509.subject_hash import name_hash

REPO = Path(__file__).resolve().parent.parent
SRC = str(REPO / "src")
TESTS = str(REPO / "tests")
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX owners and modes")
as_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to act as other users"
)
NOBODY = 65534


class Pki:
    """A GOOD CA the store holds and an EVIL CA it must never trust, each with a server."""

    def __init__(self) -> None:
        self.good, self.evil = trustme.CA(), trustme.CA()
        self.good_leaf = self.good.issue_cert("good.test")
        self.evil_leaf = self.evil.issue_cert("good.test")  # same name: only the CA differs

    def server(self, evil: bool = False) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        (self.evil_leaf if evil else self.good_leaf).configure_cert(context)
        return context

    def verdict(self, client: ssl.SSLContext) -> tuple[bool, bool]:
        """(GOOD server accepted, EVIL server accepted)."""
        good = memory_handshake(client, self.server(), "good.test") is None
        evil = memory_handshake(client, self.server(evil=True), "good.test") is None
        return good, evil


@pytest.fixture
def pki() -> Pki:
    return Pki()


def _der(ca: trustme.CA) -> bytes:
    return scan_pem(ca.cert_pem.bytes()).certificates[0].der


def _hash(ca: trustme.CA) -> str:
    return name_hash(parse_certificate(_der(ca)).subject)


def _client(source: TrustSource) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _load.load_source(context, source)
    return context


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a new process remembers: nothing of the plans and checks of this one."""
    monkeypatch.setattr(_load, "_plans", {})
    monkeypatch.setattr(_cache, "_verified", {})


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv(_cache.ENV_VAR, str(root))
    return root


# --- 1. one path-safety check --------------------------------------------------------------


@posix_only
def test_a_private_chain_is_safe(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir(mode=0o755)
    (tmp_path / "a" / "f.pem").write_text("x")
    assert unsafe_reason(str(tmp_path / "a" / "f.pem")) is None


@posix_only
def test_a_writable_grandparent_is_named_with_the_fix(tmp_path: Path) -> None:
    top = tmp_path / "common"
    (top / "deeper").mkdir(parents=True)
    (top / "deeper" / "f.pem").write_text("x")
    top.chmod(0o777)
    found = who_else_can_change(str(top / "deeper" / "f.pem"))
    assert found is not None
    assert found[0] == str(top)
    assert f"chmod go-w {top}" in found[1]


@posix_only
def test_group_writable_counts_as_writable(tmp_path: Path) -> None:
    bundle = tmp_path / "f.pem"
    bundle.write_text("x")
    bundle.chmod(0o664)
    reason = unsafe_reason(str(bundle))
    assert reason is not None and "group or others" in reason and "chmod go-w" in reason


@posix_only
def test_sticky_directory_rules(tmp_path: Path) -> None:
    sticky = tmp_path / "tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)
    mine = sticky / "mine"
    mine.mkdir(mode=0o700)
    assert unsafe_reason(str(mine)) is None  # in a sticky dir, owned by us: nobody can swap it
    if os.geteuid() == 0:
        theirs = sticky / "theirs"
        theirs.mkdir(mode=0o700)
        os.chown(theirs, NOBODY, NOBODY)
        reason = unsafe_reason(str(theirs / "x"))
        assert reason is not None and f"uid {NOBODY}" in reason


@posix_only
def test_a_link_into_a_writable_directory_is_followed(tmp_path: Path) -> None:
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    (open_dir / "f.pem").write_text("x")
    open_dir.chmod(0o777)
    safe = tmp_path / "safe"
    safe.mkdir()
    (safe / "link.pem").symlink_to(open_dir / "f.pem")
    found = who_else_can_change(str(safe / "link.pem"))
    assert found is not None and found[0] == str(open_dir)


@posix_only
def test_a_store_under_a_writable_directory_is_flagged_but_used(tmp_path: Path) -> None:
    ca = trustme.CA()
    top = tmp_path / "open"
    (top / "inner").mkdir(parents=True)
    bundle = top / "inner" / "ca.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    top.chmod(0o777)
    facts = PlatformFacts(platform="linux", environ={"SSL_CERT_FILE": str(bundle)}, config_dirs=())
    resolution = probe_all(facts)
    assert resolution.source is not None and resolution.source.cafile == str(bundle)
    assert any(f"chmod go-w {top}" in w for w in resolution.source.warnings)
    assert f"chmod go-w {top}" in resolution.explain()


@posix_only
def test_hashed_entries_linking_into_a_writable_directory_are_flagged(tmp_path: Path) -> None:
    ca = trustme.CA()
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    (open_dir / "ca.pem").write_bytes(ca.cert_pem.bytes())
    open_dir.chmod(0o777)
    hashed = tmp_path / "certs"
    hashed.mkdir()
    (hashed / f"{_hash(ca)}.0").symlink_to(open_dir / "ca.pem")
    facts = PlatformFacts(platform="linux", environ={"SSL_CERT_DIR": str(hashed)}, config_dirs=())
    resolution = probe_all(facts)
    assert resolution.source is not None
    text = " ".join(resolution.source.warnings)
    assert "1 hashed entries" in text and f"chmod go-w {open_dir}" in text


@posix_only
def test_a_config_file_others_can_change_is_refused(tmp_path: Path, pki: Pki) -> None:
    evil_pem = tmp_path / "evil.pem"
    evil_pem.write_bytes(pki.evil.cert_pem.bytes())
    shared = tmp_path / "common"
    shared.mkdir()
    ini = shared / "trustresolve.ini"
    ini.write_text(f"[trustresolve]\ncafile = {evil_pem}\n")
    shared.chmod(0o777)  # anyone could have written this pin to EVIL
    for environ, dirs in (({"TRUSTRESOLVE_CONFIG": str(ini)}, ()), ({}, (str(shared),))):
        facts = PlatformFacts(platform="linux", environ=environ, config_dirs=dirs)
        with pytest.raises(NoTrustStoreError) as info:
            probe_all(facts)
        message = str(info.value)
        assert "is not used" in message and f"chmod go-w {shared}" in message
    shared.chmod(0o755)  # fixed: the same file is used
    facts = PlatformFacts(platform="linux", environ={}, config_dirs=(str(shared),))
    source = probe_all(facts).source
    assert source is not None and source.backend == "config"
    assert pki.verdict(_client(source)) == (False, True)  # it really pins EVIL: refusal mattered


# --- 2. cache entries bound to the store's own certificates ---------------------------------


def _smuggle(entry: Path, ca: trustme.CA) -> None:
    """Add a root to a hashed directory and rewrite its MANIFEST to match (a forged restore)."""
    data = ca.cert_pem.bytes()
    name = f"{_hash(ca)}.0"
    while (entry / name).exists():
        name = f"{name[:-1]}{int(name[-1]) + 1}"
    (entry / name).write_bytes(data)
    (entry / name).chmod(0o600)
    manifest = (entry / "MANIFEST").read_text().splitlines()
    import hashlib

    manifest.insert(-1, f"{name} {hashlib.sha256(data).hexdigest()}")
    (entry / "MANIFEST").write_text("\n".join(manifest) + "\n")


@pytest.mark.usefixtures("fresh_process")
def test_a_restored_cache_with_an_extra_root_is_not_trusted(
    tmp_path: Path, own_cache: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "good.pem"
    bundle.write_bytes(pki.good.cert_pem.bytes())
    source = TrustSource(backend="env", kind="file", cafile=str(bundle), cert_count=1)
    assert pki.verdict(_client(source)) == (True, False)
    (entry,) = own_cache.glob("hashed-*")
    # The CI cache is saved and restored into a new cache directory, with EVIL slipped in.
    restored = tmp_path / "restored"
    shutil.copytree(own_cache, restored, copy_function=shutil.copy2)
    _smuggle(restored / entry.name, pki.evil)
    restored.chmod(0o700)
    monkeypatch.setenv(_cache.ENV_VAR, str(restored))
    monkeypatch.setattr(_load, "_plans", {})
    monkeypatch.setattr(_cache, "_verified", {})
    assert pki.verdict(_client(source)) == (True, False)
    assert not (restored / entry.name / f"{_hash(pki.evil)}.0").exists()  # rebuilt


@pytest.mark.usefixtures("fresh_process")
def test_the_stamp_of_an_entry_this_process_built_does_not_vouch_for_a_root_added_later(
    tmp_path: Path, own_cache: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build remembers its entry by the fstat of each file it wrote (_store/cache.py
    _remember_built). A root added afterwards changes the entry's stamp, so that memory no
    longer vouches for it: the next plan checks the entry by content and rebuilds it. (A plan
    already made keeps its directory, as a live context keeps reading it: only the user can
    write there, architecture §10.)"""
    bundle = tmp_path / "good.pem"
    bundle.write_bytes(pki.good.cert_pem.bytes())
    source = TrustSource(backend="env", kind="file", cafile=str(bundle), cert_count=1)
    assert pki.verdict(_client(source)) == (True, False)  # the first context builds the entry
    (entry,) = own_cache.glob("hashed-*")
    key = _cache.content_key([_der(pki.good)])
    assert _cache.hashed_dir_for_key(key) == str(entry)  # vouched for by the build's stamp
    _smuggle(entry, pki.evil)
    assert _cache.hashed_dir_for_key(key) is None
    monkeypatch.setattr(_load, "_plans", {})  # a new plan; the build's stamp is still held
    assert pki.verdict(_client(source)) == (True, False)
    assert not (entry / f"{_hash(pki.evil)}.0").exists()  # rebuilt


@pytest.mark.usefixtures("fresh_process", "own_cache")
def test_a_consistent_entry_with_an_extra_file_is_rebuilt_for_cadata(pki: Pki) -> None:
    certs = [_der(pki.good)]
    path = Path(_cache.materialize_hashed_dir(certs))
    _smuggle(path, pki.evil)
    _cache._verified.clear()
    assert _cache.hashed_dir_for_key(_cache.content_key(certs)) is None
    assert Path(_cache.materialize_hashed_dir(certs)) == path
    assert sorted(p.name for p in path.iterdir()) == sorted([f"{_hash(pki.good)}.0", "MANIFEST"])
    source = TrustSource(backend="windows", kind="data", cadata=pki.good.cert_pem.bytes().decode())
    assert pki.verdict(_client(source)) == (True, False)


@pytest.mark.usefixtures("fresh_process", "own_cache")
def test_a_stamp_from_another_machine_does_not_vouch_for_an_entry(pki: Pki) -> None:
    path = _cache.materialize_hashed_dir([_der(pki.good)])
    stamp = _cache.entry_stamp(path)
    key = _cache.content_key([_der(pki.good)])
    assert stamp is not None and _cache.hashed_dir_for_key(key, stamp) == path
    assert _cache.hashed_dir_for_key(key, "0" * 64) is None
    os.utime(path)  # any change to the directory: a new identity, checked by content again
    assert _cache.hashed_dir_for_key(key, stamp) is None


# --- 3. the cache's whole chain; private, never rewritten in place --------------------------


@posix_only
def test_a_cache_under_a_writable_directory_is_refused(tmp_path: Path, pki: Pki) -> None:
    shared = tmp_path / "common"
    shared.mkdir()
    shared.chmod(0o777)
    root = shared / "cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(_cache.ENV_VAR, str(root))
        patch.setattr(_load, "_plans", {})
        patch.setattr(_load, "_warned", set())
        with pytest.raises(TrustResolveError, match=f"chmod go-w {shared}"):
            _cache.cache_dir()
        bundle = tmp_path / "good.pem"
        bundle.write_bytes(pki.good.cert_pem.bytes())
        source = TrustSource(backend="env", kind="file", cafile=str(bundle), cert_count=1)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert pki.verdict(_client(source)) == (True, False)  # eagerly, same trust
        assert any(str(shared) in str(w.message) for w in caught)
    assert not any(root.glob("hashed-*"))


@as_root
def test_a_cache_precreated_by_another_user_is_refused(tmp_path: Path) -> None:
    sticky = Path(tempfile.mkdtemp(prefix="trustresolve-sticky-"))
    try:
        sticky.chmod(0o1777)
        planted = sticky / "cache"
        planted.mkdir(mode=0o700)
        os.chown(planted, NOBODY, NOBODY)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(_cache.ENV_VAR, str(planted))
            with pytest.raises(TrustResolveError, match=f"uid {NOBODY}"):
                _cache.cache_dir()
    finally:
        shutil.rmtree(sticky)


@posix_only
@pytest.mark.usefixtures("fresh_process")
def test_the_cache_is_private_and_entries_are_new_files(own_cache: Path, pki: Pki) -> None:
    certs = [_der(pki.good)]
    path = Path(_cache.materialize_hashed_dir(certs))
    assert stat.S_IMODE(own_cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in path.iterdir()} == {0o600}
    before = {p.name: p.stat().st_ino for p in path.iterdir()}
    (path / "MANIFEST").write_text("damaged\n")
    _cache._verified.clear()
    rebuilt = Path(_cache.materialize_hashed_dir(certs))
    after = {p.name: p.stat().st_ino for p in rebuilt.iterdir()}
    # The damaged entry was replaced by renaming a new one into place, not rewritten.
    assert set(after) == set(before) and not set(after.values()) & set(before.values())


@as_root
def test_another_user_cannot_swap_an_entry(own_cache: Path, pki: Pki) -> None:
    path = _cache.materialize_hashed_dir([_der(pki.good)])
    work = Path(tempfile.mkdtemp(prefix="trustresolve-swap-"))
    work.chmod(0o755)
    code = (
        "import os, sys\n"
        f"os.setgid({NOBODY}); os.setuid({NOBODY})\n"
        "path = sys.argv[1]\n"
        "tries = [lambda: os.rename(path, path + '.x'), lambda: os.mkdir(path + '.y'),\n"
        "         lambda: os.rename(os.path.dirname(path), os.path.dirname(path) + '.z')]\n"
        "for attempt in tries:\n"
        "    try:\n"
        "        attempt()\n"
        "    except PermissionError:\n"
        "        continue\n"
        "    sys.exit('swapped')\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", code, path],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        work.rmdir()
    assert done.returncode == 0, done.stdout + done.stderr
    assert os.path.isdir(path)


# --- 4. a hashed name that is not a regular file -------------------------------------------


def _child(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SSL_CERT", "TRUSTRESOLVE"))}
    base.update(env)
    base["PYTHONPATH"] = os.pathsep.join([SRC, TESTS])
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=base,
        capture_output=True,
        text=True,
        timeout=120,  # a hang fails the test instead of the suite
        check=False,
    )


_HANDSHAKES = (
    "import ssl, sys, trustme, trustresolve\n"
    "from support.servers import memory_handshake\n"
    "def server(leaf_pem, key_pem):\n"
    "    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
    "    context.load_cert_chain(leaf_pem, key_pem)\n"
    "    return context\n"
    "def verdict(client):\n"
    "    good = memory_handshake(client, server(*sys.argv[1:3]), 'good.test') is None\n"
    "    evil = memory_handshake(client, server(*sys.argv[3:5]), 'good.test') is None\n"
    "    return good, evil\n"
)


def _server_files(pki: Pki, where: Path) -> list[str]:
    files = []
    for name, leaf in (("good", pki.good_leaf), ("evil", pki.evil_leaf)):
        chain, key = where / f"{name}-chain.pem", where / f"{name}-key.pem"
        chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        key.write_bytes(leaf.private_key_pem.bytes())
        files += [str(chain), str(key)]
    return files


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("named_after", ["good", "evil"])
def test_a_fifo_named_like_a_hash_never_blocks(tmp_path: Path, pki: Pki, named_after: str) -> None:
    bundle = tmp_path / "good.pem"
    bundle.write_bytes(pki.good.cert_pem.bytes())
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / f"{_hash(pki.good)}.0").write_bytes(pki.good.cert_pem.bytes())
    fifo_hash = _hash(pki.good if named_after == "good" else pki.evil)
    os.mkfifo(certs / f"{fifo_hash}.{1 if named_after == 'good' else 0}")
    code = _HANDSHAKES + (
        "context = trustresolve.create_default_context()\n"
        "print(verdict(context))\n"
        "print(verdict(trustresolve.create_default_context()))\n"
    )
    env = {
        "SSL_CERT_FILE": str(bundle),
        "SSL_CERT_DIR": str(certs),
        _cache.ENV_VAR: str(tmp_path / "cache"),
    }
    done = _child(code, env, *_server_files(pki, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split("\n")[:2] == ["(True, False)", "(True, False)"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_directory_only_store_with_a_fifo_never_blocks(tmp_path: Path, pki: Pki) -> None:
    # No bundle, so no lazy plan: the store is loaded as given, and OpenSSL's by_dir would open
    # the FIFO (named after EVIL) while verifying EVIL's server, and wait for a writer forever.
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / f"{_hash(pki.good)}.0").write_bytes(pki.good.cert_pem.bytes())
    os.mkfifo(certs / f"{_hash(pki.evil)}.0")
    code = _HANDSHAKES + "print(verdict(trustresolve.create_default_context()))\n"
    env = {"SSL_CERT_DIR": str(certs), _cache.ENV_VAR: str(tmp_path / "cache")}
    done = _child(code, env, *_server_files(pki, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split("\n")[0] == "(True, False)"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.usefixtures("fresh_process", "own_cache")
def test_a_directory_with_a_fifo_is_not_handed_to_openssl(tmp_path: Path, pki: Pki) -> None:
    bundle = tmp_path / "good.pem"
    bundle.write_bytes(pki.good.cert_pem.bytes())
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / f"{_hash(pki.good)}.0").write_bytes(pki.good.cert_pem.bytes())
    os.mkfifo(certs / f"{_hash(pki.evil)}.0")
    source = TrustSource(
        backend="env", kind="file", cafile=str(bundle), capath=str(certs), cert_count=1
    )
    plan = _load._plan_for(source)
    assert not plan.eager and str(certs) not in plan.capaths
    assert pki.verdict(_client(source)) == (True, False)


# --- 5. platform.json under --root ------------------------------------------------------------


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    return root


def test_platform_json_linking_out_of_the_tree_stays_inside(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "platform.json").symlink_to("/dev/zero")
    with pytest.raises(ConfigurationError, match=r"platform\.json"):
        PlatformFacts.from_root(str(root))
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({"platform": "win32"}))
    (root / "platform.json").unlink()
    (root / "platform.json").symlink_to(outside)  # absolute: resolves inside the tree
    with pytest.raises(ConfigurationError, match=r"platform\.json"):
        PlatformFacts.from_root(str(root))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_platform_json_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.mkfifo(root / "platform.json")
    with pytest.raises(ConfigurationError, match="FIFO"):
        PlatformFacts.from_root(str(root))


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
        ('{"platform": ', "not a readable JSON document"),
        ("[]", "must hold a JSON object"),
    ],
)
def test_bad_platform_json_is_a_configuration_error(
    tmp_path: Path, content: str, needle: str
) -> None:
    root = _tree(tmp_path)
    (root / "platform.json").write_text(content)
    with pytest.raises(ConfigurationError, match=needle) as info:
        PlatformFacts.from_root(str(root))
    assert str(root / "platform.json") in str(info.value)


def test_huge_platform_json_is_not_read(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    with open(root / "platform.json", "wb") as handle:
        handle.truncate(1 << 32)  # sparse
    with pytest.raises(ConfigurationError, match="larger than"):
        PlatformFacts.from_root(str(root))


def test_hostile_platform_json_through_the_cli_has_no_traceback(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "platform.json").write_text("[" * 200_000)
    done = _child(
        "import sys, trustresolve._cli.main as m; sys.exit(m.main(sys.argv[1:]))",
        {},
        "--which",
        "--root",
        str(root),
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    assert "platform.json" in done.stdout + done.stderr


# --- 6. no HOME and no passwd entry -----------------------------------------------------------

_NO_HOME_UID = 12345


@as_root
def test_no_home_and_no_passwd_entry_still_gives_a_context(tmp_path: Path, pki: Pki) -> None:
    import pwd

    with pytest.raises(KeyError):
        pwd.getpwuid(_NO_HOME_UID)
    work = Path(tempfile.mkdtemp(prefix="trustresolve-nohome-"))
    fallback = Path(tempfile.gettempdir()) / f"trustresolve-{_NO_HOME_UID}"
    shutil.rmtree(fallback, ignore_errors=True)
    try:
        work.chmod(0o755)
        bundle = work / "good.pem"
        bundle.write_bytes(pki.good.cert_pem.bytes())
        args = _server_files(pki, work)
        for path in work.iterdir():
            path.chmod(0o644)
        code = _HANDSHAKES + (
            "import io, os, contextlib, argparse, gettext, locale, json, configparser\n"
            "import platformdirs, certifi, hashlib, shutil, tempfile, warnings, fcntl\n"
            "import importlib.util, importlib.machinery, encodings.idna\n"
            "import trustresolve._backends.order, trustresolve._cli.main as cli\n"
            "import trustresolve._machine.model, trustresolve._store.cache\n"
            "import trustresolve._tls.load, trustresolve._tls.context\n"
            "for name in ('HOME', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'TMPDIR'):\n"
            "    os.environ.pop(name, None)\n"
            f"os.setgid({_NO_HOME_UID}); os.setuid({_NO_HOME_UID})\n"
            "with warnings.catch_warnings():\n"
            "    warnings.simplefilter('error')\n"
            "    print(verdict(trustresolve.create_default_context()))\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            "    cli.main(['--which'])\n"
            "print(out.getvalue())\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SSL_CERT", "TRUST"))}
        env.update({"SSL_CERT_FILE": str(bundle), "PYTHONPATH": os.pathsep.join([SRC, TESTS])})
        env.pop("HOME", None)
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert lines[0] == "(True, False)"
        assert f"note: the cache is {fallback} ({_cache.NO_HOME})" in done.stdout
        assert fallback.stat().st_uid == _NO_HOME_UID
        assert stat.S_IMODE(fallback.stat().st_mode) == 0o700
        assert any(fallback.glob("hashed-*"))  # loaded lazily from the fallback cache
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(fallback, ignore_errors=True)


# --- 7. fork() while another thread holds a lock ---------------------------------------------


@pytest.fixture
def held_locks() -> Iterator[threading.Event]:
    """Another thread holds the loader's and the resolver's locks until released."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with _load._plans_lock, _resolve._lock:
            taken.set()
            release.wait()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    taken.wait()
    yield release
    release.set()
    thread.join()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
@pytest.mark.usefixtures("fresh_process")
def test_fork_while_a_thread_holds_the_locks(
    held_locks: threading.Event, tmp_path: Path, pki: Pki
) -> None:
    bundle = tmp_path / "good.pem"
    bundle.write_bytes(pki.good.cert_pem.bytes())
    import trustresolve

    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("SSL_CERT")}
    os.environ["SSL_CERT_FILE"] = str(bundle)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            signal.alarm(60)  # a hang ends the child (and fails the test), not the suite
            status = 1
            try:
                trustresolve.resolve(refresh=True)
                verdict = pki.verdict(trustresolve.create_default_context())
                status = 0 if verdict == (True, False) else 2
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
    finally:
        del os.environ["SSL_CERT_FILE"]
        os.environ.update(saved)
    assert os.waitstatus_to_exitcode(status) == 0


_PATH_PARTS = st.sampled_from(["/", "a", "b", ".", "..", "//", "c.pem", "0123abcd.0", "/usr"])


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(["etc", "ssl", "certs", "x.0", "..", ".", ""]), min_size=1).map(
        lambda parts: "/" + "/".join(parts)
    ),
    st.lists(_PATH_PARTS, max_size=6).map("".join),
)
def test_a_link_hop_lands_where_normpath_says(link: str, target: str) -> None:
    """pathsafety's quick forms of a symlink hop (a bare name, a plain absolute path) give
    exactly what normalizing the joined path gives."""
    import posixpath

    from trustresolve._machine.pathsafety import _hop

    expected = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
    assert _hop(link, target) == expected
