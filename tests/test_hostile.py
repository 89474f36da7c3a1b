"""hostile stores end quickly with a clear outcome, bounded memory, no traceback."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trustme

from support.trees import linux_facts
from trustresolve import NoTrustStoreError
from trustresolve._store.resolve import probe_all, where

REPO = Path(__file__).resolve().parent.parent

MiB = 1024 * 1024


def _pem(ca: trustme.CA) -> bytes:
    return ca.cert_pem.bytes()


def _run_which(
    env_update: dict[str, str], *args: str
) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """Run --which in a child; return it, its wall time and its peak RSS in KiB."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SSL_CERT", "TRUSTRESOLVE_CONFIG"))
    }
    env.update(env_update)
    env["PYTHONPATH"] = str(REPO / "src")
    code = (
        "import resource, runpy, sys\n"
        "sys.argv = ['trustresolve', '--which', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('trustresolve', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the forking parent.
        "    status = open('/proc/self/status').read()\n"
        "    rss = int(status.split('VmHWM:')[1].split()[0]) if 'VmHWM:' in status else \\\n"
        "        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    print(f'@@rss={rss}', file=sys.stderr)\n"
        "    raise\n"
    )
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        errors="backslashreplace",
        check=False,
    )
    elapsed = time.monotonic() - start
    rss = int(done.stderr.rsplit("@@rss=", 1)[1].split()[0]) if "@@rss=" in done.stderr else -1
    return done, elapsed, rss


