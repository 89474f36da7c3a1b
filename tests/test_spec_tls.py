"""The MongoDB specifications' own TLS test files, every case.

``tls-options.json`` (uri-options) and ``valid-options.json`` (connection-string) come from
PyMongo's source distribution, the way every other test dependency comes from PyPI: a pinned
sdist (``PYMONGO_SDIST``, checked against ``PYMONGO_SHA256``) is fetched once with
``pip download`` into a cache directory, and the spec files (plus PyMongo's ``LICENSE``,
Apache-2.0, which covers them) are taken out of it. The files are PyMongo's copies of the public
MongoDB specifications (``source/uri-options/tests/tls-options.json``,
``source/connection-string/tests/valid-options.json``), unchanged.

The spec says to run them with their folder as the working directory: some URIs name
``ca.pem``/``cert.pem``/``client.pem``, which must exist there (PyMongo ships them beside
``tls-options.json``: one-line placeholders, not certificates). A fetch that fails is a
collection error naming the cause and the fix; it is never skipped.

Cache: ``$TRUSTRESOLVE_TEST_DATA`` if set, else ``$XDG_CACHE_HOME/trustresolve-tests``
(``~/.cache/trustresolve-tests``). An offline machine can put the sdist there by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest

from trustresolve._errors import ConfigurationError
from trustresolve._tls.options import OPTION_NAMES, TLSOptions

PYMONGO_VERSION = "4.20.1"
PYMONGO_SDIST = f"pymongo-{PYMONGO_VERSION}.tar.gz"
PYMONGO_SHA256 = "1ac112b3ffa3d010cfc2fc54e3ae677a12c63d18c6115db4451df64f1a1175eb"
# sdist member -> file name in the spec folder.
_MEMBERS = {
    "test/uri_options/tls-options.json": "tls-options.json",
    "test/connection_string/test/valid-options.json": "valid-options.json",
    "test/uri_options/ca.pem": "ca.pem",
    "test/uri_options/cert.pem": "cert.pem",
    "test/uri_options/client.pem": "client.pem",
    "LICENSE": "LICENSE",
}
SPEC_FILES = ("tls-options.json", "valid-options.json")
_TLS_NAMES = {name.lower() for name in OPTION_NAMES}


def _cache_root() -> Path:
    pinned = os.environ.get("TRUSTRESOLVE_TEST_DATA")
    if pinned:
        return Path(pinned)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "trustresolve-tests"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _download_sdist(root: Path) -> Path:
    """The pinned sdist in ``root``: fetched with pip unless a good copy is already there."""
    sdist = root / PYMONGO_SDIST
    if sdist.is_file() and _sha256(sdist) == PYMONGO_SHA256:
        return sdist
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as scratch:
        requirement = Path(scratch) / "requirement.txt"
        # A hash in the requirement makes pip itself refuse any other file. The sdist is data
        # here, never installed: its Requires-Python (>=3.11 since 4.19) must not stop the
        # 3.9 and 3.10 sessions from fetching it on a machine whose cache is empty.
        requirement.write_text(f"pymongo=={PYMONGO_VERSION} --hash=sha256:{PYMONGO_SHA256}\n")
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary", ":all:", "--ignore-requires-python", "--dest", scratch,
            "-r", str(requirement),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        fetched = Path(scratch) / PYMONGO_SDIST
        if done.returncode != 0 or not fetched.is_file():
            msg = (
                f"could not fetch the MongoDB spec test files: `{' '.join(command)}` failed "
                f"(exit {done.returncode}): {done.stderr.strip()[-2000:]}\n"
                f"Fix: give this machine access to PyPI, or put {PYMONGO_SDIST} "
                f"(sha256 {PYMONGO_SHA256}) into {root} (or set TRUSTRESOLVE_TEST_DATA)."
            )
            raise RuntimeError(msg)
        if _sha256(fetched) != PYMONGO_SHA256:
            raise RuntimeError(f"{fetched}: sha256 is not the pinned {PYMONGO_SHA256}")
        os.replace(fetched, sdist)
    return sdist


def _extract(sdist: Path, target: Path) -> None:
    """Copy the spec members out of the sdist by name (no extractall: only these files)."""
    prefix = f"pymongo-{PYMONGO_VERSION}/"
    partial = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    partial.chmod(0o755)  # mkdtemp makes it 0700; the files are public
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            for member, name in _MEMBERS.items():
                handle = archive.extractfile(prefix + member)
                if handle is None:
                    raise RuntimeError(f"{sdist} has no regular file {prefix + member}")
                (partial / name).write_bytes(handle.read())
        os.replace(partial, target)  # another run may have won the race: its copy is the same
    except OSError:
        if not (target / "LICENSE").is_file():
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def spec_dir() -> Path:
    """The folder holding the spec files and their placeholders, fetched on first use."""
    root = _cache_root()
    target = root / f"pymongo-{PYMONGO_VERSION}-spec"
    if all((target / name).is_file() for name in _MEMBERS.values()):
        return target
    sdist = _download_sdist(root)
    _extract(sdist, target)
    return target


SPEC_DIR = spec_dir()


def _load_cases() -> list[Any]:
    missing = [name for name in SPEC_FILES if not (SPEC_DIR / name).is_file()]
    if missing:
        # Collection error on purpose: a suite that silently ran zero spec cases proves nothing.
        msg = f"spec test files missing from {SPEC_DIR}: {', '.join(missing)}"
        raise RuntimeError(msg)
    cases = []
    for name in SPEC_FILES:
        tests = json.loads((SPEC_DIR / name).read_text(encoding="utf-8"))["tests"]
        cases += [pytest.param(test, id=f"{name}: {test['description']}") for test in tests]
    return cases


CASES = _load_cases()


def test_every_case_is_collected() -> None:
    # 68 uri-options TLS cases + 3 connection-string cases in PyMongo 4.20.1.
    assert len(CASES) == 71


@pytest.fixture(autouse=True)
def _in_spec_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SPEC_DIR)


def _tls_options(expected: dict[str, Any] | None) -> dict[str, Any]:
    """The expected options this library parses (the TLS ones), by lower-cased name."""
    return {k.lower(): v for k, v in (expected or {}).items() if k.lower() in _TLS_NAMES}


@pytest.mark.parametrize("case", CASES)
def test_spec_case(case: dict[str, Any]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if not case["valid"]:
            with pytest.raises(ConfigurationError):
                TLSOptions.from_uri(case["uri"])
            return
        options = TLSOptions.from_uri(case["uri"])
    assert bool(caught) == case["warning"], [str(w.message) for w in caught]
    expected = _tls_options(case["options"])
    parsed = {k.lower(): v for k, v in options.as_dict().items()}
    if case["options"]:
        # Exactly these TLS options, with these typed values; the spec's non-TLS options
        # (authMechanism...) are left to the driver, so none may show up here.
        assert parsed == expected


def test_spec_files_need_their_folder_as_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reason for _in_spec_dir: the same case elsewhere fails on the missing file.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match=r"ca\.pem"):
        TLSOptions.from_uri("mongodb://example.com/?tls=true&tlsCAFile=ca.pem")
