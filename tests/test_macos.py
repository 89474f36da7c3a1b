"""The ``macos-keychain`` and ``macos-python-org`` backends on the macOS fixture trees."""

from __future__ import annotations

import dataclasses
import json
import os
import plistlib
from collections.abc import Sequence
from typing import Any

import pytest

from support.cli import run_cli
from support.trees import FIXTURES, facts_for, tree
from trustresolve._backends.macos_keychain import SNAPSHOT_NOTE, MacOSKeychainBackend
from trustresolve._backends.macos_python_org import MacOSPythonOrgBackend
from trustresolve._backends.macos_trust import (
    DENY,
    SSL_POLICY_OID,
    TRUST_AS_ROOT,
    TRUST_ROOT,
    clear_cache,
    evaluate,
    ssl_decision,
)
from trustresolve._backends.snapshot import common_name, sha1_hex
from trustresolve._machine.facts import PlatformFacts, SecurityCommandError
from trustresolve._store.resolve import probe_all
from trustresolve._x509.der import Certificate, parse_certificate
from trustresolve._x509.pem import scan_pem

SMIME_POLICY = bytes.fromhex("2a864886f763640108")
SYSTEM_ROOTS = "/System/Library/Keychains/SystemRootCertificates.keychain"
ADMIN = "/Library/Keychains/System.keychain"
LOGIN = "/Users/alice/Library/Keychains/login.keychain-db"

ANCHORS = {
    "Fixture Apple-style Root 1",
    "Fixture Apple-style Root 2",
    "Fixture System Root Denied by Admin, Trusted by User",
    "Fixture Corp Root (admin, SSL policy)",
    "Fixture Corp Root (admin, empty settings)",
    "Fixture Dev Root (user)",
    "Fixture Proxy CA (user, TrustAsRoot)",
}


def names(certificates: Sequence[bytes]) -> set[str | None]:
    return {common_name(parse_certificate(der).subject) for der in certificates}


def recorded(name: str, path: str) -> bytes:
    with open(os.path.join(tree(name), path), "rb") as handle:
        return handle.read()


def certs(name: str, path: str) -> tuple[Certificate, ...]:
    return scan_pem(recorded(name, path)).certificates


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_cache()


@pytest.mark.parametrize(
    ("name", "backend", "kind", "count"),
    [
        ("macos-trust-settings", "macos-keychain", "data", 7),
        ("macos-native-off-config", "macos-keychain", "data", 7),
        ("macos-python-org-keychain", "macos-keychain", "data", 2),
        ("macos-python-org-installed", "macos-python-org", "file", 4),
        ("macos-homebrew", "openssl-default", "file", 3),
    ],
)
def test_tree_resolves_to_the_store(name: str, backend: str, kind: str, count: int) -> None:
    source = probe_all(facts_for(name)).source
    assert source is not None
    assert (source.backend, source.kind, source.cert_count) == (backend, kind, count)


@pytest.mark.parametrize(
    "name", ["macos-python-org-missing", "macos-python-org-dangling", "macos-apple-python"]
)
def test_trees_without_a_machine_store_end_at_certifi(name: str) -> None:
    resolution = probe_all(facts_for(name))
    assert resolution.source is not None
    assert resolution.source.backend == "certifi"


@pytest.mark.parametrize(
    "name",
    [n for n in sorted(os.listdir(FIXTURES)) if n.startswith("macos-")],
)
def test_apple_static_bundle_is_never_the_system_store(name: str) -> None:
    resolution = probe_all(facts_for(name))
    assert resolution.source is not None
    assert resolution.source.display_cafile not in (
        "/etc/ssl/cert.pem",
        "/private/etc/ssl/cert.pem",
    )
    for attempt in resolution.attempts:
        if attempt.location == "/etc/ssl/cert.pem":
            assert attempt.outcome == "skipped"


def test_apple_python_skips_the_static_bundle_with_the_reason() -> None:
    resolution = probe_all(facts_for("macos-apple-python"))
    (bundle,) = [a for a in resolution.attempts if a.location == "/etc/ssl/cert.pem"]
    assert bundle.backend == "openssl-default"
    assert "Apple's static bundle" in bundle.detail


def test_trust_settings_choose_exactly_the_anchors() -> None:
    source = probe_all(facts_for("macos-trust-settings")).source
    assert source is not None
    assert names(source.certificates) == ANCHORS


