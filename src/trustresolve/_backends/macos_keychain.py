"""Backend ``macos-keychain``: keychain certificates with trust settings applied.

Never a blind keychain dump: ``security find-certificate -a -p`` also lists roots the user or
admin marked "Never Trust", intermediates and items imported without trust (rancher-desktop
#1295). The certificates of the system roots, admin (``/Library/Keychains/System.keychain``)
and user login keychains are filtered by the user and admin trust settings
(:mod:`trustresolve._backends.macos_trust`). On a real Mac this runs ``/usr/bin/security``; in a
``--root`` tree it reads the recorded outputs named in ``platform.json`` (architecture §5).

The result is a snapshot for OpenSSL: Apple's policy constraints on its own roots (partial
distrust, validity limits) and configuration profiles that act only inside trustd are not in
it. The ``native`` backend asks macOS itself.
"""

from __future__ import annotations

from .._machine.facts import PlatformFacts
from .._machine.model import Attempt
from .._machine.words import counted
from .._x509.der import Certificate
from .._x509.pem import scan_pem
from .base import Probe, wrong_os
from .snapshot import first_few, in_memory_source

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from .._machine.facts import SecurityRunner
    from .._machine.model import Outcome
    from .macos_trust import Evaluation, TrustSettings

# macos_trust (its dataclasses, plist and keychain readers) is imported by the methods that run
# on macOS only: every other platform's first run would pay for it (python -X importtime).

__all__ = ["SNAPSHOT_NOTE", "MacOSKeychainBackend"]

SNAPSHOT_NOTE = (
    "a snapshot for OpenSSL: Apple's own constraints on its roots (partial distrust, validity "
    "limits) are not applied; the native backend (truststore, Python >= 3.10) verifies through "
    "macOS and applies them"
)
_LOCATION = "keychains with trust settings"


