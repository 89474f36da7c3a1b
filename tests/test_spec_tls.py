"""The MongoDB specifications' own TLS test files, every case.

``tls-options.json`` (uri-options) and ``valid-options.json`` (connection-string) live in
``../shared/spec`` from the repository root. The spec README says to run them with that folder
as the working directory: some URIs name ``ca.pem``/``cert.pem`` that must exist there.
A missing folder fails the run; it is never skipped.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from trustresolve._errors import ConfigurationError
from trustresolve._tls.options import OPTION_NAMES, TLSOptions

SPEC_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "spec"
SPEC_FILES = ("tls-options.json", "valid-options.json")
_TLS_NAMES = {name.lower() for name in OPTION_NAMES}


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
    # 68 uri-options TLS cases + 3 connection-string cases at the copied revision.
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