def _assert_clean_failure(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for needle in needles:
        assert needle in done.stdout, done.stdout


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_ssl_cert_file_dev_zero_is_refused_without_reading() -> None:
    done, _, rss = _run_which({"SSL_CERT_FILE": "/dev/zero"})
    _assert_clean_failure(done, "SSL_CERT_FILE='/dev/zero'", "character device")
    assert rss < 200 * 1024, f"peak RSS {rss} KiB"


def test_fifo_without_writer_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "bundle.pem"
    os.mkfifo(fifo)
    done, _, _ = _run_which({"SSL_CERT_FILE": str(fifo)})
    _assert_clean_failure(done, "FIFO", "SSL_CERT_FILE")


def test_multi_gigabyte_sparse_file_is_not_read(tmp_path: Path) -> None:
    big = tmp_path / "huge.pem"
    with open(big, "wb") as handle:
        handle.truncate(4 * 1024 * MiB)  # 4 GiB, sparse: costs no disk
    done, _, rss = _run_which({"SSL_CERT_FILE": str(big)})
    _assert_clean_failure(done, "larger than the 256 MiB")
    assert rss < 200 * 1024, f"peak RSS {rss} KiB"


def test_file_just_over_the_bound_is_refused_by_content_too(tmp_path: Path) -> None:
    facts = linux_facts({})
    located = facts.fs.locate(str(tmp_path))
    assert located.is_dir
    big = tmp_path / "grown.pem"
    big.write_bytes(b"x" * 64)
    located = facts.fs.locate(str(big))
    # The file grows between stat and read: the read itself stops at the bound.
    big.write_bytes(b"x" * (2 * MiB))
    result = facts.fs.read_bounded(located, limit=MiB)
    assert result.data is None and "larger than" in (result.problem or "")


def test_symlink_loop_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(NoTrustStoreError) as info:
        probe_all(linux_facts({"SSL_CERT_FILE": str(tmp_path / "a")}))
    assert "symlink loop" in str(info.value)


def test_directory_where_a_file_is_expected(tmp_path: Path) -> None:
    with pytest.raises(NoTrustStoreError) as info:
        probe_all(linux_facts({"SSL_CERT_FILE": str(tmp_path)}))
    assert "is a directory, not a bundle file" in str(info.value)
    assert "SSL_CERT_FILE" in str(info.value)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX users")
def test_unreadable_file_as_a_non_root_user(tmp_path: Path) -> None:
    ca = trustme.CA()
    if os.getuid() != 0:
        bundle = tmp_path / "private.pem"
        bundle.write_bytes(_pem(ca))
        bundle.chmod(0o000)
        done, _, _ = _run_which({"SSL_CERT_FILE": str(bundle)})
    else:
        # Root reads everything: import as root (the interpreter lives in root's home), then
        # drop to an unprivileged user before probing, as the issue asks. The child works from
        # its own world-readable temporary directory holding a copy of the package, so the
        # test does not depend on where the clone lives (a 0700 parent, a home directory).
        import pwd
        import shutil
        import tempfile

        nobody = pwd.getpwnam("nobody")
        # A directory others may traverse, so the refusal is about the file itself.
        workdir = Path(tempfile.mkdtemp(prefix="trustresolve-unreadable-", dir="/tmp"))
        try:
            workdir.chmod(0o755)
            package = workdir / "site"
            shutil.copytree(
                REPO / "src" / "trustresolve",
                package / "trustresolve",
                ignore=shutil.ignore_patterns("__pycache__"),
            )
            for path in (package, *package.rglob("*")):
                path.chmod(0o755 if path.is_dir() else 0o644)
            bundle = workdir / "private.pem"
            bundle.write_bytes(_pem(ca))
            bundle.chmod(0o000)
            code = (
                "import os, sys, runpy, json, configparser, platformdirs, certifi\n"
                # The stdlib lives in root's home: import what argparse loads lazily, too.
                "import argparse, gettext, locale\n"
                "import trustresolve._backends.order, trustresolve._cli.main\n"
                "import trustresolve._machine.model, trustresolve._store.memo\n"
                # Each backend's module is imported on its turn (architecture §9.2).
                "[row.backend() for row in trustresolve._backends.order.BACKENDS]\n"
                "assert trustresolve.__file__.startswith(sys.argv[1]), trustresolve.__file__\n"
                f"os.setgid({nobody.pw_gid}); os.setuid({nobody.pw_uid})\n"
                "sys.argv = ['trustresolve', '--which']\n"
                "runpy.run_module('trustresolve', run_name='__main__')\n"
            )
            env = {"SSL_CERT_FILE": str(bundle), "PYTHONPATH": str(package)}
            done = subprocess.run(
                [sys.executable, "-c", code, str(package)],
                env=env,
                cwd=workdir,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        finally:
            shutil.rmtree(workdir)
        assert "cannot be opened: Permission denied" in done.stdout
    _assert_clean_failure(done, "Permission denied", "SSL_CERT_FILE")
    assert "unreadable" in done.stdout


def test_garbage_blocks_are_skipped_and_recorded(tmp_path: Path) -> None:
    one, two = trustme.CA(), trustme.CA()
    garbage = b"-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n"
    junk_der = base64.encodebytes(b"\x30\x03\x02\x01\x00")
    half = b"-----BEGIN CERTIFICATE-----\n" + junk_der + b"-----END CERTIFICATE-----\n"
    bundle = tmp_path / "mixed.pem"
    bundle.write_bytes(_pem(one) + garbage + half + b"random words\n" + _pem(two))
    resolution = probe_all(linux_facts({"SSL_CERT_FILE": str(bundle)}))
    assert resolution.source is not None
    assert resolution.source.cert_count == 2
    assert "2 CERTIFICATE block(s) did not parse" in resolution.attempts[-1 - 9].detail
    # OpenSSL refuses a whole file for one bad block: the clean set is what gets loaded.
    assert resolution.source.kind == "data"
    clean = Path(where(resolution)).read_bytes()
    assert clean.count(b"BEGIN CERTIFICATE") == 2
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=where(resolution))
    assert context.cert_store_stats()["x509_ca"] == 2


def test_trusted_certificate_blocks_are_never_counted_as_roots(tmp_path: Path) -> None:
    """OpenSSL's trust format can carry distrust bits; dropping them would trust a bad root."""
    distrusted, good = trustme.CA(), trustme.CA()
    openssl = "openssl"
    src = tmp_path / "distrusted.pem"
    src.write_bytes(_pem(distrusted))
    done = subprocess.run(
        [openssl, "x509", "-in", str(src), "-addreject", "serverAuth", "-trustout"],
        capture_output=True,
        check=True,
    )
    assert b"BEGIN TRUSTED CERTIFICATE" in done.stdout
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(done.stdout + _pem(good))
    resolution = probe_all(linux_facts({"SSL_CERT_FILE": str(bundle)}))
    assert resolution.source is not None
    assert resolution.source.cert_count == 1
    assert distrusted.cert_pem.bytes() not in Path(where(resolution)).read_bytes()
    detail = next(a.detail for a in resolution.attempts if a.outcome == "used")
    assert "TRUSTED CERTIFICATE" in detail


def test_bundle_of_only_trusted_certificate_blocks_gives_its_server_auth_roots(
    tmp_path: Path,
) -> None:
    ca = trustme.CA()
    src = tmp_path / "ca.pem"
    src.write_bytes(_pem(ca))
    trusted = subprocess.run(
        ["openssl", "x509", "-in", str(src), "-addtrust", "serverAuth", "-trustout"],
        capture_output=True,
        check=True,
    ).stdout
    bundle = tmp_path / "trust.crt"
    bundle.write_bytes(trusted)
    resolution = probe_all(linux_facts({"SSL_CERT_FILE": str(bundle)}))
    assert resolution.source is not None
    assert resolution.source.kind == "data"
    assert resolution.source.cert_count == 1
    assert Path(where(resolution)).read_bytes() == _pem(ca)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX byte paths")
def test_non_utf8_path(tmp_path: Path) -> None:
    ca = trustme.CA()
    raw = os.fsencode(str(tmp_path)) + b"/ca-\xff\xfe.pem"
    with open(raw, "wb") as handle:
        handle.write(_pem(ca))
    name = os.fsdecode(raw)
    resolution = probe_all(linux_facts({"SSL_CERT_FILE": name}))
    assert resolution.source is not None and resolution.source.cert_count == 1
    env = {"SSL_CERT_FILE": name}
    done, _, _ = _run_which(env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "\\udcff" in done.stdout or "\\xff" in done.stdout
    missing = os.fsdecode(os.fsencode(str(tmp_path)) + b"/\xff-missing.pem")
    done, _, _ = _run_which({"SSL_CERT_FILE": missing})
    _assert_clean_failure(done, "does not exist")


def test_world_writable_store_is_flagged(tmp_path: Path) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(_pem(ca))
    bundle.chmod(0o666)
    resolution = probe_all(linux_facts({"SSL_CERT_FILE": str(bundle)}))
    assert resolution.source is not None
    assert any("writable by every user" in w for w in resolution.source.warnings)
    assert "chmod o-w" in resolution.explain()


def test_every_hostile_case_finishes_quickly(tmp_path: Path) -> None:
    """One process probing all of them in a row: a hang anywhere would time the test out."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sparse = tmp_path / "sparse"
    with open(sparse, "wb") as handle:
        handle.truncate(8 * 1024 * MiB)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    cases = [
        str(fifo),
        str(sparse),
        str(tmp_path / "loop"),
        str(tmp_path),
        "/dev/zero",
        "/dev/null",
    ]
    start = time.monotonic()
    for case in cases:
        with pytest.raises(NoTrustStoreError):
            probe_all(linux_facts({"SSL_CERT_FILE": case}))
    assert time.monotonic() - start < 30  # a hang guard, not a speed claim


def test_hash_names_openssl_never_opens_do_not_make_a_ca_directory(tmp_path: Path) -> None:
    """by_dir opens ``%08lx.%d``: upper-case hex or a zero-padded number is never looked up."""
    ca = trustme.CA()
    for name in ("ABCDEF01.0", "abcdef01.00", "abcdef1.0", "abcdef01.r0"):
        (tmp_path / name).write_bytes(_pem(ca))
    with pytest.raises(NoTrustStoreError) as info:
        probe_all(linux_facts({"SSL_CERT_DIR": str(tmp_path)}))
    assert "no hashed HHHHHHHH.N names" in str(info.value)
    (tmp_path / "abcdef01.0").write_bytes(_pem(ca))
    resolution = probe_all(linux_facts({"SSL_CERT_DIR": str(tmp_path)}))
    assert resolution.source is not None and resolution.source.cert_count == 1