class MacOSKeychainBackend:
    name = "macos-keychain"

    def probe(self, facts: PlatformFacts) -> Probe:
        elsewhere = wrong_os(self.name, facts)
        if elsewhere is not None:
            return elsewhere
        if facts.security is None:
            detail = (
                "cannot run `security` here: a --root tree must record the keychains and trust "
                "settings in platform.json under 'macos' (architecture §5), and this one does not"
            )
            return Probe((Attempt(self.name, None, "skipped", detail),))
        return self._probe(facts, facts.security)

    def _probe(self, facts: PlatformFacts, runner: SecurityRunner) -> Probe:
        from .macos_trust import (
            ADMIN_KEYCHAIN,
            DOMAINS,
            SYSTEM_ROOTS_KEYCHAIN,
            evaluate,
            user_keychain,
        )

        attempts: list[Attempt] = []
        certificates: list[Certificate] = []
        system_roots: frozenset[bytes] = frozenset()
        user = user_keychain(facts.getenv("HOME"))
        for keychain in (SYSTEM_ROOTS_KEYCHAIN, ADMIN_KEYCHAIN, *([user] if user else [])):
            found, attempt = self._keychain(runner, keychain)
            attempts.append(attempt)
            if keychain == SYSTEM_ROOTS_KEYCHAIN:
                if not found:
                    attempts.append(
                        Attempt(
                            self.name,
                            _LOCATION,
                            "failed",
                            "the system roots keychain gave no certificate; a store without "
                            "Apple's roots would fail most connections, so none is built",
                        )
                    )
                    return Probe(tuple(attempts))
                system_roots = frozenset(cert.der for cert in found)
            known = {cert.der for cert in certificates}
            certificates.extend(cert for cert in found if cert.der not in known)
        settings: dict[str, TrustSettings] = {}
        warnings: list[str] = []
        for domain in DOMAINS:
            settings[domain], attempt = self._settings(runner, domain)
            attempts.append(attempt)
            warnings.extend(attempt.warnings)
        result = evaluate(certificates, system_roots, settings)
        attempts.append(self._summary(result))
        if not result.anchors:
            return Probe(tuple(attempts))
        return Probe(
            tuple(attempts), in_memory_source(self.name, result.anchors, warnings=tuple(warnings))
        )

    def _keychain(
        self, runner: SecurityRunner, keychain: str
    ) -> tuple[tuple[Certificate, ...], Attempt]:
        from .macos_trust import ADMIN_KEYCHAIN, SYSTEM_ROOTS_KEYCHAIN, read_keychain

        read = read_keychain(runner, keychain)
        role = {
            SYSTEM_ROOTS_KEYCHAIN: "Apple's roots: trusted unless trust settings deny them",
            ADMIN_KEYCHAIN: "admin keychain: anchors only where trust settings say so",
        }.get(keychain, "user login keychain: anchors only where trust settings say so")
        if read.data is None:
            if read.nothing:
                return (), Attempt(self.name, keychain, "empty", f"holds no certificate ({role})")
            detail = f"`security find-certificate` failed: {read.error}"
            return (), Attempt(self.name, keychain, "failed", detail)
        scan = scan_pem(read.data)
        detail = f"{counted(len(scan.certificates), 'certificate')} ({role})"
        if scan.problems:
            detail += "; " + "; ".join(scan.problems)
        outcome: Outcome = "used" if scan.certificates else "empty"
        return scan.certificates, Attempt(self.name, keychain, outcome, detail)

    def _settings(self, runner: SecurityRunner, domain: str) -> tuple[TrustSettings, Attempt]:
        from .macos_trust import TrustSettingsError, parse_trust_settings, read_trust_settings

        location = f"trust settings ({domain})"
        command = "security trust-settings-export" + (" -d" if domain == "admin" else "")
        read = read_trust_settings(runner, domain)
        if read.data is None:
            if read.nothing:
                detail = f"no {domain} trust settings (not an error: nothing is added or denied)"
                return {}, Attempt(self.name, location, "empty", detail)
            problem = f"`{command}` failed: {read.error}"
        else:
            try:
                parsed = parse_trust_settings(read.data)
            except TrustSettingsError as exc:
                problem = f"`{command}` gave an unusable plist: {exc}"
            else:
                detail = f"{counted(len(parsed), 'certificate')} with {domain} trust settings"
                return parsed, Attempt(self.name, location, "used", detail)
        warning = (
            f"the {domain} trust settings could not be read ({problem}): certificates marked "
            f"'Never Trust' there are not removed and roots trusted there are missing; the "
            "native backend asks macOS itself"
        )
        return {}, Attempt(self.name, location, "failed", problem, (warning,))

    def _summary(self, result: Evaluation) -> Attempt:
        parts = [
            f"{result.from_system} Apple roots",
            f"{result.from_domain['admin']} trusted by admin trust settings",
            f"{result.from_domain['user']} by user trust settings",
        ]
        detail = f"{len(result.anchors)} anchors for TLS ({', '.join(parts)})"
        if result.denied:
            detail += f"; removed {len(result.denied)} denied: {first_few(result.denied)}"
        if result.without_settings:
            detail += (
                f"; not anchors: {len(result.without_settings)} without trust settings outside "
                f"the system roots keychain: {first_few(result.without_settings)}"
            )
        if result.undecided:
            detail += (
                f"; not anchors: {len(result.undecided)} whose trust settings do not trust them "
                f"for SSL: {first_few(result.undecided)}"
            )
        if result.unmatched:
            detail += (
                f"; {counted(result.unmatched, 'trust-settings entry')} "
                f"{'names a certificate' if result.unmatched == 1 else 'name certificates'} "
                "in no keychain read (ignored)"
            )
        if not result.anchors:
            return Attempt(self.name, _LOCATION, "empty", detail + "; nothing to use")
        return Attempt(self.name, _LOCATION, "used", f"{detail}; {SNAPSHOT_NOTE}")
