"""The user cache: content keys, atomic private entries, verification, races, hostile dirs."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from support.ca import mint
from trustresolve._errors import TrustResolveError
from trustresolve._store import cache as _cache
from trustresolve._x509.pem import der_to_pem, scan_pem

POSIX = sys.platform != "win32"
posix_only = pytest.mark.skipif(not POSIX, reason="POSIX modes and owners")
as_root = pytest.mark.skipif(not POSIX or os.geteuid() != 0, reason="chown needs root")
SRC = str(Path(__file__).resolve().parent.parent / "src")


@pytest.fixture(scope="module")
def certs() -> list[bytes]:
    # Two CAs share a subject, so their files collide on the hash: HHHHHHHH.0 and .1.
    return [mint(cn).der for cn in ("Cache CA one", "Cache CA two", "Twin", "Twin")]


@pytest.fixture(autouse=True)
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("TRUSTRESOLVE_CACHE_DIR", str(root))
    return root


def mode(path: str | Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_content_key_ignores_order_and_duplicates(certs: list[bytes]) -> None:
    key = _cache.content_key(certs)
    assert key == _cache.content_key([*reversed(certs), certs[0]])
    assert key != _cache.content_key(certs[:-1])


def test_bundle_holds_exactly_the_certificates(certs: list[bytes], cache_root: Path) -> None:
    path = _cache.materialize_bundle(certs)
    assert os.path.dirname(path) == str(cache_root)
    with open(path, "rb") as handle:
        scan = scan_pem(handle.read())
    assert sorted(c.der for c in scan.certificates) == sorted(certs)
    assert _cache.materialize_bundle(list(reversed(certs))) == path
    if POSIX:
        assert mode(path) == 0o600
        assert mode(cache_root) == 0o700


def test_bundle_reused_without_rewrite(certs: list[bytes]) -> None:
    path = _cache.materialize_bundle(certs)
    before = os.stat(path)
    assert _cache.materialize_bundle(certs) == path
    after = os.stat(path)
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_truncated_bundle_is_rebuilt(certs: list[bytes]) -> None:
    path = _cache.materialize_bundle(certs)
    with open(path, "rb") as handle:
        good = handle.read()
    with open(path, "r+b") as handle:
        handle.truncate(len(good) // 2)
    assert _cache.materialize_bundle(certs) == path
    with open(path, "rb") as handle:
        assert handle.read() == good


def openssl_rehash_names(certs: list[bytes], tmp_path: Path) -> list[str]:
    """The HHHHHHHH.N names OpenSSL's own `openssl rehash` gives these certificates."""
    work = tmp_path / "rehash"
    work.mkdir()
    for index, der in enumerate(certs):
        (work / f"cert{index}.pem").write_text(der_to_pem(der))
    subprocess.run(["openssl", "rehash", str(work)], check=True, capture_output=True)
    return sorted(p.name for p in work.iterdir() if p.is_symlink())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_hashed_dir_names_match_openssl_rehash(certs: list[bytes], tmp_path: Path) -> None:
    path = _cache.materialize_hashed_dir(certs)
    names = sorted(n for n in os.listdir(path) if n != "MANIFEST")
    assert names == openssl_rehash_names(certs, tmp_path)
    assert any(n.endswith(".1") for n in names)  # the collision is numbered
    found = []
    for name in names:
        with open(os.path.join(path, name), "rb") as handle:
            (cert,) = scan_pem(handle.read()).certificates
        found.append(cert.der)
    assert sorted(found) == sorted(certs)


@posix_only
def test_hashed_dir_is_private(certs: list[bytes]) -> None:
    path = _cache.materialize_hashed_dir(certs)
    assert mode(path) == 0o700
    assert {mode(os.path.join(path, n)) for n in os.listdir(path)} == {0o600}
    assert os.lstat(path).st_uid == os.geteuid()


def test_hashed_dir_reused_across_processes(certs: list[bytes], cache_root: Path) -> None:
    path = _cache.materialize_hashed_dir(certs)
    inode = os.stat(path).st_ino
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {SRC!r})
        from trustresolve._store import cache as _cache
        certs = [bytes.fromhex(h) for h in sys.argv[1:]]
        print(_cache.materialize_hashed_dir(certs))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, *(c.hex() for c in certs)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert out == path
    assert os.stat(path).st_ino == inode  # verified and reused, not rebuilt