def test_trust_settings_attempts() -> None:
    attempts = [
        a
        for a in probe_all(facts_for("macos-trust-settings")).attempts
        if a.backend == "macos-keychain"
    ]
    assert [(a.location, a.outcome) for a in attempts] == [
        (SYSTEM_ROOTS, "used"),
        (ADMIN, "used"),
        (LOGIN, "used"),
        ("trust settings (user)", "used"),
        ("trust settings (admin)", "used"),
        ("keychains with trust settings", "used"),
    ]
    assert attempts[0].detail.startswith("5 certificates")
    assert attempts[1].detail.startswith("6 certificates")
    assert attempts[2].detail.startswith("2 certificates")
    assert attempts[3].detail.startswith("4 certificates with user trust settings")
    assert attempts[4].detail.startswith("8 certificates with admin trust settings")
    summary = attempts[-1].detail
    assert summary.startswith(
        "7 anchors for TLS (2 Apple roots, 2 trusted by admin trust settings, "
        "3 by user trust settings)"
    )
    wanted = (
        "removed 2 denied",
        'Fixture System Root Denied by Admin" ',
        "by admin trust settings",
        "Fixture System Root Trusted by Admin, Denied by User",
        "by user trust settings",
        "2 without trust settings outside the system roots keychain",
        "Fixture Corp Issuing CA (no settings)",
        "Fixture Imported Root (no settings)",
        "2 whose trust settings do not trust them for SSL",
        "Fixture Corp S/MIME Root",
        "Fixture Corp Host Root",
        "1 trust-settings entry names a certificate in no keychain",
        SNAPSHOT_NOTE,
    )
    assert [fragment for fragment in wanted if fragment not in summary] == [], summary


def test_no_trust_settings_is_not_an_error() -> None:
    resolution = probe_all(facts_for("macos-python-org-keychain"))
    attempts = {a.location: a for a in resolution.attempts if a.backend == "macos-keychain"}
    for domain in ("user", "admin"):
        attempt = attempts[f"trust settings ({domain})"]
        assert attempt.outcome == "empty"
        assert "not an error" in attempt.detail
    assert attempts[ADMIN].outcome == "empty"
    assert attempts[LOGIN].outcome == "empty"
    assert resolution.source is not None
    assert resolution.source.warnings == ()


# --- the decision rules, one by one ---------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "self_signed", "expected"),
    [
        ([], True, TRUST_ROOT),  # empty array: trusted as a root
        ([], False, TRUST_ROOT),
        ([{}], True, TRUST_ROOT),  # no policy, no result: TrustRoot for everything
        ([{"kSecTrustSettingsResult": DENY}], True, DENY),
        ([{"kSecTrustSettingsPolicy": SSL_POLICY_OID, "kSecTrustSettingsResult": 1}], True, 1),
        ([{"kSecTrustSettingsPolicyName": "sslServer", "kSecTrustSettingsResult": 3}], True, 3),
        ([{"kSecTrustSettingsPolicy": SMIME_POLICY, "kSecTrustSettingsResult": 1}], True, None),
        ([{"kSecTrustSettingsPolicyName": "SMIME", "kSecTrustSettingsResult": 1}], True, None),
        ([{"kSecTrustSettingsResult": 4}], True, None),  # Unspecified decides nothing
        ([{"kSecTrustSettingsResult": 0}], True, None),  # Invalid
        (
            [
                {
                    "kSecTrustSettingsPolicy": SSL_POLICY_OID,
                    "kSecTrustSettingsPolicyString": "intranet.example",
                    "kSecTrustSettingsResult": 1,
                }
            ],
            True,
            None,
        ),
        ([{"kSecTrustSettingsApplication": b"app", "kSecTrustSettingsResult": 1}], True, None),
        ([{"kSecTrustSettingsResult": TRUST_ROOT}], False, None),  # TrustRoot on a non-root
        ([{"kSecTrustSettingsResult": TRUST_AS_ROOT}], False, TRUST_AS_ROOT),
        (
            [
                {"kSecTrustSettingsPolicy": SMIME_POLICY, "kSecTrustSettingsResult": DENY},
                {"kSecTrustSettingsPolicy": SSL_POLICY_OID, "kSecTrustSettingsResult": 1},
            ],
            True,
            TRUST_ROOT,
        ),
    ],
)
def test_ssl_decision(settings: list[Any], self_signed: bool, expected: int | None) -> None:
    assert ssl_decision(settings, self_signed=self_signed) == expected


def _tree_certs() -> dict[str, Certificate]:
    found = {}
    for path in ("recorded/system-roots.pem", "recorded/system.pem", "recorded/login.pem"):
        for cert in certs("macos-trust-settings", path):
            found[str(common_name(cert.subject))] = cert
    return found


