"""``import trustresolve`` does no I/O and imports neither certifi, platformdirs nor truststore.

architecture §6: drivers import us at start-up, so the import must cost nothing beyond our own
modules. Checked in a fresh interpreter, with an audit hook installed before the import that
records every ``open`` (and directory listing) that is not the import system reading a module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from support.cli import clean_env
from support.trees import SRC

_PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
events = []
def hook(event, args):
    if event in ("open", "os.listdir", "os.scandir"):
        path = args[0] if args else None
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        events.append([event, path if isinstance(path, (str, type(None))) else repr(path)])
sys.addaudithook(hook)
before = set(sys.modules)
import trustresolve
after = set(sys.modules)
# Attribute access that stays lazy must not do I/O either.
trustresolve.__version__
trustresolve.NoTrustStoreError
print(json.dumps({"events": events, "new": sorted(after - before)}))
"""

HEAVY = ("certifi", "platformdirs", "truststore", "cryptography", "wincertstore")


def run_probe() -> dict[str, object]:
    env = clean_env(PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, SRC],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def is_module_read(event: str, path: str | None) -> bool:
    """The import system itself: module sources, byte code, extension modules, package dirs."""
    if path is None:
        return False
    if event in ("os.listdir", "os.scandir"):
        return (
            os.path.isdir(path)
            and any(os.path.realpath(path).startswith(os.path.realpath(p)) for p in sys.path if p)
        ) or os.path.realpath(path).startswith(os.path.realpath(SRC))
    return path.endswith((".py", ".pyc", ".so", ".pyd")) or "__pycache__" in path


def test_import_loads_no_heavy_dependency() -> None:
    result = run_probe()
    new = result["new"]
    assert isinstance(new, list)
    for name in HEAVY:
        assert not [m for m in new if m == name or m.startswith(name + ".")], (
            f"import trustresolve imported {name}"
        )
    assert "trustresolve" in new


def test_import_does_no_file_io() -> None:
    result = run_probe()
    events = result["events"]
    assert isinstance(events, list)
    assert any(
        path and path.endswith(os.path.join("trustresolve", "__init__.py")) for _, path in events
    ) or any(path and "trustresolve" in path for _, path in events), (
        "the audit hook saw nothing: it is not working on this interpreter"
    )
    stray = [(event, path) for event, path in events if not is_module_read(event, path)]
    assert not stray, f"import trustresolve did I/O: {stray}"


def test_import_does_not_touch_ssl_stores() -> None:
    result = run_probe()
    events = result["events"]
    assert isinstance(events, list)
    for _, path in events:
        if path:
            assert not path.startswith(("/etc/ssl", "/etc/pki", "/usr/lib/ssl")), path
