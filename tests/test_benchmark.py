"""The benchmark script runs (tiny rounds) and writes nothing into the checkout.

No timing is asserted here: the numbers are the benchmark's to print, never a test's to check.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _status() -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--ignored", "--", "benchmarks", "docs"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_a_tiny_run_reports_every_section_and_touches_nothing(tmp_path: Path) -> None:
    before = _status()
    report = tmp_path / "out.json"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench.py"),
            "--rounds",
            "1",
            "--inprocess",
            "1",
            "--sizes",
            "5",
            "--no-hook",
            "--no-prime",
            "--json",
            str(report),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: a target missed, which a test ignores
    assert "Targets" in done.stdout
    document = json.loads(report.read_text(encoding="utf-8"))
    sections = {case["section"] for case in document["cases"]}
    assert {"process-system", "process-bundle", "process-machine", "where"} <= sections
    assert {"process-clients", "inprocess-bundle", "scale-5", "disk"} <= sections
    assert all(case["seconds"] for case in document["cases"])
    assert {target["label"] for target in document["targets"]} >= {"where() / certifi.where()"}
    assert _status() == before  # no results, plots or byte code left in the checkout


def test_the_disk_control_writes_one_file_per_root_under_a_new_home(tmp_path: Path) -> None:
    """The control a cold bundle-only case is read against writes what a cold cache writes."""
    code = subprocess.run(
        [
            sys.executable,
            "-B",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import bench; "
            "print(bench.DISK_CONTROL.format(count=3, size=10))",
            str(REPO / "benchmarks"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    home = tmp_path / "home"
    home.mkdir()
    subprocess.run([sys.executable, "-c", code], env={"HOME": str(home)}, check=True)
    entry = home / ".cache" / "disk-control" / "entry"
    files = sorted(entry.iterdir())
    assert [f.name for f in files] == ["00000000.0", "00000001.0", "00000002.0"]
    assert all(f.read_bytes() == b"x" * 10 for f in files)
