"""Build the Unix fixture trees under ``platform_fixtures/`` and their ``expected.json``.

Usage (from the repository root)::

    python platform_fixtures/make_unix_fixtures.py            # rebuild every Unix tree
    python platform_fixtures/make_unix_fixtures.py --new-cas  # also mint new test CAs
    python platform_fixtures/make_unix_fixtures.py --out /tmp/trees  # elsewhere, to compare

Every tree is a small filesystem image of one layout of `architecture §8`
(2-5 certificates each), plus a ``platform.json`` where the tree alone cannot say what the
platform is (architecture §5). The certificates are test CAs generated for the fixtures (EC P-256,
self-signed, never real roots); they are kept in ``unix-ca-pool.pem`` so that a rebuild gives the
same bytes, and ``--new-cas`` mints a new pool. Subject hashes (the ``HHHHHHHH.0`` names) come
from ``openssl x509 -subject_hash``, exactly what ``openssl rehash`` would name them.

What each tree should resolve to is written here, next to the tree, from the reference (not
from running trustresolve), and saved in ``expected.json``; ``tests/test_unix_layouts.py`` and
``tests/test_edge_stores.py`` check trustresolve against it. A builder registers its tree with
``@layout("NAME")``; only the trees so registered are deleted and rebuilt: the ``windows-*``,
``macos-*`` and ``pypy-windows-*`` trees of the native fixtures are never touched. FIFOs, device
nodes and file modes cannot be stored in git, so the tests that need them make them at test time
in a temporary copy.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
POOL_FILE = os.path.join(HERE, "unix-ca-pool.pem")

#: Test CAs, by short name. A-E stand for public roots; the others play special parts.
CA_SUBJECTS = {
    "A": "trustresolve fixture Root A",
    "B": "trustresolve fixture Root B",
    "C": "trustresolve fixture Root C",
    "D": "trustresolve fixture Root D",
    "E": "trustresolve fixture Root E",
    "L": "trustresolve fixture Local Corp CA",  # a CA the administrator added
    "M": "trustresolve fixture E-mail Only CA",  # Fedora email-ca-bundle.pem decoy
    "S": "trustresolve fixture Code Signing Only CA",  # Fedora objsign-ca-bundle.pem decoy
    "U": "trustresolve fixture User Added CA",  # Android user store, FreeBSD untrusted
    "H": "trustresolve fixture Host Only CA",  # must never be read through --root escapes
}
FILE_NAMES = {
    key: subject.replace("trustresolve fixture ", "").replace(" ", "_")
    for key, subject in CA_SUBJECTS.items()
}


# --------------------------------------------------------------------------------------------
# The certificate pool


def _mint_pool() -> dict[str, str]:
    from cryptography.hazmat.primitives.serialization import Encoding
    from make_fixture_ca import fixture_ca

    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    end = datetime.datetime(2075, 1, 1, tzinfo=datetime.timezone.utc)
    pool = {}
    for key, subject in CA_SUBJECTS.items():
        cert, _ = fixture_ca(subject, not_before=start, not_after=end)
        pool[key] = cert.public_bytes(Encoding.PEM).decode("ascii")
    return pool


def _write_pool(pool: dict[str, str]) -> None:
    with open(POOL_FILE, "w", encoding="ascii") as handle:
        handle.write(
            "# Test CAs for the Unix fixture trees (make_unix_fixtures.py). Not real roots.\n"
        )
        for key, subject in CA_SUBJECTS.items():
            handle.write(f"# {key}: {subject}\n{pool[key]}")


def _read_pool() -> dict[str, str]:
    with open(POOL_FILE, encoding="ascii") as handle:
        text = handle.read()
    pool: dict[str, str] = {}
    key = None
    lines: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("# ") and line[2:3] in CA_SUBJECTS and line[3:4] == ":":
            key = line[2]
            lines = []
        elif key is not None:
            lines.append(line)
            if line.startswith("-----END CERTIFICATE-----"):
                pool[key] = "".join(lines)
                key = None
    if set(pool) != set(CA_SUBJECTS):
        raise SystemExit(f"{POOL_FILE} is incomplete; run with --new-cas")
    return pool


def _openssl(args: list[str], data: str) -> str:
    done = subprocess.run(  # noqa: S603 - a fixed tool, arguments made here
        ["openssl", *args],  # noqa: S607 - whichever openssl is on PATH, like `openssl rehash`
        input=data.encode("ascii"),
        capture_output=True,
        check=True,
    )
    return done.stdout.decode("ascii")


class Pool:
    def __init__(self, pem: dict[str, str]) -> None:
        self.pem = pem
        self.hash = {
            key: _openssl(["x509", "-noout", "-subject_hash"], p).strip() for key, p in pem.items()
        }
        if len(set(self.hash.values())) != len(self.hash):
            raise SystemExit("two fixture CAs share a subject hash; run with --new-cas")
        self._text: dict[str, str] = {}
        self._trusted: dict[str, str] = {}
        self._der: dict[str, bytes] = {}

    def bundle(self, keys: str) -> str:
        return "".join(self.pem[key] for key in keys)

    def text_dump(self, key: str) -> str:
        """Android's cacerts format: the PEM, then ``openssl x509 -text`` output."""
        if key not in self._text:
            self._text[key] = self.pem[key] + _openssl(["x509", "-noout", "-text"], self.pem[key])
        return self._text[key]

    def trusted(self, key: str) -> str:
        """OpenSSL's ``TRUSTED CERTIFICATE`` form (Fedora's ca-bundle.trust.crt), with the
        trust p11-kit writes: the e-mail-only CA is trusted for e-mail protection alone."""
        if key not in self._trusted:
            purpose = "emailProtection" if key == "M" else "serverAuth"
            self._trusted[key] = _openssl(
                ["x509", "-trustout", "-addtrust", purpose], self.pem[key]
            )
        return self._trusted[key]

    def der(self, key: str) -> bytes:
        if key not in self._der:
            done = subprocess.run(
                ["openssl", "x509", "-outform", "der"],  # noqa: S607 - openssl on PATH
                input=self.pem[key].encode("ascii"),
                capture_output=True,
                check=True,
            )
            self._der[key] = done.stdout
        return self._der[key]


# --------------------------------------------------------------------------------------------
# Building a tree