def test_undecided_user_settings_fall_through_to_admin_and_system() -> None:
    by_name = _tree_certs()
    system_root = by_name["Fixture Apple-style Root 1"]
    corp = by_name["Fixture Corp Root (admin, SSL policy)"]
    smime_only = [{"kSecTrustSettingsPolicy": SMIME_POLICY, "kSecTrustSettingsResult": DENY}]
    settings: dict[str, dict[str, list[Any]]] = {
        "user": {sha1_hex(system_root.der): smime_only, sha1_hex(corp.der): smime_only},
        "admin": {sha1_hex(corp.der): []},
    }
    result = evaluate([system_root, corp], frozenset({system_root.der}), settings)
    assert result.anchors == [system_root.der, corp.der]
    assert result.from_system == 1
    assert result.from_domain == {"user": 0, "admin": 1}


def test_deny_removes_a_system_root_and_user_wins_over_admin() -> None:
    by_name = _tree_certs()
    root = by_name["Fixture Apple-style Root 2"]
    sha1 = sha1_hex(root.der)
    deny = [{"kSecTrustSettingsResult": DENY}]
    trust = [{"kSecTrustSettingsPolicy": SSL_POLICY_OID, "kSecTrustSettingsResult": 1}]
    system = frozenset({root.der})
    assert evaluate([root], system, {"admin": {sha1: deny}}).anchors == []
    assert evaluate([root], system, {"user": {sha1: trust}, "admin": {sha1: deny}}).anchors == [
        root.der
    ]
    assert evaluate([root], system, {"user": {sha1: deny}, "admin": {sha1: trust}}).anchors == []


# --- runners built in the tests: failures, binary plists, caching ----------------------------


class Recorded:
    """A ``security`` runner answering from the macos-trust-settings recordings."""

    def __init__(self, *, trust_error: str | None = None, binary: bool = False) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.trust_error = trust_error
        self.binary = binary
        self.keychains = {
            SYSTEM_ROOTS: "recorded/system-roots.pem",
            ADMIN: "recorded/system.pem",
            LOGIN: "recorded/login.pem",
        }

    def __call__(self, args: Sequence[str]) -> bytes:
        self.calls.append(tuple(args))
        if args[0] == "find-certificate":
            if args[-1] not in self.keychains:
                raise SecurityCommandError(args, 50, "The specified item could not be found.")
            return recorded("macos-trust-settings", self.keychains[args[-1]])
        if self.trust_error is not None:
            raise SecurityCommandError(args, 1, self.trust_error)
        domain = "admin" if "-d" in args else "user"
        data = recorded("macos-trust-settings", f"recorded/{domain}-trust.plist")
        if self.binary:
            data = plistlib.dumps(plistlib.loads(data), fmt=plistlib.FMT_BINARY)
        with open(args[-1], "wb") as out:
            out.write(data)
        return b""


def _with_runner(runner: Recorded) -> PlatformFacts:
    return dataclasses.replace(facts_for("macos-trust-settings"), security=runner)


def test_binary_plists_give_the_same_anchors() -> None:
    source = MacOSKeychainBackend().probe(_with_runner(Recorded(binary=True))).source
    assert source is not None
    assert names(source.certificates) == ANCHORS


def test_unreadable_trust_settings_are_a_failed_attempt_and_a_warning() -> None:
    runner = Recorded(trust_error="SecTrustSettingsCreateExternalRepresentation: Internal error")
    probe = MacOSKeychainBackend().probe(_with_runner(runner))
    attempts = {a.location: a for a in probe.attempts}
    for domain in ("user", "admin"):
        attempt = attempts[f"trust settings ({domain})"]
        assert attempt.outcome == "failed"
        assert "Internal error" in attempt.detail
        assert "Never Trust" in attempt.warnings[0]
    assert probe.source is not None
    # Without trust settings, only the system roots keychain gives anchors (all five).
    assert probe.source.cert_count == 5
    assert len(probe.source.warnings) == 2


def test_unusable_plist_is_a_failed_attempt() -> None:
    def runner(args: Sequence[str]) -> bytes:
        if args[0] == "find-certificate":
            return recorded("macos-trust-settings", "recorded/system-roots.pem")
        with open(args[-1], "wb") as out:
            out.write(b"not a plist")
        return b""

    facts = dataclasses.replace(facts_for("macos-trust-settings"), security=runner)
    attempts = {a.location: a for a in MacOSKeychainBackend().probe(facts).attempts}
    assert attempts["trust settings (admin)"].outcome == "failed"
    assert "unusable plist" in attempts["trust settings (admin)"].detail


def test_missing_system_roots_keychain_fails_without_a_source() -> None:
    runner = Recorded()
    del runner.keychains[SYSTEM_ROOTS]
    probe = MacOSKeychainBackend().probe(_with_runner(runner))
    assert probe.source is None
    assert [a.outcome for a in probe.attempts] == ["empty", "failed"]
    assert "Apple's roots" in probe.attempts[-1].detail


