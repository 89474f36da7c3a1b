"""Re-make the Windows, macOS and PyPy-on-Windows fixture trees.

Run from anywhere: ``python platform_fixtures/make_native_fixtures.py`` (``--out DIR`` writes
the trees elsewhere, to compare). It needs
``cryptography`` (a development dependency, never a runtime one). Every certificate is a test
CA generated here, never a copy of a real store. Each run makes new keys, so the files change,
but the structure and the counts the tests check do not. ``README-native.md`` describes the
trees; the trees themselves are checked in.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import plistlib
import shutil
import sys
from collections.abc import Sequence
from typing import Any, Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from make_fixture_ca import fixture_ca

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIXES = ("windows-", "macos-", "pypy-windows-")

SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
CODE_SIGNING = "1.3.6.1.5.5.7.3.3"
EMAIL = "1.3.6.1.5.5.7.3.4"

# Apple policy OIDs as trust-settings-export stores them (DER contents of the OID).
POLICY_SSL = bytes.fromhex("2a864886f763640103")  # sslServer, 1.2.840.113635.100.1.3
POLICY_BASIC = bytes.fromhex("2a864886f763640102")  # basicX509, 1.2.840.113635.100.1.2
POLICY_SMIME = bytes.fromhex("2a864886f763640108")  # SMIME, 1.2.840.113635.100.1.8

NOT_BEFORE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2044, 1, 1, tzinfo=datetime.timezone.utc)
MOD_DATE = datetime.datetime(2025, 6, 1, 12, 0, 0)


class CA:
    """A generated certificate and its key."""

    def __init__(self, name: str, *, issuer: CA | None = None) -> None:
        self.cert, self.key = fixture_ca(
            name,
            not_before=NOT_BEFORE,
            not_after=NOT_AFTER,
            issuer=(issuer.cert, issuer.key) if issuer else None,
        )

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(Encoding.DER)

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(Encoding.PEM).decode("ascii")

    @property
    def sha1(self) -> str:
        return self.cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - a key


class Output:
    """The folder the trees are written to (``platform_fixtures/`` unless ``--out``)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def _host(self, tree: str, path: str) -> str:
        full = os.path.join(self.root, tree, path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        return full

    def write(self, tree: str, path: str, data: str | bytes) -> None:
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(self._host(tree, path), mode) as handle:
            handle.write(data)

    def symlink(self, tree: str, path: str, target: str) -> None:
        os.symlink(target, self._host(tree, path))

    def platform_json(self, tree: str, document: dict[str, Any]) -> None:
        self.write(tree, "platform.json", json.dumps(document, indent=2) + "\n")


#: the makers, in the order main() runs them (each mints its own CAs)
MAKERS: list[Callable[[Output], None]] = []


def maker(function: Callable[[Output], None]) -> Callable[[Output], None]:
    """Register ``function(out)`` as a maker of some of the native trees."""
    MAKERS.append(function)
    return function


def bundle(cas: Sequence[CA]) -> str:
    return "".join(ca.pem for ca in cas)


# --- Windows -------------------------------------------------------------------------------


def windows_stores() -> tuple[dict[str, list[list[Any]]], int]:
    """ROOT and CA rows with mixed trust, an email-only root, a broken and a PKCS#7 entry."""
    root_a = CA("Fixture Win Root A (all purposes)")
    root_b = CA("Fixture Win Root B (serverAuth+clientAuth)")
    email = CA("Fixture Win Email-only Root")
    broken = CA("Fixture Win Broken Root")
    intermediate = CA("Fixture Win Issuing CA", issuer=root_a)
    code_signing = CA("Fixture Win Code Signing CA", issuer=root_a)
    no_purpose = CA("Fixture Win No-purpose CA", issuer=root_a)
    p7 = pkcs7.serialize_certificates([intermediate.cert, root_a.cert], Encoding.DER)

    def row(der: bytes, encoding: str, trust: bool | list[str]) -> list[Any]:
        return [base64.b64encode(der).decode("ascii"), encoding, trust]

    stores = {
        "ROOT": [
            row(root_a.der, "x509_asn", True),
            row(root_b.der, "x509_asn", [SERVER_AUTH, CLIENT_AUTH]),
            row(email.der, "x509_asn", [EMAIL]),
            row(broken.der[: len(broken.der) // 2], "x509_asn", True),  # truncated DER
        ],
        "CA": [
            row(intermediate.der, "x509_asn", True),
            row(root_b.der, "x509_asn", True),  # the same root in both stores: counted once
            row(p7, "pkcs_7_asn", True),
            row(code_signing.der, "x509_asn", [CODE_SIGNING]),
            row(no_purpose.der, "x509_asn", []),
        ],
    }
    return stores, 3  # root A, root B, the issuing CA


@maker
def make_windows(out: Output) -> None:
    stores, _ = windows_stores()
    base = {"platform": "win32", "implementation": "cpython", "python_version": "3.12.4"}
    base["executable"] = "C:\\Program Files\\Python312\\python.exe"
    out.platform_json("windows-mixed-trust", {**base, "windows_stores": stores})
    out.platform_json("windows-truststore", {**base, "truststore": True, "windows_stores": stores})
    out.platform_json(
        "windows-truststore-native-off",
        {
            **base,
            "truststore": True,
            "environ": {"TRUSTRESOLVE_NATIVE": "0"},
            "windows_stores": stores,
        },
    )
    pypy = {
        "platform": "win32",
        "implementation": "pypy",
        "python_version": "3.9.18",
        "executable": "C:\\pypy3.9-v7.3.16-win64\\pypy3.exe",
    }
    out.platform_json("pypy-windows-no-enum", {**pypy, "wincertstore": False})
    out.platform_json(
        "pypy-windows-wincertstore",
        {**pypy, "wincertstore": True, "wincertstore_stores": stores},
    )


# --- macOS ---------------------------------------------------------------------------------


def setting(
    result: int | None,
    *,
    policy: bytes | None = None,
    name: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if policy is not None:
        entry["kSecTrustSettingsPolicy"] = policy
    if name is not None:
        entry["kSecTrustSettingsPolicyName"] = name
    if result is not None:
        entry["kSecTrustSettingsResult"] = result
    entry.update(extra)
    return entry


SSL_ROOT = [
    setting(1, policy=POLICY_SSL, name="sslServer"),
    setting(1, policy=POLICY_BASIC, name="basicX509"),
]


def trust_plist(
    entries: dict[CA, list[dict[str, Any]]], *, extra: dict[str, Any] | None = None
) -> bytes:
    """A plist shaped as ``security trust-settings-export`` writes it."""
    trust_list: dict[str, Any] = {}
    for ca, settings in entries.items():
        trust_list[ca.sha1] = {
            "issuerName": ca.cert.issuer.public_bytes(),
            "modDate": MOD_DATE,
            "serialNumber": ca.cert.serial_number.to_bytes(20, "big").lstrip(b"\0"),
            "trustSettings": settings,
        }
    trust_list.update(extra or {})
    return plistlib.dumps({"trustList": trust_list, "trustVersion": 1}, fmt=plistlib.FMT_XML)


SYSTEM_ROOTS = "/System/Library/Keychains/SystemRootCertificates.keychain"
ADMIN = "/Library/Keychains/System.keychain"
HOME = "/Users/alice"
LOGIN = f"{HOME}/Library/Keychains/login.keychain-db"
RECORDED = {
    "keychains": {
        SYSTEM_ROOTS: "/recorded/system-roots.pem",
        ADMIN: "/recorded/system.pem",
        LOGIN: "/recorded/login.pem",
    },
    "trust_settings": {
        "admin": "/recorded/admin-trust.plist",
        "user": "/recorded/user-trust.plist",
    },
}


def keychain_files() -> dict[str, str | bytes]:
    """System roots, admin and login keychains with trust settings; 7 anchors (README)."""
    sys1 = CA("Fixture Apple-style Root 1")
    sys2 = CA("Fixture Apple-style Root 2")
    denied = CA("Fixture System Root Denied by Admin")
    user_rescued = CA("Fixture System Root Denied by Admin, Trusted by User")
    user_denied = CA("Fixture System Root Trusted by Admin, Denied by User")
    corp = CA("Fixture Corp Root (admin, SSL policy)")
    corp_empty = CA("Fixture Corp Root (admin, empty settings)")
    corp_issuing = CA("Fixture Corp Issuing CA (no settings)", issuer=corp)
    corp_smime = CA("Fixture Corp S/MIME Root (admin, S/MIME only)")
    corp_host = CA("Fixture Corp Host Root (admin, one host name only)")
    untrusted_import = CA("Fixture Imported Root (no settings)")
    dev = CA("Fixture Dev Root (user)")
    user_intermediate = CA("Fixture Proxy CA (user, TrustAsRoot)", issuer=corp)
    absent = CA("Fixture Root in no keychain")
    admin = trust_plist(
        {
            denied: [setting(3)],  # Deny, no policy: for everything
            user_rescued: [setting(3, policy=POLICY_SSL, name="sslServer")],
            user_denied: SSL_ROOT,
            corp: SSL_ROOT,
            corp_empty: [],
            corp_smime: [setting(1, policy=POLICY_SMIME, name="SMIME")],
            corp_host: [
                setting(
                    1,
                    policy=POLICY_SSL,
                    name="sslServer",
                    kSecTrustSettingsPolicyString="intranet.example",
                )
            ],
            absent: SSL_ROOT,
        }
    )
    user = trust_plist(
        {
            user_rescued: SSL_ROOT,
            user_denied: [setting(3, policy=POLICY_SSL, name="sslServer")],
            dev: [
                setting(
                    1,
                    policy=POLICY_SSL,
                    name="sslServer",
                    kSecTrustSettingsAllowedError=-2147409654,
                ),
                setting(1, policy=POLICY_BASIC, name="basicX509"),
            ],
            user_intermediate: [setting(2, policy=POLICY_SSL, name="sslServer")],
        }
    )
    return {
        "recorded/system-roots.pem": bundle([sys1, sys2, denied, user_rescued, user_denied]),
        "recorded/system.pem": bundle(
            [corp, corp_empty, corp_issuing, corp_smime, corp_host, untrusted_import]
        ),
        "recorded/login.pem": bundle([dev, user_intermediate]),
        "recorded/admin-trust.plist": admin,
        "recorded/user-trust.plist": user,
    }


@maker
def make_macos(out: Output) -> None:
    files = keychain_files()
    system_python = {
        "platform": "darwin",
        "python_version": "3.12.4",
        "executable": "/opt/homebrew/opt/python@3.12/bin/python3.12",
        "environ": {"HOME": HOME},
        "default_verify_paths": {
            "openssl_cafile": "/opt/homebrew/etc/openssl@3/cert.pem",
            "openssl_capath": "/opt/homebrew/etc/openssl@3/certs",
        },
    }
    for tree, extra in (
        ("macos-trust-settings", {}),
        ("macos-truststore", {"truststore": True}),
        ("macos-native-off-config", {"truststore": True, "config_dirs": ["/config"]}),
    ):
        for path, data in files.items():
            out.write(tree, path, data)
        # Apple's static bundle is present on every Mac and must never be reported as the store.
        out.write(tree, "etc/ssl/cert.pem", bundle([CA("Fixture Apple Static Bundle Root")]))
        out.platform_json(tree, {**system_python, **extra, "macos": RECORDED})
    out.write(
        "macos-native-off-config",
        "config/trustresolve.ini",
        "[trustresolve]\nnative = false\n",
    )

    # Homebrew Python in a tree without recorded keychains: its OpenSSL bundle is the store.
    brew = [CA(f"Fixture Homebrew ca-certificates Root {n}") for n in (1, 2, 3)]
    out.write("macos-homebrew", "opt/homebrew/etc/openssl@3/cert.pem", bundle(brew))
    out.write(
        "macos-homebrew", "etc/ssl/cert.pem", bundle([CA("Fixture Apple Static Bundle Root")])
    )
    out.platform_json("macos-homebrew", system_python)

    # Apple's own /usr/bin/python3 (LibreSSL, /etc/ssl/cert.pem) without recorded keychains.
    out.write("macos-apple-python", "etc/ssl/cert.pem", bundle([CA("Fixture Apple Static Root")]))
    out.platform_json(
        "macos-apple-python",
        {
            "platform": "darwin",
            "python_version": "3.9.6",
            "executable": "/usr/bin/python3",
            "environ": {"HOME": HOME},
            "default_verify_paths": {
                "openssl_cafile": "/etc/ssl/cert.pem",
                "openssl_capath": "/etc/ssl/certs",
            },
        },
    )

    # python.org framework builds.
    framework = "/Library/Frameworks/Python.framework/Versions/3.12"
    python_org = {
        "platform": "darwin",
        "python_version": "3.12.4",
        "executable": f"{framework}/bin/python3.12",
        "environ": {"HOME": HOME},
        "default_verify_paths": {
            "openssl_cafile": f"{framework}/etc/openssl/cert.pem",
            "openssl_capath": f"{framework}/etc/openssl/certs",
        },
    }
    certifi = [CA(f"Fixture certifi Root {n}") for n in (1, 2, 3, 4)]
    certifi_pem = f"{framework}/lib/python3.12/site-packages/certifi/cacert.pem"
    cnf = "# the framework's openssl.cnf (placeholder)\n"
    for tree in (
        "macos-python-org-installed",
        "macos-python-org-missing",
        "macos-python-org-dangling",
        "macos-python-org-keychain",
    ):
        out.write(tree, f"{framework}/etc/openssl/openssl.cnf", cnf)
        out.platform_json(tree, python_org)
    # What "Install Certificates.command" leaves: a relative link to certifi's bundle.
    for tree in ("macos-python-org-installed", "macos-python-org-keychain"):
        out.write(tree, certifi_pem, bundle(certifi))
        out.symlink(
            tree,
            f"{framework}/etc/openssl/cert.pem",
            "../../lib/python3.12/site-packages/certifi/cacert.pem",
        )
    # certifi uninstalled after the script ran: the link dangles.
    out.symlink(
        "macos-python-org-dangling",
        f"{framework}/etc/openssl/cert.pem",
        "../../lib/python3.12/site-packages/certifi/cacert.pem",
    )
    # A real Mac with the python.org build: keychains recorded, no trust settings at all.
    sys_only = [CA(f"Fixture Apple-style Root {n}") for n in (1, 2)]
    out.write("macos-python-org-keychain", "recorded/system-roots.pem", bundle(sys_only))
    out.platform_json(
        "macos-python-org-keychain",
        {
            **python_org,
            "macos": {"keychains": {SYSTEM_ROOTS: "/recorded/system-roots.pem"}},
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", default=HERE, help="write the trees here (default: platform_fixtures/ itself)"
    )
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.out):
        if name.startswith(PREFIXES) and os.path.isdir(os.path.join(args.out, name)):
            shutil.rmtree(os.path.join(args.out, name))
    for make in MAKERS:
        make(Output(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
