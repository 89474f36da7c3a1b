"""macOS trust settings: which keychain certificates are TLS anchors.

A keychain holds certificates; whether one is trusted is decided by *trust settings*, kept per
domain (user, admin, system) and exported by ``security trust-settings-export [-d]`` as a plist::

    {"trustVersion": 1,
     "trustList": {"<SHA-1 of the DER, upper-case hex>": {
         "issuerName": <data>, "serialNumber": <data>, "modDate": <date>,
         "trustSettings": [{"kSecTrustSettingsPolicy": <data: policy OID>,
                            "kSecTrustSettingsPolicyName": "sslServer",
                            "kSecTrustSettingsResult": 1}, ...]}}}

The rules follow Go's ``root_darwin.go`` (1.12-1.17) and rustls-native-certs' ``macos.rs``
(architecture §7):

- domains are consulted User, then Admin; the first domain whose settings decide (TrustRoot,
  TrustAsRoot or Deny) wins, so the user overrides the admin, who overrides the system;
- only settings for the SSL policy (OID 1.2.840.113635.100.1.3) or for no policy count; one
  restricted to a host name (``kSecTrustSettingsPolicyString``) or to one application
  (``kSecTrustSettingsApplication``) does not make a general anchor;
- an empty settings array means "trusted as a root"; a missing result means TrustRoot;
  TrustRoot is only valid on a self-signed certificate (Apple: "the usage constraints
  dictionary is invalid" otherwise);
- Deny removes the certificate, even an Apple root;
- without a deciding setting, a certificate in the system roots keychain is trusted (the System
  domain) and any other keychain certificate is **not** an anchor (an intermediate, or a root
  imported without "Always Trust").

Reads are cached per process and per ``security`` runner: on managed Macs one trust-settings
read can take seconds (claude-code #53660). :func:`clear_cache` forgets them.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from .._machine.facts import SecurityCommandError
from .._x509.der import Certificate
from .snapshot import certificate_label, sha1_hex

if TYPE_CHECKING:
    import subprocess

    from .._machine.facts import SecurityRunner

__all__ = [
    "ADMIN_KEYCHAIN",
    "DENY",
    "SSL_POLICY_OID",
    "SYSTEM_ROOTS_KEYCHAIN",
    "TRUST_AS_ROOT",
    "TRUST_ROOT",
    "UNSPECIFIED",
    "Evaluation",
    "SecurityRead",
    "clear_cache",
    "evaluate",
    "parse_trust_settings",
    "read_keychain",
    "read_trust_settings",
    "ssl_decision",
    "user_keychain",
]

SYSTEM_ROOTS_KEYCHAIN = "/System/Library/Keychains/SystemRootCertificates.keychain"
ADMIN_KEYCHAIN = "/Library/Keychains/System.keychain"
#: kSecPolicyAppleSSL, 1.2.840.113635.100.1.3, as the plist stores it (DER contents of the OID).
SSL_POLICY_OID = bytes.fromhex("2a864886f763640103")
_SSL_POLICY_NAMES = ("sslServer",)

TRUST_ROOT = 1  # kSecTrustSettingsResultTrustRoot
TRUST_AS_ROOT = 2  # kSecTrustSettingsResultTrustAsRoot
DENY = 3  # kSecTrustSettingsResultDeny
UNSPECIFIED = 4  # kSecTrustSettingsResultUnspecified
_DECISIVE = (TRUST_ROOT, TRUST_AS_ROOT, DENY)
#: errSecNoTrustSettings; ``security`` prints its (localized) message and this code's text.
_NO_SETTINGS = ("No Trust Settings", "-25263", "errSecNoTrustSettings")

DOMAINS = ("user", "admin")
_EXPORT_FLAGS: Mapping[str, tuple[str, ...]] = {"user": (), "admin": ("-d",)}

TrustSettings = dict[str, list[Any]]  # SHA-1 (upper hex) -> trustSettings array


class TrustSettingsError(ValueError):
    """An exported trust-settings plist does not have the structure ``security`` writes."""


def user_keychain(home: str | None) -> str | None:
    return f"{home.rstrip('/')}/Library/Keychains/login.keychain-db" if home else None


# --- reading, cached per runner ------------------------------------------------------------


@dataclass(frozen=True)
class SecurityRead:
    """One ``security`` answer: its output, or why there is none."""

    data: bytes | None
    error: str | None = None
    #: The command said "nothing here" (no certificate in a keychain, no trust settings).
    nothing: bool = False


_Key = tuple[str, ...]
_cache: weakref.WeakKeyDictionary[Any, dict[_Key, SecurityRead]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()
# subprocess, tempfile and plistlib load only when a Mac is actually read (resolve() on Linux
# must not pay for them: architecture §6).
_SecurityFailure = Union[SecurityCommandError, OSError, "subprocess.SubprocessError"]


def clear_cache() -> None:
    """Forget every cached keychain and trust-settings read (``resolve(refresh=True)``)."""
    with _cache_lock:
        _cache.clear()


def _cached(runner: SecurityRunner, key: _Key, read: Any) -> SecurityRead:
    with _cache_lock:
        try:
            per_runner = _cache.setdefault(runner, {})
        except TypeError:  # a runner that cannot be weakly referenced: no caching
            per_runner = {}
        hit = per_runner.get(key)
        if hit is not None:
            return hit
    # Run outside the lock: a slow trust-settings read must not block other keys. Two threads
    # may both run it once; the answers are the same.
    result: SecurityRead = read()
    with _cache_lock:
        per_runner.setdefault(key, result)
    return result


def _failure(exc: _SecurityFailure) -> str:
    import subprocess

    if isinstance(exc, subprocess.TimeoutExpired):
        return f"`security` did not answer within {exc.timeout:.0f} s"
    return str(exc)


def read_keychain(runner: SecurityRunner, keychain: str) -> SecurityRead:
    """``security find-certificate -a -p KEYCHAIN``: the keychain's certificates as PEM."""

    def read() -> SecurityRead:
        import subprocess

        try:
            return SecurityRead(runner(["find-certificate", "-a", "-p", keychain]))
        except SecurityCommandError as exc:
            # errSecItemNotFound: the keychain holds no certificate (or does not exist).
            nothing = "could not be found" in exc.stderr or "-25300" in exc.stderr
            return SecurityRead(None, _failure(exc), nothing)
        except (OSError, subprocess.SubprocessError) as exc:
            return SecurityRead(None, _failure(exc))

    return _cached(runner, ("find-certificate", keychain), read)


