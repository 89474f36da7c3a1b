"""The ``native`` backend: truststore on macOS and Windows, its snapshot, turning it off."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

import pytest

from support.cli import run_cli
from support.trees import facts_for, tree
from trustresolve._backends.macos_trust import clear_cache
from trustresolve._backends.native import native_disabled
from trustresolve._backends.order import NATIVE
from trustresolve._machine.facts import PlatformFacts, _importable
from trustresolve._machine.model import TrustSource
from trustresolve._store.resolve import probe_all, where
from trustresolve._x509.pem import scan_pem


def native_attempt(facts: PlatformFacts) -> Any:
    return NATIVE.probe(facts).attempts[0]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_cache()


@pytest.mark.parametrize(
    ("name", "snapshot", "count"),
    [("windows-truststore", "windows", 3), ("macos-truststore", "macos-keychain", 7)],
)
def test_native_source_carries_the_snapshot(name: str, snapshot: str, count: int) -> None:
    resolution = probe_all(facts_for(name))
    source = resolution.source
    assert source is not None
    assert (source.backend, source.kind, source.cert_count) == ("native", "native", count)
    assert source.cafile is None
    assert source.fallback is not None
    assert (source.fallback.backend, source.fallback.kind) == (snapshot, "data")
    assert source.fallback.cert_count == count
    assert len(source.fallback.certificates) == count
    # The snapshot backend itself is not tried again: native decided.
    later = [a for a in resolution.attempts if a.backend == snapshot]
    assert [a.outcome for a in later] == ["skipped"]
    assert "native decided" in later[0].detail


def test_windows_native_attempt_says_there_is_no_snapshot_gap() -> None:
    attempts = [a for a in probe_all(facts_for("windows-truststore")).attempts]
    native = [a for a in attempts if a.backend == "native"]
    assert native[0].outcome == "used"
    for words in ("verification by Windows", "on demand", "where()/contents()", "windows (3"):
        assert words in native[0].detail
    for words in ("TRUSTRESOLVE_NATIVE=0", "native = false", "native=False"):
        assert words in native[0].detail
    snapshot = native[1:]
    assert [a.location for a in snapshot] == [
        'ssl.enum_certificates("ROOT")',
        'ssl.enum_certificates("CA")',
        "ROOT + CA",
    ]
    assert all(a.detail.startswith("snapshot via windows: ") for a in snapshot)
    assert "until Windows has used it once" in snapshot[-1].detail


def test_macos_native_attempt() -> None:
    attempt = native_attempt(facts_for("macos-truststore"))
    assert attempt.outcome == "used"
    assert "verification by macOS" in attempt.detail
    assert "snapshot from macos-keychain (7 certificates)" in attempt.detail


def test_native_does_not_apply_on_linux() -> None:
    facts = PlatformFacts(platform="linux", python_version="3.12.1", truststore=True)
    probe = NATIVE.probe(facts)
    assert probe.source is None
    (attempt,) = probe.attempts
    assert attempt.outcome == "skipped"
    assert attempt.detail.startswith("does not apply")
    assert "macOS and Windows" in attempt.detail
    assert "every handshake" in attempt.detail


def test_native_needs_python_310() -> None:
    attempt = native_attempt(facts_for("windows-truststore", python_version="3.9.13"))
    assert attempt.outcome == "skipped"
    assert "does not apply" in attempt.detail
    assert "3.10" in attempt.detail


def test_native_needs_truststore() -> None:
    resolution = probe_all(facts_for("windows-mixed-trust"))
    (attempt,) = [a for a in resolution.attempts if a.backend == "native"]
    assert attempt.outcome == "skipped"
    assert "truststore is not installed" in attempt.detail
    assert resolution.source is not None
    assert resolution.source.backend == "windows"


@pytest.mark.parametrize("value", ["0", "false", "off", "no", " 0 "])
def test_environment_turns_native_off(value: str) -> None:
    facts = facts_for("windows-truststore", environ={"TRUSTRESOLVE_NATIVE": value})
    resolution = probe_all(facts)
    (attempt,) = [a for a in resolution.attempts if a.backend == "native"]
    assert attempt.outcome == "skipped"
    assert "turned off by TRUSTRESOLVE_NATIVE=" in attempt.detail
    assert resolution.source is not None
    assert (resolution.source.backend, resolution.source.cert_count) == ("windows", 3)


def test_native_off_tree_from_the_environment() -> None:
    facts = facts_for("windows-truststore-native-off")
    assert native_disabled(facts) == "turned off by TRUSTRESOLVE_NATIVE=0"


def test_config_file_turns_native_off() -> None:
    facts = facts_for("macos-native-off-config")
    reason = native_disabled(facts)
    assert reason == "turned off by native = false in /config/trustresolve.ini"
    resolution = probe_all(facts)
    (attempt,) = [a for a in resolution.attempts if a.backend == "native"]
    assert attempt.outcome == "skipped"
    assert "native = false" in attempt.detail
    assert resolution.source is not None
    assert resolution.source.backend == "macos-keychain"


def test_environment_wins_over_the_config_file() -> None:
    facts = facts_for("macos-native-off-config", environ={"TRUSTRESOLVE_NATIVE": "1"})
    assert native_disabled(facts) is None
    source = probe_all(facts).source
    assert source is not None
    assert source.kind == "native"


def test_a_value_that_is_not_a_boolean_is_ignored_with_a_warning() -> None:
    facts = facts_for("windows-truststore", environ={"TRUSTRESOLVE_NATIVE": "maybe"})
    attempt = native_attempt(facts)
    assert attempt.outcome == "used"
    assert "'maybe' is neither 0 nor 1" in attempt.warnings[0]


def test_snapshot_source_is_what_resolution_gives_without_native() -> None:
    facts = facts_for("windows-truststore")
    snapshot = NATIVE.snapshot_source(facts)
    off = probe_all(dataclasses.replace(facts, environ={"TRUSTRESOLVE_NATIVE": "0"})).source
    assert snapshot is not None
    assert off is not None
    assert snapshot == off
    assert snapshot.certificates == off.certificates
    native = probe_all(facts).source
    assert native is not None
    assert native.without_native() == snapshot
    assert snapshot.without_native() is snapshot


def test_native_on_pypy_without_enum_certificates_falls_back_to_certifi() -> None:
    facts = facts_for("pypy-windows-no-enum", python_version="3.10.14", truststore=True)
    source = probe_all(facts).source
    assert source is not None
    assert source.kind == "native"
    assert source.fallback is not None
    assert source.fallback.backend == "certifi"


@pytest.mark.parametrize(("name", "count"), [("windows-truststore", 3), ("macos-truststore", 7)])
def test_where_gives_a_pem_bundle_of_the_snapshot(
    name: str, count: int, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Needs trustresolve._store.cache (materialize_bundle).
    monkeypatch.setenv("TRUSTRESOLVE_CACHE_DIR", str(tmp_path / "cache"))
    resolution = probe_all(facts_for(name))
    source = resolution.source
    assert isinstance(source, TrustSource)
    assert source.fallback is not None
    path = where(resolution)
    assert path.startswith(str(tmp_path / "cache"))
    with open(path, "rb") as handle:
        scan = scan_pem(handle.read())
    assert len(scan.certificates) == count
    assert {cert.der for cert in scan.certificates} == set(source.fallback.certificates)


@pytest.mark.parametrize(
    ("name", "header", "snapshot"),
    [
        ("windows-truststore", "Trust store: native (native), 3 certificates", "windows, 3"),
        ("macos-truststore", "Trust store: native (native), 7 certificates", "macos-keychain, 7"),
    ],
)
def test_cli_which_text(name: str, header: str, snapshot: str) -> None:
    done = run_cli("--which", "--root", tree(name))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == header
    assert f"snapshot from {snapshot} certificates" in done.stdout


@pytest.mark.parametrize(
    ("name", "backend", "kind"),
    [
        ("windows-truststore", "native", "native"),
        ("windows-truststore-native-off", "windows", "data"),
        ("macos-native-off-config", "macos-keychain", "data"),
    ],
)
def test_cli_which_json(name: str, backend: str, kind: str) -> None:
    done = run_cli("--which", "--json", "--root", tree(name))
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["source"]["backend"], document["source"]["kind"]) == (backend, kind)
    (native,) = [a for a in document["attempts"] if a["backend"] == "native"][:1]
    assert native["outcome"] == ("used" if backend == "native" else "skipped")


class _OneModuleFinder:
    """A meta-path finder that knows one made-up module, as an import hook would."""

    def find_spec(self, name: str, path: object, target: object = None) -> object:
        if name != "trustresolve_test_hooked_module":
            return None
        import importlib.machinery

        return importlib.machinery.ModuleSpec(name, None)


@pytest.mark.parametrize(
    "name",
    [
        "truststore",
        "wincertstore",
        "ssl",
        "_ssl",
        "sys",
        "no_such_module_here",
        "certifi",
        "trustresolve_test_hooked_module",
    ],
)
def test_importable_answers_as_find_spec(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether truststore can be imported is asked of ``sys.meta_path`` directly (no
    ``importlib.util`` on a first run); the answer is ``find_spec``'s, import hooks included."""
    import importlib.util

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, _OneModuleFinder()])
    assert _importable(name) is (importlib.util.find_spec(name) is not None)