def test_reads_are_cached_per_process() -> None:
    runner = Recorded()
    facts = _with_runner(runner)
    first = MacOSKeychainBackend().probe(facts)
    calls = len(runner.calls)
    assert calls == 5  # three keychains, two trust-settings domains
    second = MacOSKeychainBackend().probe(facts)
    assert len(runner.calls) == calls
    assert first.source is not None
    assert second.source is not None
    assert first.source.certificates == second.source.certificates
    clear_cache()
    MacOSKeychainBackend().probe(facts)
    assert len(runner.calls) == 2 * calls


def test_a_tree_without_recorded_keychains_is_skipped_with_the_reason() -> None:
    (attempt,) = MacOSKeychainBackend().probe(facts_for("macos-homebrew")).attempts
    assert attempt.outcome == "skipped"
    assert "platform.json" in attempt.detail


def test_macos_backends_do_not_apply_elsewhere() -> None:
    facts = PlatformFacts(platform="win32")
    for backend in (MacOSKeychainBackend(), MacOSPythonOrgBackend()):
        (attempt,) = backend.probe(facts).attempts
        assert attempt.detail == "does not apply: not macOS"


# --- python.org builds -----------------------------------------------------------------------


def _python_org_attempt(name: str) -> Any:
    (attempt,) = [a for a in probe_all(facts_for(name)).attempts if a.backend == "macos-python-org"]
    return attempt


def test_python_org_installed_cafile_is_the_source() -> None:
    attempt = _python_org_attempt("macos-python-org-installed")
    assert attempt.outcome == "used"
    assert "Install Certificates.command" in attempt.detail
    assert "certifi/cacert.pem" in attempt.detail  # the link the script made
    source = probe_all(facts_for("macos-python-org-installed")).source
    assert source is not None
    assert source.display_cafile == (
        "/Library/Frameworks/Python.framework/Versions/3.12/etc/openssl/cert.pem"
    )


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("macos-python-org-missing", ("does not exist", "has not been run")),
        ("macos-python-org-dangling", ("dangling link", "is gone")),
    ],
)
def test_python_org_without_cafile_explains_the_failure_and_the_fix(
    name: str, words: tuple[str, ...]
) -> None:
    attempt = _python_org_attempt(name)
    assert attempt.outcome == "missing"
    assert attempt.location.endswith("/Versions/3.12/etc/openssl/cert.pem")
    for word in (
        *words,
        "CERTIFICATE_VERIFY_FAILED",
        "ignores the macOS keychain",
        '"/Applications/Python 3.12/Install Certificates.command"',
        "trustresolve.create_default_context()",
    ):
        assert word in attempt.detail


def test_homebrew_is_not_a_python_org_build() -> None:
    attempt = _python_org_attempt("macos-homebrew")
    assert attempt.outcome == "skipped"
    assert "not a python.org framework build" in attempt.detail
    assert "/opt/homebrew/" in attempt.detail


def test_python_org_detected_by_cafile_alone() -> None:
    facts = dataclasses.replace(
        facts_for("macos-python-org-installed"), executable="/usr/local/bin/python3"
    )
    probe = MacOSPythonOrgBackend().probe(facts)
    assert probe.source is not None
    assert probe.source.cert_count == 4


# --- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("macos-trust-settings", "Trust store: macos-keychain (data), 7 certificates"),
        ("macos-python-org-installed", "Trust store: macos-python-org (file), 4 certificates"),
        ("macos-homebrew", "Trust store: openssl-default (file), 3 certificates"),
    ],
)
def test_cli_which_text(name: str, header: str) -> None:
    done = run_cli("--which", "--root", tree(name))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == header
    assert "Platform: darwin" in done.stdout


def test_cli_which_json_for_a_missing_python_org_cafile() -> None:
    done = run_cli("--which", "--json", "--root", tree("macos-python-org-missing"))
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["source"]["backend"] == "certifi"
    (attempt,) = [a for a in document["attempts"] if a["backend"] == "macos-python-org"]
    assert attempt["outcome"] == "missing"
    assert "CERTIFICATE_VERIFY_FAILED" in attempt["detail"]


def test_cli_which_json_for_trust_settings() -> None:
    done = run_cli("--which", "--json", "--root", tree("macos-trust-settings"))
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["source"] == {
        "backend": "macos-keychain",
        "kind": "data",
        "cafile": None,
        "capath": None,
        "cert_count": 7,
        "warnings": [],
        "snapshot": None,
    }
    outcomes = [a["outcome"] for a in document["attempts"] if a["backend"] == "macos-keychain"]
    assert outcomes == ["used"] * 6