def damage_truncate(path: str) -> None:
    victim = os.path.join(path, sorted(os.listdir(path))[0])
    with open(victim, "r+b") as handle:
        handle.truncate(10)


def damage_delete(path: str) -> None:
    os.unlink(os.path.join(path, sorted(os.listdir(path))[0]))


def damage_extra(path: str) -> None:
    with open(os.path.join(path, "ffffffff.0"), "w") as handle:
        handle.write("not a certificate")


def damage_manifest(path: str) -> None:
    with open(os.path.join(path, "MANIFEST"), "a") as handle:
        handle.write("junk\n")


def damage_no_manifest(path: str) -> None:
    os.unlink(os.path.join(path, "MANIFEST"))


def damage_replace_with_symlink(path: str) -> None:
    decoy = path + "-decoy"
    os.rename(path, decoy)
    os.symlink(decoy, path)


def damage_flip_byte(path: str) -> None:
    victim = os.path.join(path, sorted(os.listdir(path))[-1])
    data = bytearray(Path(victim).read_bytes())
    data[40] ^= 0x01
    Path(victim).write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        damage_truncate,
        damage_delete,
        damage_extra,
        damage_manifest,
        damage_no_manifest,
        damage_replace_with_symlink,
        damage_flip_byte,
    ],
)
def test_damaged_hashed_dir_is_detected_and_rebuilt(certs: list[bytes], damage: object) -> None:
    path = _cache.materialize_hashed_dir(certs)
    snapshot = {n: Path(path, n).read_bytes() for n in os.listdir(path)}
    assert callable(damage)
    damage(path)
    assert _cache.hashed_dir_for_key(_cache.content_key(certs)) is None
    assert _cache.materialize_hashed_dir(certs) == path
    assert not os.path.islink(path)
    assert {n: Path(path, n).read_bytes() for n in os.listdir(path)} == snapshot
    assert _cache.hashed_dir_for_key(_cache.content_key(certs)) == path


@posix_only
@pytest.mark.parametrize("target", ["dir", "file"])
def test_others_writable_entry_is_rebuilt_privately(certs: list[bytes], target: str) -> None:
    path = _cache.materialize_hashed_dir(certs)
    victim = path if target == "dir" else os.path.join(path, sorted(os.listdir(path))[0])
    os.chmod(victim, 0o777 if target == "dir" else 0o666)
    before = os.stat(path).st_ino
    assert _cache.materialize_hashed_dir(certs) == path
    assert os.stat(path).st_ino != before
    assert mode(path) == 0o700
    assert {mode(os.path.join(path, n)) for n in os.listdir(path)} == {0o600}


@posix_only
def test_others_writable_bundle_is_rebuilt_privately(certs: list[bytes]) -> None:
    path = _cache.materialize_bundle(certs)
    os.chmod(path, 0o666)
    assert _cache.materialize_bundle(certs) == path
    assert mode(path) == 0o600


@as_root
def test_entry_owned_by_someone_else_is_rebuilt(certs: list[bytes]) -> None:
    path = _cache.materialize_hashed_dir(certs)
    for name in os.listdir(path):
        os.chown(os.path.join(path, name), 4242, 4242)
    assert _cache.materialize_hashed_dir(certs) == path
    assert {os.lstat(os.path.join(path, n)).st_uid for n in os.listdir(path)} == {0}
    bundle = _cache.materialize_bundle(certs)
    os.chown(bundle, 4242, 4242)
    assert _cache.materialize_bundle(certs) == bundle
    assert os.lstat(bundle).st_uid == 0


@posix_only
@pytest.mark.parametrize("bits", [0o777, 0o770, 0o1777])
def test_others_writable_cache_dir_is_refused(
    certs: list[bytes], cache_root: Path, bits: int
) -> None:
    cache_root.mkdir()
    os.chmod(cache_root, bits)
    for call in (_cache.materialize_hashed_dir, _cache.materialize_bundle):
        with pytest.raises(TrustResolveError) as info:
            call(certs)
        message = str(info.value)
        assert str(cache_root) in message
        assert "chmod 700" in message
        assert "TRUSTRESOLVE_CACHE_DIR" in message
    assert os.listdir(cache_root) == []  # nothing written into it