def read_trust_settings(runner: SecurityRunner, domain: str) -> SecurityRead:
    """``security trust-settings-export [-d] FILE``; "no trust settings" is not an error."""

    def read() -> SecurityRead:
        import subprocess
        import tempfile

        with tempfile.TemporaryDirectory(prefix="trustresolve-") as scratch:
            out = os.path.join(scratch, f"{domain}.plist")
            try:
                runner(["trust-settings-export", *_EXPORT_FLAGS[domain], out])
                with open(out, "rb") as handle:
                    return SecurityRead(handle.read())
            except SecurityCommandError as exc:
                nothing = any(marker in exc.stderr for marker in _NO_SETTINGS)
                return SecurityRead(None, _failure(exc), nothing)
            except (OSError, subprocess.SubprocessError) as exc:
                return SecurityRead(None, _failure(exc))

    return _cached(runner, ("trust-settings-export", domain), read)


# --- the plist and the decision rules ------------------------------------------------------


def parse_trust_settings(data: bytes) -> TrustSettings:
    """The ``trustList`` of an exported plist (XML or binary), keyed by upper-case SHA-1."""
    import plistlib

    try:
        document = plistlib.loads(data)
    except (plistlib.InvalidFileException, ValueError, TypeError, KeyError) as exc:
        raise TrustSettingsError(f"not a property list ({exc})") from exc
    if not isinstance(document, dict):
        raise TrustSettingsError("the property list is not a dictionary")
    trust_list = document.get("trustList", {})
    if not isinstance(trust_list, dict):
        raise TrustSettingsError("trustList is not a dictionary")
    settings: TrustSettings = {}
    for key, entry in trust_list.items():
        if not isinstance(entry, dict):
            raise TrustSettingsError(f"trustList entry {key} is not a dictionary")
        array = entry.get("trustSettings", [])
        if not isinstance(array, list):
            raise TrustSettingsError(f"trustList entry {key}: trustSettings is not an array")
        settings[str(key).upper()] = array
    return settings


