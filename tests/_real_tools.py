"""Trust-store trees made at test time by the real tools, and the two views compared on them.

The tools are Debian's ``update-ca-certificates`` (with ``--sysroot``), p11-kit's ``trust extract``
(the commands Fedora's ``update-ca-trust`` runs), ``openssl rehash`` and ``c_rehash``. A test
skips, naming the package, only when one of these binaries is absent.

The oracle is plain ``ssl`` loading the tree's OpenSSL default paths (``load_verify_locations``
with the tree's cafile and capath); trustresolve's view is ``create_default_context()`` with the
tree resolved through ``PlatformFacts.from_root``. Both are asked the same question: which of the
servers (one per CA: GOOD, HAND, BLOCKED, EMAIL, EVIL) does a handshake verify?
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

import trustresolve
from support.servers import memory_handshake, server_context
from trustresolve._machine.facts import PlatformFacts
from trustresolve._machine.model import Resolution
from trustresolve._store import resolve as _resolve
from trustresolve._store.resolve import probe_all

#: GOOD: a root the tools install. HAND: one an administrator adds by hand. BLOCKED: installed,
#: then distrusted. EMAIL: trusted for e-mail only. EVIL: an attacker's, never installed.
NAMES = ("GOOD", "HAND", "BLOCKED", "EMAIL", "EVIL")
_SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_PACKAGES = {
    "update-ca-certificates": "ca-certificates",
    "trust": "p11-kit",
    "openssl": "openssl",
    "c_rehash": "openssl",
    "setpriv": "util-linux",
}


@dataclass(frozen=True)
class Authority:
    name: str
    ca: trustme.CA
    server: ssl.SSLContext

    @property
    def pem(self) -> bytes:
        return self.ca.cert_pem.bytes()


def make_authorities() -> dict[str, Authority]:
    made = {}
    for name in NAMES:
        ca = trustme.CA(organization_name=f"trustresolve {name}")
        made[name] = Authority(name, ca, server_context(ca.issue_cert("localhost")))
    return made


def need(binary: str) -> str:
    """The path of a tool binary, or skip the test naming the package that provides it."""
    found = shutil.which(binary, path=_SBIN_PATH)
    if found is None:
        pytest.skip(f"{binary} is not installed (Debian package {_PACKAGES[binary]})")
    return found


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {"PATH": _SBIN_PATH, "LC_ALL": "C", "TMPDIR": tempfile.gettempdir()}
    extra = kwargs.pop("env", None)
    if isinstance(extra, Mapping):
        env.update(extra)
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False, timeout=120)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


def verified(context: ssl.SSLContext, authorities: Mapping[str, Authority]) -> set[str]:
    """The names of the servers whose handshake ``context`` verifies."""
    return {
        name
        for name, authority in authorities.items()
        if memory_handshake(context, authority.server, "localhost") is None
    }


def oracle(cafile: Path | None, capath: Path | None) -> ssl.SSLContext:
    """Plain ``ssl`` with the tree's OpenSSL defaults (each only if it exists, as OpenSSL)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    file = str(cafile) if cafile is not None and cafile.exists() else None
    path = str(capath) if capath is not None and capath.is_dir() else None
    if file or path:
        context.load_verify_locations(cafile=file, capath=path)
    return context


def resolve_tree(root: Path) -> Resolution:
    return probe_all(PlatformFacts.from_root(str(root)))


@contextmanager
def resolved_as_machine(resolution: Resolution) -> Iterator[None]:
    """Make ``resolution`` the running machine's, so the public API builds from it."""
    _resolve._cached["current"] = resolution
    try:
        yield
    finally:
        _resolve._cached.clear()


def trustresolve_context(resolution: Resolution) -> ssl.SSLContext:
    with resolved_as_machine(resolution):
        return trustresolve.create_default_context()


def relative_links(root: Path, folder: Path) -> None:
    """Links a tool wrote to absolute paths under ``root`` (``--sysroot``) made relative, so the
    tree reads the same from the host (the oracle) and from inside it (``--root``)."""
    prefix = str(root).rstrip("/") + "/"
    for entry in folder.iterdir():
        if entry.is_symlink():
            target = os.readlink(entry)
            if target.startswith(prefix):
                entry.unlink()
                entry.symlink_to(os.path.relpath(target, folder))


# --- Debian: update-ca-certificates -------------------------------------------------------------


def debian_tree(
    root: Path,
    installed: Mapping[str, bytes],
    deselected: Mapping[str, bytes] = {},
    local: Mapping[str, bytes] = {},
) -> Path:
    """``update-ca-certificates --sysroot ROOT``: ``installed`` and ``deselected`` (``!`` in
    ``/etc/ca-certificates.conf``) under ``/usr/share/ca-certificates``, ``local`` under
    ``/usr/local/share/ca-certificates``. Returns ``/etc/ssl/certs`` of the tree."""
    tool = need("update-ca-certificates")
    need("openssl")
    shared = root / "usr/share/ca-certificates/test"
    shared.mkdir(parents=True)
    lines = []
    for name, pem in installed.items():
        (shared / f"{name}.crt").write_bytes(pem)
        lines.append(f"test/{name}.crt")
    for name, pem in deselected.items():
        (shared / f"{name}.crt").write_bytes(pem)
        lines.append(f"!test/{name}.crt")
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc/ca-certificates.conf").write_text("\n".join(lines) + "\n")
    if local:
        folder = root / "usr/local/share/ca-certificates"
        folder.mkdir(parents=True)
        for name, pem in local.items():
            (folder / f"{name}.crt").write_bytes(pem)
    certs = root / "etc/ssl/certs"
    certs.mkdir(parents=True)
    run([tool, "--sysroot", str(root)])
    relative_links(root, certs)
    return certs