@as_root
def test_cache_dir_owned_by_someone_else_is_refused(certs: list[bytes], cache_root: Path) -> None:
    cache_root.mkdir(mode=0o700)
    os.chown(cache_root, 4242, 4242)
    with pytest.raises(TrustResolveError, match="owned by uid 4242"):
        _cache.materialize_hashed_dir(certs)


def test_cache_path_that_is_a_file_is_refused(certs: list[bytes], cache_root: Path) -> None:
    cache_root.write_text("")
    with pytest.raises(TrustResolveError, match=str(cache_root).replace("\\", "\\\\")):
        _cache.materialize_hashed_dir(certs)


def test_unnameable_certificate_is_reported(cache_root: Path) -> None:
    with pytest.raises(_cache.UnnameableCertificateError):
        _cache.materialize_hashed_dir([b"\x30\x03\x02\x01\x01"])


def test_notes_round_trip_and_ignore_foreign_files(cache_root: Path) -> None:
    assert _cache.read_note("store A") is None
    _cache.write_note("store A", "same")
    assert _cache.read_note("store A") == "same"
    assert _cache.read_note("store B") is None
    if POSIX:
        (note,) = [p for p in cache_root.iterdir() if p.name.startswith("note-")]
        os.chmod(note, 0o666)
        assert _cache.read_note("store A") is None


def test_default_location_is_platformdirs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, certs: list[bytes]
) -> None:
    import platformdirs

    monkeypatch.delenv("TRUSTRESOLVE_CACHE_DIR")
    # A set XDG_CACHE_HOME is platformdirs' to read (the plain case is the next test's).
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda *a, **k: str(tmp_path / "pd"))
    assert _cache.cache_dir() == str(tmp_path / "pd")
    assert _cache.materialize_bundle(certs).startswith(str(tmp_path / "pd"))


_LOCATION_CHILD = (
    f"import sys; sys.path.insert(0, {SRC!r}); "
    "from trustresolve._store import cache; where = cache.cache_location(); "
    "imported = 'platformdirs' in sys.modules; import platformdirs, json; "
    "print(json.dumps([where[0], platformdirs.user_cache_dir('trustresolve', appauthor=False), "
    "imported]))"
)