class Tree:
    def __init__(self, root: str, pool: Pool) -> None:
        self.root = root
        self.pool = pool

    def _host(self, path: str) -> str:
        host = os.path.join(self.root, path.lstrip("/"))
        os.makedirs(os.path.dirname(host), exist_ok=True)
        return host

    def write(self, path: str, data: str | bytes) -> None:
        host = self._host(path)
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(host, mode) as handle:
            handle.write(data)

    def link(self, path: str, target: str) -> None:
        host = self._host(path)
        if os.path.lexists(host):
            os.unlink(host)
        os.symlink(target, host)

    def mkdir(self, path: str) -> None:
        """An otherwise empty directory (git keeps it through a ``.keep`` file)."""
        self.write(path.rstrip("/") + "/.keep", "")

    def bundle(self, path: str, keys: str) -> None:
        self.write(path, self.pool.bundle(keys))

    def certs(self, directory: str, keys: str, suffix: str = ".pem") -> None:
        """One PEM file per CA, named after it (``Root_A.pem``)."""
        for key in keys:
            self.write(f"{directory}/{FILE_NAMES[key]}{suffix}", self.pool.pem[key])

    def hashed(
        self,
        directory: str,
        keys: str,
        target: Callable[[str], str] | None = None,
    ) -> None:
        """``HHHHHHHH.0`` links, as ``openssl rehash`` makes them (default: to ``NAME.pem``)."""
        for key in keys:
            name = target(key) if target else f"{FILE_NAMES[key]}.pem"
            self.link(f"{directory}/{self.pool.hash[key]}.0", name)

    def hashed_files(self, directory: str, keys: str, dump: bool = False) -> None:
        """Hashed names that are real files (Android, OpenHarmony)."""
        for key in keys:
            data = self.pool.text_dump(key) if dump else self.pool.pem[key]
            self.write(f"{directory}/{self.pool.hash[key]}.0", data)

    def platform(self, **document: Any) -> None:
        with open(os.path.join(self.root, "platform.json"), "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
            handle.write("\n")


Builder = Callable[[Tree], dict[str, Any]]


# Fedora/RHEL ca-trust pieces (architecture §8)
_EXTRACTED = "/etc/pki/ca-trust/extracted"
_TLS = f"{_EXTRACTED}/pem/tls-ca-bundle.pem"
_DIRHASH = f"{_EXTRACTED}/pem/directory-hash"


def _ca_trust(t: Tree, keys: str, directory_hash: bool) -> None:
    t.bundle(_TLS, keys)
    t.bundle(f"{_EXTRACTED}/pem/email-ca-bundle.pem", "M" + keys[:1])
    t.bundle(f"{_EXTRACTED}/pem/objsign-ca-bundle.pem", "S")
    t.write(
        f"{_EXTRACTED}/openssl/ca-bundle.trust.crt",
        "".join(t.pool.trusted(k) for k in keys + "M"),
    )
    t.write(f"{_EXTRACTED}/java/cacerts", b"\xfe\xed\xfe\xed\x00\x00\x00\x02 not a PEM bundle")
    t.write(f"{_EXTRACTED}/edk2/cacerts.bin", b"".join(t.pool.der(k) for k in keys))
    t.mkdir("/etc/pki/ca-trust/source/anchors")
    if directory_hash:
        t.certs(_DIRHASH, keys)
        t.hashed(_DIRHASH, keys)


def _debian_like(t: Tree, keys: str, local: str = "") -> None:
    """update-ca-certificates: certs in /usr/share/ca-certificates, links and hashes in /etc."""
    for key in keys:
        t.write(f"/usr/share/ca-certificates/mozilla/{FILE_NAMES[key]}.crt", t.pool.pem[key])
        t.link(
            f"/etc/ssl/certs/{FILE_NAMES[key]}.pem",
            f"/usr/share/ca-certificates/mozilla/{FILE_NAMES[key]}.crt",
        )
    for key in local:
        t.write(f"/usr/local/share/ca-certificates/{FILE_NAMES[key]}.crt", t.pool.pem[key])
        t.link(
            f"/etc/ssl/certs/{FILE_NAMES[key]}.pem",
            f"/usr/local/share/ca-certificates/{FILE_NAMES[key]}.crt",
        )
    t.hashed("/etc/ssl/certs", keys + local)
    t.bundle("/etc/ssl/certs/ca-certificates.crt", keys + local)


# --------------------------------------------------------------------------------------------
# The trees and what each should resolve to

#: tree name -> builder, in the order of expected.json (the order the builders are defined).
TREES: dict[str, Builder] = {}


def layout(name: str) -> Callable[[Builder], Builder]:
    """Register the decorated function as the builder of ``platform_fixtures/NAME``."""

    def register(builder: Builder) -> Builder:
        if name in TREES:
            raise ValueError(f"two builders for tree {name!r}")
        TREES[name] = builder
        return builder

    return register


NOT_TRIED = "not-tried"  # marker in expectations: every attempt after the decision


def _expect(
    *,
    backend: str | None,
    kind: str | None = None,
    cafile: str | None = None,
    capath: str | None = None,
    cert_count: int | str | None = None,
    attempts: Iterable[tuple[str, str | None, str]] = (),
    never_used: Iterable[str] = (),
    details: dict[str, str] | None = None,
    exit_code: int = 0,
    ref: str = "",
    models: str = "",
) -> dict[str, Any]:
    return {
        "models": models,
        "ref": ref,
        "backend": backend,
        "kind": kind,
        "cafile": cafile,
        "capath": capath,
        "cert_count": cert_count,
        "attempts": [list(a) for a in attempts],
        "never_used": sorted(never_used),
        "details": details or {},
        "exit": exit_code,
    }


CA_CRT = "/etc/ssl/certs/ca-certificates.crt"
D = "distro"
FEDORA_DECOYS = (
    f"{_EXTRACTED}/pem/email-ca-bundle.pem",
    f"{_EXTRACTED}/pem/objsign-ca-bundle.pem",
    f"{_EXTRACTED}/openssl/ca-bundle.trust.crt",
    f"{_EXTRACTED}/pem",
)


@layout("linux-debian")
def tree_linux_debian(t: Tree) -> dict[str, Any]:
    _debian_like(t, "ABC", local="L")
    t.write("/etc/ssl/certs/java/cacerts", b"\xfe\xed\xfe\xed\x00\x00\x00\x02 JKS, not PEM")
    t.link("/usr/lib/ssl/certs", "/etc/ssl/certs")
    t.link("/usr/lib/ssl/cert.pem", "/etc/ssl/certs/ca-certificates.crt")
    t.write("/etc/ssl/openssl.cnf", "# fixture\n")
    return _expect(
        backend=D,
        kind="file",
        cafile=CA_CRT,
        capath="/etc/ssl/certs",
        cert_count=4,
        attempts=[
            ("env", None, "skipped"),
            ("config", None, "skipped"),
            (D, CA_CRT, "used"),
            (D, "/etc/ssl/certs", "used"),
        ],
        never_used=("/usr/local/share/ca-certificates", "/etc/ssl/certs/java"),
        models="Debian 12 / Ubuntu 24.04: update-ca-certificates bundle, hashed /etc/ssl/certs "
        "(NAME.pem -> /usr/share/ca-certificates, HHHHHHHH.0 -> NAME.pem), one local CA, "
        "/usr/lib/ssl links, a java/ subdirectory",
        ref="architecture §8",
    )


@layout("linux-gentoo")
def tree_linux_gentoo(t: Tree) -> dict[str, Any]:
    _debian_like(t, "AB")
    return _expect(
        backend=D,
        kind="file",
        cafile=CA_CRT,
        capath="/etc/ssl/certs",
        cert_count=2,
        attempts=[(D, CA_CRT, "used"), (D, "/etc/ssl/certs", "used")],
        models="Gentoo: app-misc/ca-certificates runs update-ca-certificates (Debian's layout)",
        ref="architecture §8",
    )


@layout("linux-fedora43")
def tree_linux_fedora43(t: Tree) -> dict[str, Any]:
    _ca_trust(t, "ABC", directory_hash=True)
    t.link("/etc/pki/tls/certs/ca-bundle.crt", _TLS)
    t.link("/etc/pki/tls/certs/ca-bundle.trust.crt", f"{_EXTRACTED}/openssl/ca-bundle.trust.crt")
    t.link("/etc/ssl/certs", "../pki/tls/certs")
    t.link("/etc/ssl/cert.pem", _TLS)
    return _expect(
        backend=D,
        kind="file",
        cafile=_TLS,
        capath=_DIRHASH,
        cert_count=3,
        attempts=[(D, CA_CRT, "missing"), (D, _TLS, "used"), (D, _DIRHASH, "used")],
        never_used=(*FEDORA_DECOYS, "/etc/pki/tls/certs", "/etc/ssl/certs"),
        models="Fedora 43: p11-kit extracted/ with tls, email and objsign bundles, "
        "directory-hash, the trust-format bundle; /etc/pki/tls/cert.pem dropped, legacy "
        "ca-bundle.crt links still present; /etc/ssl/certs -> ../pki/tls/certs",
        ref="architecture §8",
    )


@layout("linux-fedora44")
def tree_linux_fedora44(t: Tree) -> dict[str, Any]:
    _ca_trust(t, "ABCD", directory_hash=True)
    t.mkdir("/etc/pki/tls/certs")
    t.link("/etc/ssl/certs", "../pki/tls/certs")
    return _expect(
        backend=D,
        kind="file",
        cafile=_TLS,
        capath=_DIRHASH,
        cert_count=4,
        attempts=[(D, CA_CRT, "missing"), (D, _TLS, "used"), (D, _DIRHASH, "used")],
        never_used=(*FEDORA_DECOYS, "/etc/pki/tls/certs", "/etc/ssl/certs"),
        models="Fedora 44 without `update-ca-trust extract --rhbz2387674`: no cert.pem, no "
        "ca-bundle.crt, only extracted/ and directory-hash",
        ref="architecture §8",
    )


@layout("linux-rhel6")
def tree_linux_rhel6(t: Tree) -> dict[str, Any]:
    rh = "/etc/pki/tls/certs/ca-bundle.crt"
    t.bundle(rh, "AB")
    t.write("/etc/pki/tls/certs/ca-bundle.trust.crt", "".join(t.pool.trusted(k) for k in "AB"))
    t.link("/etc/pki/tls/cert.pem", "certs/ca-bundle.crt")
    t.write("/etc/pki/tls/certs/Makefile", "# make-dummy-cert\n")
    return _expect(
        backend=D,
        kind="file",
        cafile=rh,
        capath=None,
        cert_count=2,
        attempts=[(D, CA_CRT, "missing"), (D, _TLS, "missing"), (D, rh, "used")],
        never_used=("/etc/pki/tls/certs", "/etc/pki/tls/certs/ca-bundle.trust.crt"),
        models="RHEL/CentOS 6 before ca-trust: a real /etc/pki/tls/certs/ca-bundle.crt, "
        "cert.pem -> certs/ca-bundle.crt, no /etc/ssl",
        ref="architecture §8",
    )


def _rhel_links(t: Tree) -> None:
    t.link("/etc/pki/tls/certs/ca-bundle.crt", _TLS)
    t.link("/etc/pki/tls/certs/ca-bundle.trust.crt", f"{_EXTRACTED}/openssl/ca-bundle.trust.crt")
    t.link("/etc/pki/tls/cert.pem", _TLS)
    t.link("/etc/ssl/certs", "../pki/tls/certs")
    t.write("/etc/pki/tls/certs/Makefile", "# make-dummy-cert\n")


@layout("linux-rhel7")
def tree_linux_rhel7(t: Tree) -> dict[str, Any]:
    _ca_trust(t, "ABC", directory_hash=False)
    _rhel_links(t)
    return _expect(
        backend=D,
        kind="file",
        cafile=_TLS,
        capath=None,
        cert_count=3,
        attempts=[(D, CA_CRT, "missing"), (D, _TLS, "used")],
        never_used=(*FEDORA_DECOYS, "/etc/pki/tls/certs", "/etc/ssl/certs"),
        models="RHEL/CentOS 7: ca-trust extracted/, ca-bundle.crt and cert.pem link to "
        "tls-ca-bundle.pem, /etc/ssl/certs -> ../pki/tls/certs, no hashed directory",
        ref="architecture §8",
    )


@layout("linux-rhel8")
def tree_linux_rhel8(t: Tree) -> dict[str, Any]:
    _ca_trust(t, "BCD", directory_hash=False)
    _rhel_links(t)
    return _expect(
        backend=D,
        kind="file",
        cafile=_TLS,
        capath=None,
        cert_count=3,
        attempts=[(D, CA_CRT, "missing"), (D, _TLS, "used")],
        never_used=(*FEDORA_DECOYS, "/etc/pki/tls/certs", "/etc/ssl/certs", "/etc/ssl/cert.pem"),
        models="RHEL 8 / UBI 8: as RHEL 7; no /etc/ssl/cert.pem, no hashed /etc/ssl/certs "
        "(python-build-standalone#858)",
        ref="architecture §8",
    )


@layout("linux-rhel9")
def tree_linux_rhel9(t: Tree) -> dict[str, Any]:
    _ca_trust(t, "ABCE", directory_hash=True)
    _rhel_links(t)
    t.link("/etc/ssl/cert.pem", "/etc/pki/tls/cert.pem")
    return _expect(
        backend=D,
        kind="file",
        cafile=_TLS,
        capath=_DIRHASH,
        cert_count=4,
        attempts=[(D, CA_CRT, "missing"), (D, _TLS, "used"), (D, _DIRHASH, "used")],
        never_used=(*FEDORA_DECOYS, "/etc/pki/tls/certs", "/etc/ssl/certs"),
        models="RHEL 9: RHEL 7's web plus /etc/ssl/cert.pem -> /etc/pki/tls/cert.pem -> "
        "tls-ca-bundle.pem, and directory-hash",
        ref="architecture §8",
    )


@layout("linux-amazon2023")
def tree_linux_amazon2023(t: Tree) -> dict[str, Any]:
    _ca_trust(t, "ABCD", directory_hash=False)
    t.link("/etc/pki/tls/certs/ca-bundle.crt", _TLS)
    t.certs("/etc/ssl/certs", "ABCD")  # plain NAME.pem files, no hashed names
    return _expect(
        backend=D,
        kind="file",
        cafile=_TLS,
        capath=None,
        cert_count=4,
        attempts=[(D, CA_CRT, "missing"), (D, _TLS, "used")],
        never_used=(*FEDORA_DECOYS, "/etc/ssl/certs"),
        models="Amazon Linux 2023: ca-trust bundle; /etc/ssl/certs holds plain .pem files, "
        "not hashed, so it is no CA directory",
        ref="architecture §8",
    )


@layout("linux-opensuse")
def tree_linux_opensuse(t: Tree) -> dict[str, Any]:
    t.bundle("/var/lib/ca-certificates/ca-bundle.pem", "ABC")
    t.certs("/var/lib/ca-certificates/pem", "ABC")
    t.hashed("/var/lib/ca-certificates/pem", "ABC")
    t.link("/etc/ssl/ca-bundle.pem", "/var/lib/ca-certificates/ca-bundle.pem")
    t.link("/etc/ssl/certs", "/var/lib/ca-certificates/pem")
    return _expect(
        backend=D,
        kind="file",
        cafile="/etc/ssl/ca-bundle.pem",
        capath="/etc/ssl/certs",
        cert_count=3,
        attempts=[
            (D, CA_CRT, "missing"),
            (D, "/etc/ssl/ca-bundle.pem", "used"),
            (D, "/etc/ssl/certs", "used"),
        ],
        details={"/etc/ssl/ca-bundle.pem": "/var/lib/ca-certificates/ca-bundle.pem"},
        models="openSUSE/SLES: /etc/ssl/ca-bundle.pem -> /var/lib/ca-certificates/ca-bundle.pem, "
        "/etc/ssl/certs -> /var/lib/ca-certificates/pem (hashed)",
        ref="architecture §8",
    )


@layout("linux-alpine-base")
def tree_linux_alpine_base(t: Tree) -> dict[str, Any]:
    t.bundle(CA_CRT, "AB")
    t.link("/etc/ssl/cert.pem", "certs/ca-certificates.crt")
    t.link("/etc/ssl1.1/cert.pem", "/etc/ssl/cert.pem")
    t.link("/etc/ssl1.1/certs", "/etc/ssl/certs")
    return _expect(
        backend=D,
        kind="file",
        cafile=CA_CRT,
        capath=None,
        cert_count=2,
        attempts=[(D, CA_CRT, "used"), (D, "/etc/ssl/certs", "skipped")],
        models="Alpine base image (ca-certificates-bundle only): the bundle, relative "
        "cert.pem link, /etc/ssl1.1 compat links, no hashed directory",
        ref="architecture §8",
    )


@layout("linux-alpine-full")
def tree_linux_alpine_full(t: Tree) -> dict[str, Any]:
    _debian_like(t, "ABC")
    t.link("/etc/ssl/cert.pem", "certs/ca-certificates.crt")
    t.link("/etc/ssl1.1/cert.pem", "/etc/ssl/cert.pem")
    t.link("/etc/ssl1.1/certs", "/etc/ssl/certs")
    return _expect(
        backend=D,
        kind="file",
        cafile=CA_CRT,
        capath="/etc/ssl/certs",
        cert_count=3,
        attempts=[(D, CA_CRT, "used"), (D, "/etc/ssl/certs", "used")],
        models="Alpine with the full ca-certificates package: c_rehash made /etc/ssl/certs",
        ref="architecture §8",
    )


@layout("linux-arch")
def tree_linux_arch(t: Tree) -> dict[str, Any]:
    ex = "/etc/ca-certificates/extracted"
    t.bundle(f"{ex}/tls-ca-bundle.pem", "ABCD")
    t.bundle(f"{ex}/email-ca-bundle.pem", "MA")
    t.bundle(f"{ex}/objsign-ca-bundle.pem", "S")
    t.certs(f"{ex}/cadir", "ABCD")
    t.hashed(f"{ex}/cadir", "ABCD")
    t.link(CA_CRT, "../../ca-certificates/extracted/tls-ca-bundle.pem")
    t.link("/etc/ssl/cert.pem", "../ca-certificates/extracted/tls-ca-bundle.pem")
    for key in "ABCD":
        t.link(f"/etc/ssl/certs/{FILE_NAMES[key]}.pem", f"{ex}/cadir/{FILE_NAMES[key]}.pem")
    t.hashed("/etc/ssl/certs", "ABCD")
    return _expect(
        backend=D,
        kind="file",
        cafile=CA_CRT,
        capath="/etc/ssl/certs",
        cert_count=4,
        attempts=[(D, CA_CRT, "used"), (D, "/etc/ssl/certs", "used")],
        never_used=(f"{ex}/email-ca-bundle.pem", f"{ex}/objsign-ca-bundle.pem"),
        details={CA_CRT: "tls-ca-bundle.pem"},
        models="Arch: p11-kit extracts to /etc/ca-certificates/extracted; ca-certificates.crt and "
        "cert.pem are relative links to tls-ca-bundle.pem; /etc/ssl/certs links into cadir",
        ref="architecture §8",
    )


_NIX_CACERT = (
    "/nix/store/0c5zxlxaz0f4a3vlr1q6brq7jq5s6q1a-nss-cacert-3.101/etc/ssl/certs/ca-bundle.crt"
)
_NIX_ETC = "/nix/store/7yq6z1m4bq8k3pq1w0ml2b4f3l8a4c9x-etc/etc"


@layout("linux-nixos")
def tree_linux_nixos(t: Tree) -> dict[str, Any]:
    t.bundle(_NIX_CACERT, "ABC")
    for name in (
        "ssl/certs/ca-certificates.crt",
        "ssl/certs/ca-bundle.crt",
        "pki/tls/certs/ca-bundle.crt",
    ):
        t.link(f"{_NIX_ETC}/{name}", _NIX_CACERT)
        t.link(f"/etc/{name}", f"/etc/static/{name}")
    t.link("/etc/static", _NIX_ETC)
    return _expect(
        backend=D,
        kind="file",
        cafile=CA_CRT,
        capath=None,
        cert_count=3,
        attempts=[(D, CA_CRT, "used"), (D, "/etc/ssl/certs", "skipped")],
        details={CA_CRT: "/etc/static"},
        models="NixOS: /etc/ssl/certs/*.crt -> /etc/static/... ; "
        "/etc/static -> /nix/store/...-etc; "
        "-> nss-cacert's ca-bundle.crt; no hashed directory",
        ref="architecture §8",
    )


@layout("linux-nix-image")
def tree_linux_nix_image(t: Tree) -> dict[str, Any]:
    store = (
        "/nix/store/kx3mqv0l9yb1q2w3e4r5t6y7u8i9o0pz-nss-cacert-3.98/etc/ssl/certs/ca-bundle.crt"
    )
    t.bundle(store, "DE")
    t.link("/etc/ssl/certs/ca-bundle.crt", store)
    bundle = "/etc/ssl/certs/ca-bundle.crt"
    return _expect(
        backend=D,
        kind="file",
        cafile=bundle,
        capath=None,
        cert_count=2,
        attempts=[
            (D, CA_CRT, "missing"),
            (D, _TLS, "missing"),
            (D, "/etc/ssl/cert.pem", "missing"),
            (D, bundle, "used"),
        ],
        models="An image built with Nix (dockerTools + cacert): only /etc/ssl/certs/ca-bundle.crt",
        ref="architecture §8",
    )


@layout("linux-nix-profile")
def tree_linux_nix_profile(t: Tree) -> dict[str, Any]:
    store = (
        "/nix/store/2b7fqz9k1m3n5p7r9t1v3x5z7b9d1f3h-nss-cacert-3.101/etc/ssl/certs/ca-bundle.crt"
    )
    env = "/nix/store/9h8g7f6d5s4a3p2o1i9u8y7t6r5e4w3q-user-environment"
    t.bundle(store, "AE")
    t.link(f"{env}/etc/ssl/certs/ca-bundle.crt", store)
    t.link("/nix/var/nix/profiles/per-user/alice/profile", "profile-3-link")
    t.link("/nix/var/nix/profiles/per-user/alice/profile-3-link", env)
    t.link("/home/alice/.nix-profile", "/nix/var/nix/profiles/per-user/alice/profile")
    t.platform(platform="linux", environ={"HOME": "/home/alice", "USER": "alice"})
    shown = "/home/alice/.nix-profile/etc/ssl/certs/ca-bundle.crt"
    return _expect(
        backend=D,
        kind="file",
        cafile=shown,
        capath=None,
        cert_count=2,
        attempts=[(D, CA_CRT, "missing"), (D, shown, "used")],
        models="Nix single-user install on a distribution with no CA bundle: $HOME/.nix-profile",
        ref="architecture §8",
    )


@layout("linux-void")
def tree_linux_void(t: Tree) -> dict[str, Any]:
    t.bundle("/etc/ssl/certs.pem", "ABC")
    for key in "ABC":
        t.write(f"/usr/share/ca-certificates/mozilla/{FILE_NAMES[key]}.crt", t.pool.pem[key])
        t.link(
            f"/etc/ssl/certs/{FILE_NAMES[key]}.pem",
            f"/usr/share/ca-certificates/mozilla/{FILE_NAMES[key]}.crt",
        )
    t.hashed("/etc/ssl/certs", "ABC")
    return _expect(
        backend=D,
        kind="file",
        cafile="/etc/ssl/certs.pem",
        capath="/etc/ssl/certs",
        cert_count=3,
        attempts=[
            (D, CA_CRT, "missing"),
            (D, "/etc/ssl/cert.pem", "missing"),
            (D, "/etc/ssl/certs.pem", "used"),
            (D, "/etc/ssl/certs", "used"),
        ],
        models="Void Linux: the bundle is /etc/ssl/certs.pem "
        "(no cert.pem, no ca-certificates.crt); "
        "update-ca-certificates still hashes /etc/ssl/certs with the same roots",
        ref="architecture §8",
    )


@layout("linux-distroless")
def tree_linux_distroless(t: Tree) -> dict[str, Any]:
    t.bundle(CA_CRT, "ABC")
    return _expect(
        backend=D,
        kind="file",
        cafile=CA_CRT,
        capath=None,
        cert_count=3,
        attempts=[(D, CA_CRT, "used"), (D, "/etc/ssl/certs", "skipped")],
        models="distroless / Wolfi: a bundle and no hashed directory",
        ref="architecture §8",
    )


@layout("linux-entware")
def tree_linux_entware(t: Tree) -> dict[str, Any]:
    path = "/opt/etc/ssl/certs/ca-certificates.crt"
    t.bundle(path, "AB")
    t.certs("/opt/etc/ssl/certs", "AB", suffix=".crt")
    t.hashed("/opt/etc/ssl/certs", "AB", target=lambda k: f"{FILE_NAMES[k]}.crt")
    return _expect(
        backend=D,
        kind="file",
        cafile=path,
        capath="/opt/etc/ssl/certs",
        cert_count=2,
        attempts=[
            (D, CA_CRT, "missing"),
            (D, "/etc/ssl/cert.pem", "missing"),
            (D, path, "used"),
            (D, "/opt/etc/ssl/certs", "used"),
        ],
        models="Entware on a router: everything under /opt",
        ref="architecture §8",
    )


@layout("linux-openharmony")
def tree_linux_openharmony(t: Tree) -> dict[str, Any]:
    path = "/etc/ssl/certs/cacert.pem"
    t.bundle(path, "ABC")
    t.hashed_files("/etc/security/certificates", "ABC")
    return _expect(
        backend=D,
        kind="file",
        cafile=path,
        capath="/etc/security/certificates",
        cert_count=3,
        attempts=[
            (D, CA_CRT, "missing"),
            (D, path, "used"),
            (D, "/etc/security/certificates", "used"),
        ],
        models="OpenHarmony: /etc/ssl/certs/cacert.pem and the /etc/security/certificates dir",
        ref="architecture §8",
    )


_PREFIX = "/data/data/com.termux/files/usr"
_ANDROID_ENV = {"ANDROID_ROOT": "/system", "ANDROID_DATA": "/data"}


def _termux(t: Tree, platform: str) -> dict[str, Any]:
    t.bundle(f"{_PREFIX}/etc/tls/cert.pem", "ABC")
    t.hashed_files("/system/etc/security/cacerts", "ABCD", dump=True)
    t.platform(
        platform=platform,
        environ={
            **_ANDROID_ENV,
            "PREFIX": _PREFIX,
            "TERMUX_VERSION": "0.118.1",
            "HOME": "/data/data/com.termux/files/home",
        },
    )
    return _expect(
        backend=D,
        kind="file",
        cafile=f"{_PREFIX}/etc/tls/cert.pem",
        capath=None,
        cert_count=3,
        attempts=[(D, f"{_PREFIX}/etc/tls/cert.pem", "used")],
        never_used=("/system/etc/security/cacerts",),
        models=f"Termux (sys.platform {platform!r}): $PREFIX/etc/tls/cert.pem on an Android "
        "device that also has the system store",
        ref="architecture §8",
    )


@layout("android-termux")
def tree_android_termux(t: Tree) -> dict[str, Any]:
    return _termux(t, "linux")


@layout("android-termux-py313")
def tree_android_termux_py313(t: Tree) -> dict[str, Any]:
    return _termux(t, "android")


@layout("android-14")
def tree_android_14(t: Tree) -> dict[str, Any]:
    apex = "/apex/com.android.conscrypt/cacerts"
    t.hashed_files(apex, "ABCD", dump=True)
    t.hashed_files("/system/etc/security/cacerts", "ABE", dump=True)
    t.hashed_files("/data/misc/user/0/cacerts-added", "U", dump=True)
    t.platform(platform="android", environ=dict(_ANDROID_ENV))
    return _expect(
        backend=D,
        kind="dir",
        cafile=None,
        capath=apex,
        cert_count=4,
        attempts=[(D, apex, "used")],
        never_used=("/system/etc/security/cacerts", "/data/misc/user/0/cacerts-added"),
        models="Android 14+: the updatable APEX store first; the older system store and a "
        "user-added CA must not be used; files are PEM followed by a text dump",
        ref="architecture §8",
    )


@layout("android-13")
def tree_android_13(t: Tree) -> dict[str, Any]:
    system = "/system/etc/security/cacerts"
    t.hashed_files(system, "ABC", dump=True)
    t.platform(platform="android", environ=dict(_ANDROID_ENV))
    return _expect(
        backend=D,
        kind="dir",
        cafile=None,
        capath=system,
        cert_count=3,
        attempts=[(D, "/apex/com.android.conscrypt/cacerts", "missing"), (D, system, "used")],
        models="Android 13 and older: only /system/etc/security/cacerts",
        ref="architecture §8",
    )


@layout("freebsd-ca-root-nss")
def tree_freebsd_ca_root_nss(t: Tree) -> dict[str, Any]:
    nss = "/usr/local/share/certs/ca-root-nss.crt"
    t.bundle(nss, "ABC")
    t.link("/usr/local/etc/ssl/cert.pem", nss)
    t.link("/etc/ssl/cert.pem", nss)
    t.platform(platform="freebsd12")
    return _expect(
        backend=D,
        kind="file",
        cafile="/etc/ssl/cert.pem",
        capath=None,
        cert_count=3,
        attempts=[(D, "/etc/ssl/cert.pem", "used")],
        never_used=("/usr/local/share/certs",),
        details={"/etc/ssl/cert.pem": nss},
        models="FreeBSD with the ca_root_nss port (before certctl): ca-root-nss.crt and its "
        "/etc/ssl/cert.pem and /usr/local/etc/ssl/cert.pem links",
        ref="architecture §8",
    )


@layout("freebsd-certctl")
def tree_freebsd_certctl(t: Tree) -> dict[str, Any]:
    t.certs("/usr/share/certs/trusted", "ABC")
    t.certs("/usr/share/certs/untrusted", "U")
    t.certs("/usr/local/share/certs", "L")
    t.hashed(
        "/etc/ssl/certs",
        "ABC",
        target=lambda k: f"../../../usr/share/certs/trusted/{FILE_NAMES[k]}.pem",
    )
    t.hashed(
        "/etc/ssl/certs",
        "L",
        target=lambda k: f"../../../usr/local/share/certs/{FILE_NAMES[k]}.pem",
    )
    t.hashed(
        "/etc/ssl/untrusted",
        "U",
        target=lambda k: f"../../../usr/share/certs/untrusted/{FILE_NAMES[k]}.pem",
    )
    t.platform(platform="freebsd14")
    return _expect(
        backend=D,
        kind="dir",
        cafile=None,
        capath="/etc/ssl/certs",
        cert_count=4,
        attempts=[
            (D, "/etc/ssl/cert.pem", "missing"),
            (D, "/usr/local/share/certs/ca-root-nss.crt", "missing"),
            (D, "/etc/ssl/certs", "used"),
        ],
        never_used=(
            "/usr/share/certs/trusted",
            "/usr/local/share/certs",
            "/etc/ssl/untrusted",
            "/usr/share/certs/untrusted",
        ),
        models="FreeBSD 12.2+ base certctl: hashed /etc/ssl/certs made from the input folders "
        "/usr/share/certs/trusted and /usr/local/share/certs (never stores themselves)",
        ref="architecture §8",
    )


@layout("openbsd")
def tree_openbsd(t: Tree) -> dict[str, Any]:
    t.bundle("/etc/ssl/cert.pem", "ABC")
    t.platform(platform="openbsd7")
    return _expect(
        backend=D,
        kind="file",
        cafile="/etc/ssl/cert.pem",
        capath=None,
        cert_count=3,
        attempts=[(D, "/etc/ssl/cert.pem", "used")],
        models="OpenBSD: LibreSSL's /etc/ssl/cert.pem only",
        ref="architecture §8",
    )


@layout("netbsd")
def tree_netbsd(t: Tree) -> dict[str, Any]:
    path = "/etc/openssl/certs/ca-certificates.crt"
    t.certs("/usr/share/certs/mozilla/server", "ABC")
    t.hashed(
        "/etc/openssl/certs",
        "ABC",
        target=lambda k: f"/usr/share/certs/mozilla/server/{FILE_NAMES[k]}.pem",
    )
    t.bundle(path, "ABC")
    t.platform(platform="netbsd10")
    return _expect(
        backend=D,
        kind="file",
        cafile=path,
        capath="/etc/openssl/certs",
        cert_count=3,
        attempts=[(D, path, "used"), (D, "/etc/openssl/certs", "used")],
        never_used=("/usr/share/certs/mozilla/server",),
        models="NetBSD 10: /etc/openssl/certs with the bundle and hashed links (certctl)",
        ref="architecture §8",
    )


@layout("dragonfly")
def tree_dragonfly(t: Tree) -> dict[str, Any]:
    nss = "/usr/local/share/certs/ca-root-nss.crt"
    t.bundle(nss, "AB")
    t.link("/usr/local/etc/ssl/cert.pem", nss)
    t.link("/etc/ssl/cert.pem", nss)
    t.platform(platform="dragonfly6")
    return _expect(
        backend=D,
        kind="file",
        cafile=nss,
        capath=None,
        cert_count=2,
        attempts=[(D, nss, "used")],
        models="DragonFly BSD: ca_root_nss",
        ref="architecture §8",
    )


@layout("solaris11")
def tree_solaris11(t: Tree) -> dict[str, Any]:
    path = "/etc/certs/ca-certificates.crt"
    t.bundle(path, "ABC")
    t.certs("/etc/certs/CA", "ABC")
    t.hashed("/etc/certs/CA", "ABC")
    t.link("/etc/openssl/certs", "../certs/CA")
    t.platform(platform="sunos5")
    return _expect(
        backend=D,
        kind="file",
        cafile=path,
        capath="/etc/certs/CA",
        cert_count=3,
        attempts=[(D, path, "used"), (D, "/etc/certs/CA", "used")],
        models="Solaris 11.2+ / OpenIndiana: /etc/certs/ca-certificates.crt and /etc/certs/CA",
        ref="architecture §8",
    )


@layout("omnios")
def tree_omnios(t: Tree) -> dict[str, Any]:
    t.bundle("/etc/ssl/cacert.pem", "AB")
    t.platform(platform="sunos5")
    return _expect(
        backend=D,
        kind="file",
        cafile="/etc/ssl/cacert.pem",
        capath=None,
        cert_count=2,
        attempts=[
            (D, "/etc/certs/ca-certificates.crt", "missing"),
            (D, CA_CRT, "missing"),
            (D, "/etc/ssl/cacert.pem", "used"),
        ],
        models="OmniOS: /etc/ssl/cacert.pem",
        ref="architecture §8",
    )


@layout("smartos")
def tree_smartos(t: Tree) -> dict[str, Any]:
    t.bundle(CA_CRT, "ABC")
    pk = "/opt/local/etc/openssl/certs"
    t.certs(pk, "ABC")
    t.hashed(pk, "ABC")
    t.platform(platform="sunos5")
    return _expect(
        backend=D,
        kind="file",
        cafile=CA_CRT,
        capath=None,
        cert_count=3,
        attempts=[(D, "/etc/certs/ca-certificates.crt", "missing"), (D, CA_CRT, "used")],
        models="SmartOS: Joyent's /etc/ssl/certs/ca-certificates.crt plus pkgsrc's hashed "
        "/opt/local/etc/openssl/certs",
        ref="architecture §8",
    )


@layout("aix")
def tree_aix(t: Tree) -> dict[str, Any]:
    path = "/var/ssl/certs/ca-bundle.crt"
    t.bundle(path, "AB")
    t.certs("/var/ssl/certs", "AB")
    t.hashed("/var/ssl/certs", "AB")
    t.platform(platform="aix")
    return _expect(
        backend=D,
        kind="file",
        cafile=path,
        capath="/var/ssl/certs",
        cert_count=2,
        attempts=[(D, path, "used"), (D, "/var/ssl/certs", "used")],
        models="AIX: /var/ssl/certs/ca-bundle.crt and the /var/ssl/certs dir",
        ref="architecture §8",
    )


@layout("haiku")
def tree_haiku(t: Tree) -> dict[str, Any]:
    path = "/boot/system/data/ssl/CARootCertificates.pem"
    t.bundle(path, "ABC")
    t.platform(platform="haiku1")
    return _expect(
        backend=D,
        kind="file",
        cafile=path,
        capath=None,
        cert_count=3,
        attempts=[(D, path, "used")],
        models="Haiku: CARootCertificates.pem",
        ref="architecture §8",
    )


@layout("pbs-interpreter")
def tree_pbs_interpreter(t: Tree) -> dict[str, Any]:
    base = "/opt/python-build-standalone/ssl"
    t.bundle(f"{base}/cert.pem", "DE")
    t.certs(f"{base}/certs", "DE")
    t.hashed(f"{base}/certs", "DE")
    t.platform(
        platform="linux",
        executable="/opt/python-build-standalone/bin/python3",
        default_verify_paths={
            "cafile": None,
            "capath": None,
            "openssl_cafile": f"{base}/cert.pem",
            "openssl_capath": f"{base}/certs",
        },
    )
    o = "openssl-default"
    return _expect(
        backend=o,
        kind="file",
        cafile=f"{base}/cert.pem",
        capath=f"{base}/certs",
        cert_count=2,
        attempts=[
            (D, CA_CRT, "missing"),
            (o, f"{base}/cert.pem", "used"),
            (o, f"{base}/certs", "used"),
        ],
        models="A portable interpreter whose compiled-in OPENSSLDIR points into the tree and "
        "carries its own bundle; the tree has no distribution store",
        ref="architecture §8",
    )


@layout("no-store")
def tree_no_store(t: Tree) -> dict[str, Any]:
    t.write("/etc/hostname", "scratch\n")
    t.platform(
        platform="linux",
        default_verify_paths={
            "cafile": None,
            "capath": None,
            "openssl_cafile": "/usr/local/ssl/cert.pem",
            "openssl_capath": "/usr/local/ssl/certs",
        },
    )
    return _expect(
        backend="certifi",
        kind="file",
        cafile="<certifi>",
        capath=None,
        cert_count="<certifi>",
        attempts=[
            (D, CA_CRT, "missing"),
            ("openssl-default", "/usr/local/ssl/cert.pem", "missing"),
            ("certifi", "<certifi>", "used"),
        ],
        models="A scratch image with no CA store at all and a stock-OpenSSL interpreter: certifi",
        ref="architecture §8",
    )


# ---- edge trees (tests/test_edge_stores.py) -----------------------------------------------


@layout("edge-bad-bundles-first")
def tree_edge_bad_bundles_first(t: Tree) -> dict[str, Any]:
    t.write(CA_CRT, "")  # 0 bytes: a half-finished update-ca-certificates
    pem = t.pool.pem["A"]
    t.write(_TLS, pem[: len(pem) // 2])  # truncated: BEGIN without END
    t.write("/etc/pki/tls/certs/ca-bundle.crt", "<html>404 Not Found</html>\n")
    t.write("/etc/ssl/ca-bundle.pem", t.pool.der("A") + t.pool.der("B"))  # DER
    t.bundle("/etc/ssl/cert.pem", "CD")
    return _expect(
        backend=D,
        kind="file",
        cafile="/etc/ssl/cert.pem",
        capath=None,
        cert_count=2,
        attempts=[
            (D, CA_CRT, "empty"),
            (D, _TLS, "invalid"),
            (D, "/etc/pki/tls/certs/ca-bundle.crt", "invalid"),
            (D, "/etc/ssl/ca-bundle.pem", "invalid"),
            (D, "/etc/ssl/cert.pem", "used"),
        ],
        details={
            _TLS: "truncated",
            "/etc/ssl/ca-bundle.pem": "DER",
            "/etc/pki/tls/certs/ca-bundle.crt": "no PEM certificate",
        },
        models="An empty, a truncated, a garbage and a DER bundle before a valid one",
        ref="architecture §8",
    )


@layout("edge-garbage-block")
def tree_edge_garbage_block(t: Tree) -> dict[str, Any]:
    bad = "-----BEGIN CERTIFICATE-----\nTUlJQm5vdCBhIGNlcnRpZmljYXRl\n-----END CERTIFICATE-----\n"
    t.write(CA_CRT, t.pool.pem["A"] + bad + t.pool.trusted("M") + t.pool.pem["B"])
    return _expect(
        backend=D,
        kind="data",
        cafile=CA_CRT,
        capath=None,
        cert_count=2,
        attempts=[(D, CA_CRT, "used")],
        details={CA_CRT: "did not parse"},
        models="A bundle with a block that does not parse and a TRUSTED CERTIFICATE block "
        "between two good ones: the good ones are kept, handed over as data",
        ref="architecture §8",
    )


@layout("edge-dangling")
def tree_edge_dangling(t: Tree) -> dict[str, Any]:
    t.link(CA_CRT, "/usr/share/ca-certificates/mozilla/gone.crt")
    t.link("/etc/pki/tls/certs/ca-bundle.crt", "../../ca-trust/extracted/pem/missing.pem")
    t.bundle("/var/lib/ca-certificates/ca-bundle.pem", "AB")
    t.link("/etc/ssl/ca-bundle.pem", "/var/lib/ca-certificates/ca-bundle.pem")
    t.certs("/var/lib/ca-certificates/pem", "AB")
    t.hashed(
        "/etc/ssl/certs", "AB", target=lambda k: f"/var/lib/ca-certificates/pem/{FILE_NAMES[k]}.pem"
    )
    t.link(f"/etc/ssl/certs/{t.pool.hash['C']}.0", "/var/lib/ca-certificates/pem/Root_C.pem")
    return _expect(
        backend=D,
        kind="file",
        cafile="/etc/ssl/ca-bundle.pem",
        capath="/etc/ssl/certs",
        cert_count=2,
        attempts=[
            (D, CA_CRT, "missing"),
            (D, "/etc/pki/tls/certs/ca-bundle.crt", "missing"),
            (D, "/etc/ssl/ca-bundle.pem", "used"),
            (D, "/etc/ssl/certs", "used"),
        ],
        details={CA_CRT: "dangling", "/etc/ssl/certs": "1 dangling"},
        models="Dangling bundle links before a valid one, and one dangling hashed entry",
        ref="architecture §8",
    )


@layout("edge-relative-links")
def tree_edge_relative_links(t: Tree) -> dict[str, Any]:
    t.bundle("/usr/share/pki/bundles/v2/roots.pem", "ABC")
    t.link("/usr/share/pki/current", "bundles/./v2/../v2")
    t.link("/etc/pki-current", "../usr/share/pki/current")
    t.link(CA_CRT, "../../pki-current/roots.pem")
    return _expect(
        backend=D,
        kind="file",
        cafile=CA_CRT,
        capath=None,
        cert_count=3,
        attempts=[(D, CA_CRT, "used")],
        details={CA_CRT: "../../pki-current/roots.pem"},
        models="A chain of relative links, one through a linked directory, with . and ..",
        ref="architecture §8",
    )


@layout("edge-symlink-loop")
def tree_edge_symlink_loop(t: Tree) -> dict[str, Any]:
    t.link(CA_CRT, "loop-a.crt")
    t.link("/etc/ssl/certs/loop-a.crt", "loop-b.crt")
    t.link("/etc/ssl/certs/loop-b.crt", "ca-certificates.crt")
    t.link(_TLS, "tls-ca-bundle.pem")
    t.bundle("/etc/ssl/cert.pem", "AB")
    return _expect(
        backend=D,
        kind="file",
        cafile="/etc/ssl/cert.pem",
        capath=None,
        cert_count=2,
        attempts=[(D, CA_CRT, "invalid"), (D, _TLS, "invalid"), (D, "/etc/ssl/cert.pem", "used")],
        details={CA_CRT: "loop", _TLS: "loop"},
        models="A three-link loop and a self-link before a valid bundle",
        ref="architecture §8",
    )


@layout("edge-fifo")
def tree_edge_fifo(t: Tree) -> dict[str, Any]:
    t.bundle("/etc/ssl/cert.pem", "AB")
    t.mkdir("/etc/ssl/certs")
    return _expect(
        backend=D,
        kind="file",
        cafile="/etc/ssl/cert.pem",
        capath=None,
        cert_count=2,
        attempts=[(D, CA_CRT, "missing"), (D, "/etc/ssl/cert.pem", "used")],
        models="A valid /etc/ssl/cert.pem; the test puts a FIFO at ca-certificates.crt in a copy",
        ref="architecture §2",
    )


@layout("edge-world-writable")
def tree_edge_world_writable(t: Tree) -> dict[str, Any]:
    _debian_like(t, "AB")
    return _expect(
        backend=D,
        kind="file",
        cafile=CA_CRT,
        capath="/etc/ssl/certs",
        cert_count=2,
        attempts=[(D, CA_CRT, "used"), (D, "/etc/ssl/certs", "used")],
        models="A Debian store; the test makes the bundle and the directory world-writable "
        "in a copy",
        ref="architecture §2",
    )


@layout("edge-dev-zero")
def tree_edge_dev_zero(t: Tree) -> dict[str, Any]:
    t.link(CA_CRT, "/dev/zero")
    t.link(_TLS, "/dev/urandom")
    t.bundle("/etc/ssl/cert.pem", "AB")
    return _expect(
        backend=D,
        kind="file",
        cafile="/etc/ssl/cert.pem",
        capath=None,
        cert_count=2,
        attempts=[(D, CA_CRT, "missing"), (D, _TLS, "missing"), (D, "/etc/ssl/cert.pem", "used")],
        models="Bundles linked to /dev/zero and /dev/urandom: inside the root those do not exist "
        "(the test also makes a real device node there when it can)",
        ref="architecture §2",
    )


@layout("edge-escape")
def tree_edge_escape(t: Tree) -> dict[str, Any]:
    # The host has /etc/ssl/certs/ca-certificates.crt; inside the tree it does not exist.
    t.link("/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt")
    t.link(_TLS, "../../../../../../../../../../../etc/ssl/certs/ca-certificates.crt")
    t.bundle("/opt/tree-ca/bundle.pem", "AB")
    t.link("/etc/ssl/ca-bundle.pem", "../../../../../../../../../opt/tree-ca/bundle.pem")
    return _expect(
        backend=D,
        kind="file",
        cafile="/etc/ssl/ca-bundle.pem",
        capath=None,
        cert_count=2,
        attempts=[
            (D, CA_CRT, "missing"),
            (D, _TLS, "missing"),
            (D, "/etc/pki/tls/certs/ca-bundle.crt", "missing"),
            (D, "/etc/ssl/ca-bundle.pem", "used"),
        ],
        models="Absolute and ..-escaping links that lead to the host's real bundle outside the "
        "root: they must resolve inside the tree, as in a chroot",
        ref="--root confinement",
    )


@layout("edge-empty-tree")
def tree_edge_empty_tree(t: Tree) -> dict[str, Any]:
    t.platform(platform="linux")
    return _expect(
        backend="certifi",
        kind="file",
        cafile="<certifi>",
        capath=None,
        cert_count="<certifi>",
        attempts=[("certifi", "<certifi>", "used")],
        models="Nothing but platform.json",
        ref="architecture §2 #10",
    )


# ---- env and config trees (tests/test_env_config.py) -------------------------------------

E = "env"


def _base_debian(t: Tree) -> None:
    _debian_like(t, "AB")


@layout("env-file-missing")
def tree_env_file_missing(t: Tree) -> dict[str, Any]:
    _base_debian(t)
    t.platform(platform="linux", environ={"SSL_CERT_FILE": "/etc/ssl/custom.pem"})
    return _expect(
        backend=None,
        exit_code=1,
        attempts=[(E, "/etc/ssl/custom.pem", "missing")],
        never_used=(CA_CRT,),
        models="SSL_CERT_FILE set to a file that does not exist (a valid system store exists)",
        ref="architecture §8",
    )


@layout("env-file-empty-string")
def tree_env_file_empty_string(t: Tree) -> dict[str, Any]:
    _base_debian(t)
    t.platform(platform="linux", environ={"SSL_CERT_FILE": "", "SSL_CERT_DIR": ""})
    return _expect(
        backend=D,
        kind="file",
        cafile=CA_CRT,
        capath="/etc/ssl/certs",
        cert_count=2,
        attempts=[(E, None, "skipped"), (D, CA_CRT, "used")],
        models="SSL_CERT_FILE and SSL_CERT_DIR set to the empty string: unset",
        ref="architecture §8",
    )


@layout("env-file-empty-file")
def tree_env_file_empty_file(t: Tree) -> dict[str, Any]:
    _base_debian(t)
    t.write("/etc/ssl/empty.pem", "")
    t.platform(platform="linux", environ={"SSL_CERT_FILE": "/etc/ssl/empty.pem"})
    return _expect(
        backend=None,
        exit_code=1,
        attempts=[(E, "/etc/ssl/empty.pem", "empty")],
        never_used=(CA_CRT,),
        models="SSL_CERT_FILE pointing at an empty file",
        ref="architecture §8",
    )


@layout("env-file-good")
def tree_env_file_good(t: Tree) -> dict[str, Any]:
    _base_debian(t)
    t.bundle("/opt/corp/ca.pem", "L")
    t.platform(platform="linux", environ={"SSL_CERT_FILE": "/opt/corp/ca.pem"})
    return _expect(
        backend=E,
        kind="file",
        cafile="/opt/corp/ca.pem",
        capath=None,
        cert_count=1,
        attempts=[(E, "/opt/corp/ca.pem", "used")],
        never_used=(CA_CRT,),
        models="SSL_CERT_FILE naming a valid bundle",
        ref="architecture §8",
    )


@layout("env-dir-list")
def tree_env_dir_list(t: Tree) -> dict[str, Any]:
    _base_debian(t)
    t.certs("/opt/extra/certs", "L")
    t.hashed("/opt/extra/certs", "L")
    t.platform(platform="linux", environ={"SSL_CERT_DIR": ":/etc/ssl/certs::/opt/extra/certs:"})
    return _expect(
        backend=E,
        kind="dir",
        cafile=None,
        capath="/etc/ssl/certs:/opt/extra/certs",
        cert_count=3,
        attempts=[(E, "/etc/ssl/certs", "used"), (E, "/opt/extra/certs", "used")],
        models="SSL_CERT_DIR as a list with empty parts",
        ref="architecture §8",
    )


@layout("env-dir-missing-member")
def tree_env_dir_missing_member(t: Tree) -> dict[str, Any]:
    _base_debian(t)
    t.platform(platform="linux", environ={"SSL_CERT_DIR": "/etc/ssl/certs:/opt/missing/certs"})
    return _expect(
        backend=None,
        exit_code=1,
        attempts=[(E, "/etc/ssl/certs", "used"), (E, "/opt/missing/certs", "missing")],
        never_used=(CA_CRT,),
        models="SSL_CERT_DIR listing a directory that does not exist",
        ref="architecture §8",
    )


@layout("env-requests-only")
def tree_env_requests_only(t: Tree) -> dict[str, Any]:
    _base_debian(t)
    t.bundle("/opt/corp/ca.pem", "L")
    t.platform(
        platform="linux",
        environ={"REQUESTS_CA_BUNDLE": "/opt/corp/ca.pem", "CURL_CA_BUNDLE": "/opt/corp/ca.pem"},
    )
    return _expect(
        backend=D,
        kind="file",
        cafile=CA_CRT,
        capath="/etc/ssl/certs",
        cert_count=2,
        attempts=[
            (E, "/opt/corp/ca.pem", "skipped"),
            (E, "/opt/corp/ca.pem", "skipped"),
            (D, CA_CRT, "used"),
        ],
        models="REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE set: reported, not used",
        ref="architecture §8",
    )


_USER_CFG = "/home/alice/.config/trustresolve"
_SITE_CFG = "/etc/xdg/trustresolve"


def _config_platform(t: Tree, **environ: str) -> None:
    t.platform(platform="linux", environ={"HOME": "/home/alice", **environ})


@layout("config-pin-good")
def tree_config_pin_good(t: Tree) -> dict[str, Any]:
    _base_debian(t)
    t.bundle("/opt/corp/ca.pem", "L")
    t.certs("/opt/corp/certs", "L")
    t.hashed("/opt/corp/certs", "L")
    t.write(
        f"{_SITE_CFG}/trustresolve.ini",
        "[trustresolve]\ncafile = /etc/ssl/certs/ca-certificates.crt\n",
    )
    t.write(
        f"{_USER_CFG}/trustresolve.ini",
        "[trustresolve]\n# relative to this file\n"
        "cafile = ../../../../opt/corp/ca.pem\ncapath = /opt/corp/certs\n",
    )
    _config_platform(t)
    return _expect(
        backend="config",
        kind="file",
        cafile="/opt/corp/ca.pem",
        capath="/opt/corp/certs",
        cert_count=1,
        attempts=[("config", "/opt/corp/ca.pem", "used"), ("config", "/opt/corp/certs", "used")],
        never_used=(CA_CRT,),
        models="A user config file pinning cafile (relative to the file) and capath, over a "
        "site file that pins the system bundle",
        ref="config file",
    )


@layout("config-pin-bad")
def tree_config_pin_bad(t: Tree) -> dict[str, Any]:
    _base_debian(t)
    t.write(f"{_SITE_CFG}/trustresolve.ini", "[trustresolve]\ncafile = /opt/corp/missing.pem\n")
    _config_platform(t)
    return _expect(
        backend=None,
        exit_code=1,
        attempts=[("config", "/opt/corp/missing.pem", "missing")],
        never_used=(CA_CRT,),
        models="A site config file pinning a bundle that does not exist",
        ref="config file",
    )


@layout("config-unknown-key")
def tree_config_unknown_key(t: Tree) -> dict[str, Any]:
    _base_debian(t)
    t.write(f"{_USER_CFG}/trustresolve.ini", "[trustresolve]\ncafiel = /opt/corp/ca.pem\n")
    _config_platform(t)
    return _expect(
        backend=None,
        exit_code=1,
        attempts=[("config", None, "invalid")],
        never_used=(CA_CRT,),
        models="A config file with a misspelt key",
        ref="config file",
    )


@layout("config-env-pinned")
def tree_config_env_pinned(t: Tree) -> dict[str, Any]:
    _base_debian(t)
    t.bundle("/srv/app/ca.pem", "LA")
    t.write("/srv/app/trustresolve.ini", "[trustresolve]\ncafile = ca.pem\n")
    t.write(f"{_USER_CFG}/trustresolve.ini", "[trustresolve]\ncafiel = ignored, not read\n")
    _config_platform(t, TRUSTRESOLVE_CONFIG="/srv/app/trustresolve.ini")
    return _expect(
        backend="config",
        kind="file",
        cafile="/srv/app/ca.pem",
        capath=None,
        cert_count=2,
        attempts=[("config", "/srv/app/ca.pem", "used")],
        never_used=(CA_CRT,),
        models="TRUSTRESOLVE_CONFIG naming the one file to read (the user file is not read)",
        ref="config file",
    )


def build(pool: Pool, names: Iterable[str], *, out: str = HERE) -> dict[str, dict[str, Any]]:
    """(Re)build the trees ``names`` under ``out``; what each should resolve to, by name."""
    expected: dict[str, dict[str, Any]] = {}
    for name in names:
        final = os.path.join(out, name)
        staging = tempfile.mkdtemp(prefix=f".{name}.", dir=out)
        try:
            tree = Tree(staging, pool)
            expected[name] = TREES[name](tree)
            if not os.path.exists(os.path.join(staging, "platform.json")):
                tree.platform(platform="linux")
            if os.path.lexists(final):
                shutil.rmtree(final)
            os.chmod(staging, 0o755)  # noqa: S103 - mkdtemp made it 0700; trees are public
            os.rename(staging, final)
        finally:
            if os.path.exists(staging):
                shutil.rmtree(staging)
    return expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--new-cas", action="store_true", help="mint a new pool of test CAs")
    parser.add_argument(
        "--out",
        default=HERE,
        help="write the trees and expected.json here (default: platform_fixtures/ itself)",
    )
    parser.add_argument("trees", nargs="*", help="only these trees (default: all)")
    args = parser.parse_args(argv)
    if shutil.which("openssl") is None:
        print("make_unix_fixtures: needs the openssl command for subject hashes", file=sys.stderr)
        return 2
    unknown = [n for n in args.trees if n not in TREES]
    if unknown:
        parser.error(f"unknown trees: {', '.join(unknown)}")
    if args.new_cas or not os.path.exists(POOL_FILE):
        _write_pool(_mint_pool())
    pool = Pool(_read_pool())
    os.makedirs(args.out, exist_ok=True)
    names = args.trees or list(TREES)
    expected = build(pool, names, out=args.out)
    expected_file = os.path.join(args.out, "expected.json")
    if args.trees and os.path.exists(expected_file):
        with open(expected_file, encoding="utf-8") as handle:
            merged = json.load(handle)
        merged.update(expected)
        expected = {name: merged[name] for name in TREES if name in merged}
    with open(expected_file, "w", encoding="utf-8") as handle:
        json.dump(expected, handle, indent=2)
        handle.write("\n")
    print(f"built {len(names)} trees; expectations in {os.path.relpath(expected_file)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