def add_by_hand(certs: Path, name: str, pem: bytes, how: str) -> None:
    """The Dockerfile step: copy a PEM in and ``openssl rehash``/``c_rehash``, or drop a file
    named by its subject hash (``how="hashed-file"``)."""
    if how == "hashed-file":
        openssl = need("openssl")
        (certs / f"{name}.tmp").write_bytes(pem)
        digest = run(
            [openssl, "x509", "-noout", "-subject_hash", "-in", str(certs / f"{name}.tmp")]
        )
        (certs / f"{name}.tmp").unlink()
        number = 0
        while (certs / f"{digest.stdout.strip()}.{number}").exists():
            number += 1
        (certs / f"{digest.stdout.strip()}.{number}").write_bytes(pem)
        return
    (certs / f"{name}.pem").write_bytes(pem)
    if how == "openssl-rehash":
        run([need("openssl"), "rehash", str(certs)])
    elif how == "c_rehash":
        run([need("c_rehash"), str(certs)])
    else:
        raise AssertionError(how)


# --- p11-kit: trust extract ---------------------------------------------------------------------


class P11Kit:
    """A private p11-kit trust module configuration and ``trust extract`` run against it.

    The trust module reads its sources from ``x-init-reserved: paths=...`` in a user module
    config (``~/.config/pkcs11/modules``). p11-kit ignores user configuration in a process
    running as root, so as root the tool runs as ``nobody`` (``setpriv``) in a world-readable
    temporary directory; the outputs are then copied into the test's tree.
    """

    def __init__(self, anchors: Mapping[str, bytes], blocklist: Mapping[str, bytes] = {}) -> None:
        self.trust = need("trust")
        openssl = need("openssl")
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            self.prefix = [need("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups"]
        self.work = Path(tempfile.mkdtemp(prefix="trustresolve-p11-"))
        sources = self.work / "sources"
        (sources / "anchors").mkdir(parents=True)
        (sources / "blocklist").mkdir()
        for name, pem in anchors.items():
            (sources / "anchors" / f"{name}.pem").write_bytes(pem)
        for name, pem in blocklist.items():
            (sources / "blocklist" / f"{name}.pem").write_bytes(pem)
        modules = self.work / "home/.config/pkcs11/modules"
        modules.mkdir(parents=True)
        (modules / "p11-kit-trust.module").write_text(
            "module: p11-kit-trust.so\ntrust-policy: yes\npriority: 1\n"
            f"x-init-reserved: paths={sources}\n"
        )
        self._openssl = openssl
        self.out = self.work / "out"
        self.out.mkdir()
        for folder, _, files in os.walk(self.work):
            os.chmod(folder, 0o755)
            for file in files:
                os.chmod(os.path.join(folder, file), 0o644)
        self.out.chmod(0o777)

    def add_email_only(self, name: str, pem: bytes) -> None:
        """An anchor trusted for e-mail protection only (an OpenSSL TRUSTED CERTIFICATE)."""
        plain = self.work / f"{name}.plain.pem"
        plain.write_bytes(pem)
        target = self.work / "sources" / f"{name}.email.pem"
        trust = ["-addtrust", "emailProtection"]
        run([self._openssl, "x509", "-in", str(plain), *trust, "-out", str(target)])
        target.chmod(0o644)

    def extract(self, fmt: str, dest: Path, *options: str) -> None:
        """``trust extract --format=FMT OPTIONS`` into ``dest`` (a file or a directory)."""
        slot = Path(tempfile.mkdtemp(dir=self.out))  # one per call: trust never overwrites
        slot.chmod(0o777)
        produced = slot / dest.name
        run(
            [*self.prefix, self.trust, "extract", f"--format={fmt}", *options, str(produced)],
            env={"HOME": str(self.work / "home")},
        )
        dest.parent.mkdir(parents=True, exist_ok=True)
        if produced.is_dir():
            shutil.copytree(produced, dest, symlinks=True)
            dest.chmod(0o755)
        else:
            shutil.copyfile(produced, dest)

    def close(self) -> None:
        for folder, dirs, _ in os.walk(self.out):
            for name in dirs:
                os.chmod(os.path.join(folder, name), 0o755)
        shutil.rmtree(self.work, ignore_errors=True)


def fedora_tree(root: Path, p11: P11Kit) -> None:
    """What Fedora's ``update-ca-trust extract`` writes, and the RHEL links around it (relative
    here, so the host sees the same tree as ``--root``)."""
    extracted = root / "etc/pki/ca-trust/extracted"
    server = ("--filter=ca-anchors", "--purpose=server-auth")
    p11.extract("pem-bundle", extracted / "pem/tls-ca-bundle.pem", *server)
    p11.extract(
        "pem-bundle",
        extracted / "pem/email-ca-bundle.pem",
        "--filter=ca-anchors",
        "--purpose=email",
    )
    p11.extract("pem-directory-hash", extracted / "pem/directory-hash", *server)
    p11.extract(
        "openssl-bundle", extracted / "openssl/ca-bundle.trust.crt", "--filter=certificates"
    )
    tls = root / "etc/pki/tls"
    (tls / "certs").mkdir(parents=True)
    (tls / "cert.pem").symlink_to("../ca-trust/extracted/pem/tls-ca-bundle.pem")
    (tls / "certs/ca-bundle.crt").symlink_to("../../ca-trust/extracted/pem/tls-ca-bundle.pem")
    (tls / "certs/ca-bundle.trust.crt").symlink_to(
        "../../ca-trust/extracted/openssl/ca-bundle.trust.crt"
    )
    (root / "etc/ssl").mkdir(parents=True)
    (root / "etc/ssl/certs").symlink_to("../pki/tls/certs")
    (root / "etc/ssl/cert.pem").symlink_to("../pki/tls/cert.pem")
