"""``--which`` says how fresh the store is: its expired certificates and its file's age."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

from support.ca import DAY, NOW, mint
from support.cli import clean_env, run_cli
from trustresolve._x509.subject_hash import subject_hash

TEN_DAYS_AGO = (NOW - 10 * DAY).replace(hour=12, minute=0, second=0, microsecond=0)


def _bundle(tmp_path: Path) -> Path:
    expired = mint("Old Root", not_before=NOW - 400 * DAY, not_after=NOW - 3 * DAY)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(mint("Root A").pem + expired.pem + mint("Root B").pem)
    stamp = TEN_DAYS_AGO.timestamp()
    os.utime(bundle, (stamp, stamp))
    return bundle


def test_which_counts_expired_certificates_and_shows_the_files_age(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    done = run_cli("--which", env=clean_env(SSL_CERT_FILE=str(bundle)))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    at = lines.index("Store freshness:")
    assert lines[at + 1] == "  expired:   1 of 3 certificates (notAfter before now)"
    days = (datetime.datetime.now(datetime.timezone.utc) - TEN_DAYS_AGO).days
    assert lines[at + 2] == f"  updated:   {days} days ago ({TEN_DAYS_AGO:%Y-%m-%d}), {bundle}"


def test_which_json_has_the_freshness_keys(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    done = run_cli("--which", "--json", env=clean_env(SSL_CERT_FILE=str(bundle)))
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["expired_count"] == 1
    assert document["store_mtime"] == f"{TEN_DAYS_AGO:%Y-%m-%dT%H:%M:%SZ}"
    assert (
        document["store_age_days"]
        == (datetime.datetime.now(datetime.timezone.utc) - TEN_DAYS_AGO).days
    )


def test_a_directory_store_shows_the_directorys_age(tmp_path: Path) -> None:
    directory = tmp_path / "certs"
    directory.mkdir()
    root = mint("Dir Root")
    (directory / f"{subject_hash(root.der)}.0").write_bytes(root.pem)
    stamp = TEN_DAYS_AGO.timestamp()
    os.utime(directory, (stamp, stamp))
    done = run_cli("--which", env=clean_env(SSL_CERT_DIR=str(directory)))
    assert done.returncode == 0, done.stderr
    assert "  expired:   0 of 1 certificate (notAfter before now)" in done.stdout
    assert f"({TEN_DAYS_AGO:%Y-%m-%d}), {directory}" in done.stdout


def test_resolving_and_building_contexts_never_load_the_freshness_code(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    code = (
        "import sys, trustresolve\n"
        "trustresolve.resolve(); trustresolve.where(); trustresolve.create_default_context()\n"
        "loaded = [m for m in ('trustresolve._store.age', 'trustresolve._cli.connect.stale',\n"
        "    'trustresolve._x509.identity', 'trustresolve._x509.signature') if m in sys.modules]\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_env(SSL_CERT_FILE=str(bundle), TRUSTRESOLVE_CACHE_DIR=str(tmp_path / "c")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