@pytest.mark.parametrize(
    "variables",
    [
        {},  # the plain Unix case: computed here, no import
        {"HOME": "/home/someone/"},
        {"XDG_CACHE_HOME": "XDG"},  # platformdirs' own answer from here on
        {"XDG_CACHE_HOME": ""},
        {"XDG_CACHE_HOME": "relative/cache"},
        {"ANDROID_DATA": "/data", "ANDROID_ROOT": "/system", "SHELL": "/bin/sh"},
    ],
)
def test_default_location_is_platformdirs_answer_without_importing_it_when_plain(
    tmp_path: Path, variables: dict[str, str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ANDROID_"))}
    env.pop("TRUSTRESOLVE_CACHE_DIR", None)
    env["HOME"] = str(tmp_path / "home")
    env.update({k: str(tmp_path / v) if v == "XDG" else v for k, v in variables.items()})
    found = subprocess.run(
        [sys.executable, "-c", _LOCATION_CHILD], env=env, capture_output=True, text=True, check=True
    )
    where, platformdirs_says, imported = json.loads(found.stdout)
    if os.path.isabs(platformdirs_says):
        assert where == platformdirs_says
    else:  # platformdirs < 4.5 (Python 3.9) passes a relative XDG_CACHE_HOME through: refused
        uid = os.geteuid() if hasattr(os, "geteuid") else 0
        assert where == os.path.join(tempfile.gettempdir(), f"trustresolve-{uid}")
    plain = not variables.get("XDG_CACHE_HOME") and "ANDROID_DATA" not in variables
    assert imported is (not plain)


def test_import_does_not_load_certifi_or_platformdirs() -> None:
    code = (
        # Compared with the modules already loaded: a site .pth file may import certifi itself.
        f"import sys; sys.path.insert(0, {SRC!r}); before = set(sys.modules); "
        "import trustresolve._store.cache, trustresolve._tls.load; "
        "import trustresolve._x509.subject_hash; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(sorted({'certifi', 'platformdirs', 'truststore'} & new))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


RACER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[1])
    from trustresolve._store import cache as _cache
    if sys.argv[3] == "nolock":
        _cache._acquire = lambda fd: None  # only the atomic rename protects the entry
    certs = [bytes.fromhex(h) for h in sys.argv[4:]]
    while time.time() < float(sys.argv[2]):
        pass
    print(_cache.materialize_hashed_dir(certs))
    """
)


@pytest.mark.parametrize("locking", ["lock", "nolock"])
@pytest.mark.parametrize("damaged_first", [False, True])
def test_processes_racing_leave_one_valid_entry(
    certs: list[bytes], cache_root: Path, locking: str, damaged_first: bool
) -> None:
    if damaged_first:
        damage_truncate(_cache.materialize_hashed_dir(certs))
    start = time.time() + 1.5
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, SRC, str(start), locking, *(c.hex() for c in certs)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    results = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 8, results
    paths = {out.strip() for out, _ in results}
    assert len(paths) == 1
    (path,) = paths
    assert _cache.hashed_dir_for_key(_cache.content_key(certs)) == path
    entries = [n for n in os.listdir(cache_root) if not n.startswith(".lock-")]
    assert entries == [os.path.basename(path)]  # no temp or trash directories left behind


def test_a_file_system_that_takes_no_bytes_is_an_error_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache file is written with ``os.write`` until it is whole; a write that takes
    nothing ends with an error naming the file instead of looping forever."""
    monkeypatch.setattr(os, "write", lambda fd, data: 0)
    target = tmp_path / "00000000.0"
    with pytest.raises(OSError, match=r"could not write .*00000000\.0: no bytes written"):
        _cache._write_new(str(target), b"-----BEGIN CERTIFICATE-----\n")


def test_the_stamp_hands_its_stats_over_once_and_only_while_the_entry_is_unchanged(
    certs: list[bytes],
) -> None:
    """The memo may take an entry's file identities from the stamp just taken (_tls/load.py
    _entry_identities): the same lstat results, for that entry only, once, and not after the
    directory gained or lost a file."""
    path = _cache.materialize_hashed_dir(certs)
    assert _cache.entry_stamp(path) is not None
    stamped = _cache.stamped_files(path)
    assert stamped is not None
    info, files = stamped
    assert (info.st_ino, info.st_ctime_ns) == (os.lstat(path).st_ino, os.lstat(path).st_ctime_ns)
    assert sorted(files) == sorted(os.listdir(path))
    for name, file_info in files.items():
        now = os.lstat(os.path.join(path, name))
        assert (file_info.st_ino, file_info.st_size, file_info.st_ctime_ns) == (
            now.st_ino,
            now.st_size,
            now.st_ctime_ns,
        )
    assert _cache.stamped_files(path) is None  # once
    assert _cache.entry_stamp(path) is not None
    assert _cache.stamped_files(os.path.join(os.path.dirname(path), "another")) is None
    assert _cache.entry_stamp(path) is not None
    time.sleep(0.01)  # a coarse clock: the directory's times must move
    (Path(path) / "extra").write_bytes(b"")
    assert _cache.stamped_files(path) is None  # the directory changed since the stamp


def test_a_built_entry_is_remembered_by_the_identities_a_later_stamp_finds(
    certs: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build remembers its entry by the ``fstat`` of each file as it was written
    (_remember_built): that must be the stamp an ``lstat`` of the installed entry gives, or a
    first run's memo and the next check by stamp would miss."""
    path = _cache.materialize_hashed_dir(certs)  # a new entry: built in this call
    built = _cache.verified_stamp(certs)
    handed = _cache.stamped_files(path)  # the build's identities, handed to the memo
    assert handed is not None
    assert sorted(handed[1]) == sorted(os.listdir(path))
    assert built is not None
    assert built == _cache.entry_stamp(path)
    # And it is the entry that is checked by stamp: unchanged, it is not read again.
    reads: list[str] = []
    real = _cache._read_private_file

    def counting(file: str) -> bytes | None:
        reads.append(file)
        return real(file)

    monkeypatch.setattr(_cache, "_read_private_file", counting)
    assert _cache.materialize_hashed_dir(certs) == path
    assert reads == []
