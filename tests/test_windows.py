"""The ``windows`` and ``wincertstore`` backends on the Windows fixture trees."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

from support.cli import run_cli
from support.trees import facts_for, tree
from trustresolve._backends.wincertstore import WincertstoreBackend
from trustresolve._backends.windows import SNAPSHOT_NOTE, WindowsBackend
from trustresolve._machine.facts import PlatformFacts
from trustresolve._store.resolve import probe_all

if TYPE_CHECKING:
    from trustresolve._machine.facts import WindowsStoreEntry


def stores_of(name: str, key: str = "windows_stores") -> dict[str, list[Any]]:
    with open(os.path.join(tree(name), "platform.json"), encoding="utf-8") as handle:
        document: dict[str, dict[str, list[Any]]] = json.load(handle)
    return document[key]


def der(row: Sequence[Any]) -> bytes:
    return base64.b64decode(row[0])


def attempts_of(facts: PlatformFacts, backend: str) -> list[Any]:
    return [a for a in probe_all(facts).attempts if a.backend == backend]


@pytest.mark.parametrize(
    ("name", "backend", "kind", "count"),
    [
        ("windows-mixed-trust", "windows", "data", 3),
        ("windows-truststore-native-off", "windows", "data", 3),
        ("pypy-windows-wincertstore", "wincertstore", "data", 3),
    ],
)
def test_tree_resolves_to_the_store(name: str, backend: str, kind: str, count: int) -> None:
    source = probe_all(facts_for(name)).source
    assert source is not None
    assert (source.backend, source.kind, source.cert_count) == (backend, kind, count)
    assert len(source.certificates) == count
    assert source.cadata is not None
    assert source.cadata.count("-----BEGIN CERTIFICATE-----") == count


@pytest.mark.parametrize("name", ["windows-mixed-trust", "pypy-windows-wincertstore"])
def test_kept_certificates_follow_cpythons_rule(name: str) -> None:
    key = "wincertstore_stores" if name.startswith("pypy") else "windows_stores"
    stores = stores_of(name, key)
    source = probe_all(facts_for(name)).source
    assert source is not None
    kept = set(source.certificates)
    root_a, root_b, email, broken = (der(row) for row in stores["ROOT"])
    issuing, root_b_again, pkcs7, code_signing, no_purpose = (der(row) for row in stores["CA"])
    assert root_b == root_b_again
    assert kept == {root_a, root_b, issuing}
    for dropped in (email, broken, pkcs7, code_signing, no_purpose):
        assert dropped not in kept


def test_mixed_trust_attempts_record_every_skipped_entry() -> None:
    root, ca, summary = attempts_of(facts_for("windows-mixed-trust"), "windows")
    assert (root.location, root.outcome) == ('ssl.enum_certificates("ROOT")', "used")
    assert "4 entries, 2 kept" in root.detail
    assert "Fixture Win Email-only Root" in root.detail
    assert "emailProtection" in root.detail
    assert "1 malformed" in root.detail
    assert len(root.warnings) == 1
    assert "entry 4" in root.warnings[0]
    assert "not a valid certificate" in root.warnings[0]
    assert (ca.location, ca.outcome) == ('ssl.enum_certificates("CA")', "used")
    assert "5 entries, 2 kept" in ca.detail
    assert "pkcs_7_asn" in ca.detail
    assert "PKCS#7" in ca.detail
    assert "codeSigning" in ca.detail
    assert "no purpose" in ca.detail
    assert summary.outcome == "used"
    assert summary.location == "ROOT + CA"
    assert "3 certificates" in summary.detail
    assert "counted once" in summary.detail
    assert SNAPSHOT_NOTE in summary.detail
    for words in ("snapshot", "on demand", "until Windows has used it once", "native"):
        assert words in summary.detail


def test_malformed_entry_becomes_a_source_warning() -> None:
    source = probe_all(facts_for("windows-mixed-trust")).source
    assert source is not None
    assert len(source.warnings) == 1
    assert "certmgr.msc" in source.warnings[0]


def _windows_facts(stores: dict[str, Any]) -> PlatformFacts:
    def enumerate_store(store: str) -> Sequence[WindowsStoreEntry]:
        value = stores[store]
        if isinstance(value, Exception):
            raise value
        rows: list[WindowsStoreEntry] = value
        return rows

    return PlatformFacts(
        platform="win32", python_version="3.12.1", enum_certificates=enumerate_store
    )


def test_unreadable_store_is_recorded_and_the_other_is_used() -> None:
    rows = stores_of("windows-mixed-trust")["ROOT"]
    stores = {
        "ROOT": [(der(rows[0]), "x509_asn", True)],
        "CA": PermissionError(5, "Access is denied"),
    }
    probe = WindowsBackend().probe(_windows_facts(stores))
    root, ca, summary = probe.attempts
    assert root.outcome == "used"
    assert ca.outcome == "unreadable"
    assert "Access is denied" in ca.detail
    assert summary.outcome == "used"
    assert probe.source is not None
    assert probe.source.cert_count == 1


def test_stores_with_nothing_for_server_auth_give_no_source() -> None:
    rows = stores_of("windows-mixed-trust")["ROOT"]
    email = (der(rows[2]), "x509_asn", frozenset({"1.3.6.1.5.5.7.3.4"}))
    probe = WindowsBackend().probe(_windows_facts({"ROOT": [email], "CA": []}))
    root, ca, summary = probe.attempts
    assert root.outcome == "skipped"
    assert "1 entry, 0 kept" in root.detail
    assert ca.outcome == "empty"
    assert summary.outcome == "empty"
    assert probe.source is None


def test_windows_backends_do_not_apply_elsewhere() -> None:
    facts = PlatformFacts(platform="linux")
    for backend in (WindowsBackend(), WincertstoreBackend()):
        (attempt,) = backend.probe(facts).attempts
        assert attempt.outcome == "skipped"
        assert attempt.detail == "does not apply: not Windows"


def test_pypy_without_enum_certificates_says_how_to_get_a_store() -> None:
    facts = facts_for("pypy-windows-no-enum")
    resolution = probe_all(facts)
    (windows,) = [a for a in resolution.attempts if a.backend == "windows"]
    assert windows.outcome == "skipped"
    assert "no ssl.enum_certificates" in windows.detail
    (wincertstore,) = [a for a in resolution.attempts if a.backend == "wincertstore"]
    assert wincertstore.outcome == "missing"
    for words in ("wincertstore package is not installed", "pip install", "SSL_CERT_FILE"):
        assert words in wincertstore.detail
    assert resolution.source is not None
    assert resolution.source.backend == "certifi"


def test_wincertstore_is_not_needed_when_enum_certificates_exists() -> None:
    facts = dataclasses.replace(_windows_facts({"ROOT": [], "CA": []}), wincertstore=True)
    (attempt,) = WincertstoreBackend().probe(facts).attempts
    assert attempt.outcome == "skipped"
    assert "not needed" in attempt.detail


def test_wincertstore_tree_without_recorded_rows(tmp_path: Any) -> None:
    copy = tmp_path / "tree"
    shutil.copytree(tree("pypy-windows-wincertstore"), copy)
    document = json.loads((copy / "platform.json").read_text())
    del document["wincertstore_stores"]
    (copy / "platform.json").write_text(json.dumps(document))
    (attempt,) = WincertstoreBackend().probe(PlatformFacts.from_root(str(copy))).attempts
    assert attempt.outcome == "skipped"
    assert "wincertstore_stores" in attempt.detail


def test_wincertstore_that_cannot_be_imported_fails_with_the_reason() -> None:
    # The running machine (no tree): the backend imports the package, which is Windows-only.
    if sys.platform == "win32":
        pytest.skip("on Windows the package may import")
    facts = PlatformFacts(platform="win32", python_version="3.9.18", wincertstore=True)
    (attempt,) = WincertstoreBackend().probe(facts).attempts
    assert attempt.outcome == "failed"
    assert "cannot be imported" in attempt.detail


def test_wincertstore_attempts_name_the_package_call() -> None:
    attempts = attempts_of(facts_for("pypy-windows-wincertstore"), "wincertstore")
    assert [a.location for a in attempts] == [
        'wincertstore.CertSystemStore("ROOT")',
        'wincertstore.CertSystemStore("CA")',
        "ROOT + CA",
    ]
    assert "snapshot" in attempts[-1].detail


def test_cli_which_text() -> None:
    done = run_cli("--which", "--root", tree("windows-mixed-trust"))
    assert done.returncode == 0, done.stderr
    assert "Trust store: windows (data), 3 certificates" in done.stdout
    assert "Platform: win32" in done.stdout
    assert "until Windows has used it once" in done.stdout


@pytest.mark.parametrize(
    ("name", "backend", "count"),
    [("windows-mixed-trust", "windows", 3), ("pypy-windows-wincertstore", "wincertstore", 3)],
)
def test_cli_which_json(name: str, backend: str, count: int) -> None:
    done = run_cli("--which", "--json", "--root", tree(name))
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["source"]["backend"] == backend
    assert document["source"]["kind"] == "data"
    assert document["source"]["cert_count"] == count
    assert document["platform"]["platform"] == "win32"
    mine = [a for a in document["attempts"] if a["backend"] == backend]
    assert [a["outcome"] for a in mine] == ["used", "used", "used"]
    later = [a for a in document["attempts"] if a["backend"] == "certifi"]
    assert later[0]["outcome"] == "skipped"