def _is_ssl_policy(setting: Mapping[str, Any]) -> bool:
    policy = setting.get("kSecTrustSettingsPolicy")
    if policy is not None:
        return bytes(policy) == SSL_POLICY_OID if isinstance(policy, bytes) else False
    name = setting.get("kSecTrustSettingsPolicyName")
    return name is None or name in _SSL_POLICY_NAMES


def ssl_decision(settings: Sequence[Any], *, self_signed: bool) -> int | None:
    """TrustRoot, TrustAsRoot or Deny for TLS from one domain's settings; ``None``: undecided."""
    if not settings:
        return TRUST_ROOT  # "an empty Trust Settings array means always trust this certificate"
    for setting in settings:
        if not isinstance(setting, dict) or not _is_ssl_policy(setting):
            continue
        if "kSecTrustSettingsPolicyString" in setting:
            continue  # restricted to one host name: not an anchor for every server
        if "kSecTrustSettingsApplication" in setting:
            continue  # restricted to one application, which is not this Python
        result = setting.get("kSecTrustSettingsResult", TRUST_ROOT)
        if result == TRUST_ROOT and not self_signed:
            continue  # Apple: TrustRoot on a non-root makes the dictionary invalid
        if result in _DECISIVE:
            return int(result)
    return None


@dataclass
class Evaluation:
    """Every keychain certificate sorted: anchors, and the others with why."""

    anchors: list[bytes] = field(default_factory=list)
    from_system: int = 0
    from_domain: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DOMAINS, 0))
    denied: list[str] = field(default_factory=list)
    without_settings: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    #: Trust-settings entries for certificates in no keychain read (nothing to add or remove).
    unmatched: int = 0


def evaluate(
    certificates: Sequence[Certificate],
    system_roots: frozenset[bytes],
    settings: Mapping[str, TrustSettings],
) -> Evaluation:
    """Apply trust settings to ``certificates`` (unique, in keychain order).

    ``system_roots`` holds the DER of the system roots keychain; ``settings`` maps ``"user"``
    and ``"admin"`` to their trust lists (a domain without settings maps to ``{}``).
    """
    result = Evaluation()
    seen: set[str] = set()
    for cert in certificates:
        sha1 = sha1_hex(cert.der)
        seen.add(sha1)
        label = certificate_label(cert.der, cert.subject)
        decision: int | None = None
        decided_by = "system"
        had_settings = False
        for domain in DOMAINS:
            array = settings.get(domain, {}).get(sha1)
            if array is None:
                continue
            had_settings = True
            decision = ssl_decision(array, self_signed=cert.self_issued)
            if decision is not None:
                decided_by = domain
                break
        if decision is None and cert.der in system_roots:
            decision = TRUST_ROOT
        if decision == DENY:
            result.denied.append(f"{label} by {decided_by} trust settings")
        elif decision is not None:
            result.anchors.append(cert.der)
            if decided_by == "system":
                result.from_system += 1
            else:
                result.from_domain[decided_by] += 1
        elif had_settings:
            result.undecided.append(label)
        else:
            result.without_settings.append(label)
    result.unmatched = sum(
        1 for domain in DOMAINS for key in settings.get(domain, {}) if key not in seen
    )
    return result
