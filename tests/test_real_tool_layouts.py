"""Store fidelity: trustresolve trusts what the platform's own OpenSSL trusts, on layouts built by
the real tools at test time (``update-ca-certificates``, p11-kit ``trust extract``, ``openssl
rehash``, ``c_rehash``), on the paths the peers probe (Go, openssl-probe, curl), with same-subject
CAs in either order, and with stores larger than 16 MiB.

Every layout is checked with real handshakes against five CAs (see ``tests/_real_tools.py``):
plain ``ssl`` with the tree's OpenSSL defaults is the oracle, and trustresolve's context must
verify exactly the servers the oracle verifies.
"""

from __future__ import annotations

import datetime
import json
import os
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from _real_tools import (
    Authority,
    P11Kit,
    add_by_hand,
    debian_tree,
    fedora_tree,
    make_authorities,
    need,
    oracle,
    resolve_tree,
    run,
    trustresolve_context,
    verified,
)
from support.servers import memory_handshake
from trustresolve._machine.fs import MAX_BUNDLE_BYTES
from trustresolve._machine.model import Resolution


@pytest.fixture(scope="module")
def cas() -> dict[str, Authority]:
    return make_authorities()


def pems(cas: dict[str, Authority], *names: str) -> dict[str, bytes]:
    return {name: cas[name].pem for name in names}


def attempt_detail(resolution: Resolution, location: str) -> str:
    return " | ".join(
        f"{a.outcome}: {a.detail}" for a in resolution.attempts if a.location == location
    )


def same_as_openssl(
    root: Path, cas: dict[str, Authority], cafile: str | None, capath: str | None
) -> tuple[set[str], Resolution]:
    """What the oracle verifies on the tree, asserted equal to trustresolve's context."""
    want = verified(
        oracle(
            root / cafile.lstrip("/") if cafile else None,
            root / capath.lstrip("/") if capath else None,
        ),
        cas,
    )
    resolution = resolve_tree(root)
    got = verified(trustresolve_context(resolution), cas)
    assert got == want, resolution.explain()
    return want, resolution


# --- Debian: update-ca-certificates, and CAs added by hand ----------------------------------------

DEBIAN_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
DEBIAN_DIR = "/etc/ssl/certs"


def test_debian_update_ca_certificates(tmp_path: Path, cas: dict[str, Authority]) -> None:
    """GOOD installed, BLOCKED deselected (``!`` in ca-certificates.conf): the bundle and the
    hashed directory carry the same trust set, so the directory stands in for the bundle."""
    debian_tree(tmp_path, pems(cas, "GOOD"), deselected=pems(cas, "BLOCKED"))
    want, resolution = same_as_openssl(tmp_path, cas, DEBIAN_BUNDLE, DEBIAN_DIR)
    assert want == {"GOOD"}
    assert resolution.source is not None
    assert resolution.source.display_capath == DEBIAN_DIR
    assert "same trust set as the bundle" in attempt_detail(resolution, DEBIAN_DIR)


def test_debian_local_certificate(tmp_path: Path, cas: dict[str, Authority]) -> None:
    """/usr/local/share/ca-certificates: in the bundle and the directory alike."""
    debian_tree(tmp_path, pems(cas, "GOOD"), local=pems(cas, "HAND"))
    want, resolution = same_as_openssl(tmp_path, cas, DEBIAN_BUNDLE, DEBIAN_DIR)
    assert want == {"GOOD", "HAND"}
    assert resolution.source is not None and resolution.source.cafile_complete


@pytest.mark.parametrize("how", ["openssl-rehash", "c_rehash", "hashed-file"])
def test_ca_added_by_hand_to_etc_ssl_certs(
    tmp_path: Path, cas: dict[str, Authority], how: str
) -> None:
    """The Dockerfile step (copy a PEM in, then rehash; or drop a ``HHHHHHHH.0`` file in):
    OpenSSL, Go and rustls-native-certs trust it, and so does trustresolve (the union)."""
    certs = debian_tree(tmp_path, pems(cas, "GOOD"), deselected=pems(cas, "BLOCKED"))
    add_by_hand(certs, "HAND", cas["HAND"].pem, how)
    want, resolution = same_as_openssl(tmp_path, cas, DEBIAN_BUNDLE, DEBIAN_DIR)
    assert want == {"GOOD", "HAND"}
    source = resolution.source
    assert source is not None
    assert source.display_capath == DEBIAN_DIR
    assert source.cert_count == 2 and not source.cafile_complete
    assert cas["HAND"].ca.cert_pem.bytes() in Path(trustresolve_where(resolution)).read_bytes()
    detail = attempt_detail(resolution, DEBIAN_DIR)
    assert "adds 1 certificate the bundle lacks" in detail
    assert "O=trustresolve HAND" in detail
    assert "adds 1 certificate" in resolution.explain()  # what --which prints


def trustresolve_where(resolution: Resolution) -> str:
    from trustresolve._store.resolve import where

    return where(resolution)


def test_stale_directory_is_still_not_used(tmp_path: Path, cas: dict[str, Authority]) -> None:
    """A directory hashed from other roots (lacking the bundle's) is not a hand addition."""
    # Two roots, so `openssl rehash` does not link the bundle file itself (one certificate each).
    certs = debian_tree(tmp_path, pems(cas, "GOOD", "HAND"))
    for entry in certs.iterdir():
        if entry.name != "ca-certificates.crt":
            entry.unlink()
    add_by_hand(certs, "EVIL", cas["EVIL"].pem, "openssl-rehash")
    resolution = resolve_tree(tmp_path)
    assert resolution.source is not None and resolution.source.display_capath is None
    assert verified(trustresolve_context(resolution), cas) == {"GOOD", "HAND"}
    assert "stale" in attempt_detail(resolution, DEBIAN_DIR)


def test_rehashed_directory_alone(tmp_path: Path, cas: dict[str, Authority]) -> None:
    """A directory of PEM files run through ``openssl rehash``, no bundle (Alpine's full
    ca-certificates trigger without the bundle package)."""
    certs = tmp_path / "etc/ssl/certs"
    certs.mkdir(parents=True)
    for name in ("GOOD", "HAND"):
        (certs / f"{name}.pem").write_bytes(cas[name].pem)
    run([need("openssl"), "rehash", str(certs)])
    want, resolution = same_as_openssl(tmp_path, cas, None, DEBIAN_DIR)
    assert want == {"GOOD", "HAND"}
    assert resolution.source is not None and resolution.source.kind == "dir"


# --- Fedora/RHEL: p11-kit trust extract ---------------------------------------------------------

RH_CAFILE = "/etc/pki/tls/cert.pem"  # Red Hat OpenSSL's defaults (OPENSSLDIR /etc/pki/tls)
RH_CAPATH = "/etc/pki/tls/certs"
RH_HASH = "/etc/pki/ca-trust/extracted/pem/directory-hash"


@pytest.fixture
def p11(cas: dict[str, Authority]) -> Iterator[P11Kit]:
    tool = P11Kit(pems(cas, "GOOD", "BLOCKED"), blocklist=pems(cas, "BLOCKED"))
    tool.add_email_only("EMAIL", cas["EMAIL"].pem)
    yield tool
    tool.close()


def hand_add_hashed(folder: Path, pem: bytes) -> None:
    folder.chmod(0o755)  # trust extract leaves its directories read-only
    add_by_hand(folder, "HAND", pem, "hashed-file")


def test_fedora_trust_extract(tmp_path: Path, cas: dict[str, Authority], p11: P11Kit) -> None:
    """tls-ca-bundle.pem holds GOOD only (BLOCKED is blocklisted, EMAIL is for e-mail); the
    directory-hash p11-kit writes (two links per certificate: the subject hash and the old
    MD5 one) is paired with it, so roots load lazily."""
    fedora_tree(tmp_path, p11)
    hashed = sorted(p.name for p in (tmp_path / RH_HASH.lstrip("/")).iterdir() if p.is_symlink())
    assert len(hashed) == 2  # one certificate, two hash links
    want, resolution = same_as_openssl(tmp_path, cas, RH_CAFILE, RH_CAPATH)
    assert want == {"GOOD"}
    source = resolution.source
    assert source is not None and source.cert_count == 1
    assert source.display_capath == RH_HASH
    assert "same trust set as the bundle" in attempt_detail(resolution, RH_HASH)
    email = (tmp_path / "etc/pki/ca-trust/extracted/pem/email-ca-bundle.pem").read_bytes()
    assert cas["EMAIL"].pem in email  # the e-mail root exists, in the bundle it belongs to


def test_fedora_hand_added_to_the_openssl_capath(
    tmp_path: Path, cas: dict[str, Authority], p11: P11Kit
) -> None:
    """A hashed file dropped into /etc/pki/tls/certs: Red Hat's OpenSSL reads it beside the
    bundle (as Go and openssl-probe do), so trustresolve trusts the union."""
    fedora_tree(tmp_path, p11)
    hand_add_hashed(tmp_path / RH_CAPATH.lstrip("/"), cas["HAND"].pem)
    want, resolution = same_as_openssl(tmp_path, cas, RH_CAFILE, RH_CAPATH)
    assert want == {"GOOD", "HAND"}
    assert resolution.source is not None and resolution.source.display_capath == RH_CAPATH
    assert "adds 1 certificate the bundle lacks" in attempt_detail(resolution, RH_CAPATH)


def test_fedora_hand_added_to_directory_hash_is_not_trusted(
    tmp_path: Path, cas: dict[str, Authority], p11: P11Kit
) -> None:
    """directory-hash is not Red Hat OpenSSL's CApath: what is added there is not trusted."""
    fedora_tree(tmp_path, p11)
    hand_add_hashed(tmp_path / RH_HASH.lstrip("/"), cas["HAND"].pem)
    want, resolution = same_as_openssl(tmp_path, cas, RH_CAFILE, RH_CAPATH)
    assert want == {"GOOD"}
    assert resolution.source is not None and resolution.source.display_capath is None
    assert "not trusted" in attempt_detail(resolution, RH_HASH)


def openssl_format_tree(tmp_path: Path, p11: P11Kit, fmt: str) -> tuple[str | None, str | None]:
    if fmt == "openssl-bundle":  # Fedora's ca-bundle.trust.crt as the only bundle
        p11.extract(fmt, tmp_path / "etc/ssl/cert.pem", "--filter=certificates")
        return "/etc/ssl/cert.pem", None
    p11.extract(fmt, tmp_path / "etc/ssl/certs", "--filter=certificates")
    return None, "/etc/ssl/certs"


@pytest.mark.parametrize("fmt", ["openssl-bundle", "openssl-directory"])
def test_openssl_trust_formats_oracle(
    tmp_path: Path, cas: dict[str, Authority], p11: P11Kit, fmt: str
) -> None:
    """What OpenSSL itself makes of these TRUSTED CERTIFICATE blocks: the e-mail-only trust bits
    keep EMAIL from verifying a server. p11-kit writes a blocklisted anchor with neither trusted
    nor rejected uses ("--filter=certificates"), so OpenSSL still trusts BLOCKED from these
    files; trustresolve must do what OpenSSL does, whichever way that goes."""
    cafile, capath = openssl_format_tree(tmp_path, p11, fmt)
    context = oracle(
        tmp_path / cafile.lstrip("/") if cafile else None,
        tmp_path / capath.lstrip("/") if capath else None,
    )
    assert verified(context, cas) == {"GOOD", "BLOCKED"}


@pytest.mark.parametrize("fmt", ["openssl-bundle", "openssl-directory"])
def test_openssl_trust_formats(
    tmp_path: Path, cas: dict[str, Authority], p11: P11Kit, fmt: str
) -> None:
    cafile, capath = openssl_format_tree(tmp_path, p11, fmt)
    want, _ = same_as_openssl(tmp_path, cas, cafile, capath)
    assert "GOOD" in want and "EMAIL" not in want


# --- Same subject, no key identifiers: the store's order decides -------------------------------


def _twin_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trustresolve Twin CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _twin_server(
    tmp_path: Path, key: ec.EllipticCurvePrivateKey, ca: x509.Certificate
) -> ssl.SSLContext:
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    chain = tmp_path / "leaf.pem"
    chain.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM)
        + leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(chain))
    return server


def test_same_subject_cas_keep_the_store_order(tmp_path: Path) -> None:
    """Two CAs with one subject and no key identifiers; only the first signed the leaf.

    OpenSSL tries them in bundle order: the signer first verifies, the signer second does not.
    The materialized hashed directory must number them the same way (``.0`` then ``.1``), or
    trustresolve's lazily loaded context verifies where the bundle does not, or the reverse.
    """
    signer_key, signer = _twin_ca()
    _, other = _twin_ca()
    server = _twin_server(tmp_path, signer_key, signer)
    results = {}
    for label, order in (("signer first", [signer, other]), ("signer second", [other, signer])):
        root = tmp_path / label.replace(" ", "-")
        bundle = root / DEBIAN_BUNDLE.lstrip("/")
        bundle.parent.mkdir(parents=True)
        bundle.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in order))
        plain = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        plain.load_verify_locations(cafile=str(bundle))
        resolution = resolve_tree(root)
        ours = trustresolve_context(resolution)
        # 3.13's defaults add VERIFY_X509_STRICT, which refuses CAs without key identifiers;
        # the question here is the order, so both contexts verify with the same flags.
        ours.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
        plain.verify_flags = ours.verify_flags
        want = memory_handshake(plain, server, "localhost") is None
        got = memory_handshake(ours, server, "localhost") is None
        assert got == want, (label, resolution.explain())
        results[label] = want
    assert results == {"signer first": True, "signer second": False}
    cache = os.environ["TRUSTRESOLVE_CACHE_DIR"]
    assert len([n for n in os.listdir(cache) if n.startswith("hashed-")]) >= 2


# --- Paths the peers probe ----------------------------------------------------------------------


def _tree(root: Path, platform: str, environ: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "platform.json").write_text(
        json.dumps({"platform": platform, "environ": environ or {}})
    )
    return root


def _hashed(folder: Path, *pem_list: bytes) -> None:
    folder.mkdir(parents=True)
    for index, pem in enumerate(pem_list):
        (folder / f"ca{index}.pem").write_bytes(pem)
    run([need("openssl"), "rehash", str(folder)])


@pytest.mark.parametrize(
    ("platform", "environ", "bundle", "directory"),
    [
        # Go root_linux.go and openssl-probe read a hashed-only /etc/pki/tls/certs.
        ("linux", {}, None, "/etc/pki/tls/certs"),
        # curl's CURL_CHECK_CA_BUNDLE finds MidnightBSD's ca_root_nss bundle.
        ("midnightbsd3", {}, "/usr/local/share/certs/ca-root-nss.crt", None),
        # Termux with $PREFIX unset: openssl-probe's literal path, Termux OpenSSL's default.
        ("android", {}, "/data/data/com.termux/files/usr/etc/tls/cert.pem", None),
        (
            "linux",
            {"ANDROID_ROOT": "/system"},
            "/data/data/com.termux/files/usr/etc/tls/cert.pem",
            None,
        ),
        # NetBSD with only /etc/ssl/cert.pem: Go's BSD table reads it.
        ("netbsd10", {}, "/etc/ssl/cert.pem", None),
        # OpenBSD and DragonFly (LibreSSL, CApath /etc/ssl/certs) with only the hashed directory.
        ("openbsd7", {}, None, "/etc/ssl/certs"),
        ("dragonfly6", {}, None, "/etc/ssl/certs"),
    ],
)
def test_paths_the_peers_probe(
    tmp_path: Path,
    cas: dict[str, Authority],
    platform: str,
    environ: dict[str, str],
    bundle: str | None,
    directory: str | None,
) -> None:
    root = _tree(tmp_path / "tree", platform, environ)
    if bundle:
        (root / bundle.lstrip("/")).parent.mkdir(parents=True)
        (root / bundle.lstrip("/")).write_bytes(cas["GOOD"].pem + cas["HAND"].pem)
    if directory:
        _hashed(root / directory.lstrip("/"), cas["GOOD"].pem, cas["HAND"].pem)
    want, resolution = same_as_openssl(root, cas, bundle, directory)
    assert want == {"GOOD", "HAND"}
    source = resolution.source
    assert source is not None and source.backend == "distro", resolution.explain()
    assert source.display_cafile == bundle and source.display_capath == directory


# --- Stores over 16 MiB -------------------------------------------------------------------------


def test_store_over_16_mib_is_used(tmp_path: Path, cas: dict[str, Authority]) -> None:
    """A corporate store past the old 16 MiB read cap: ``ssl`` loads it, so must trustresolve.

    Bulk here is comment text between the blocks (OpenSSL and trustresolve skip it alike), so
    the test stays fast; benchmarks/bench.py measures 20,000 real certificates.
    """
    root = tmp_path / "tree"
    bundle = root / DEBIAN_BUNDLE.lstrip("/")
    bundle.parent.mkdir(parents=True)
    filler = b"# a corporate CA bundle carries long comments between its certificates\n"
    with open(bundle, "wb") as out:
        out.write(cas["GOOD"].pem)
        out.write(filler * (17 * 1024 * 1024 // len(filler) + 1))
        out.write(cas["HAND"].pem)
    assert 16 * 1024 * 1024 < bundle.stat().st_size < MAX_BUNDLE_BYTES
    want, resolution = same_as_openssl(root, cas, DEBIAN_BUNDLE, None)
    assert want == {"GOOD", "HAND"}
    assert resolution.source is not None and resolution.source.cert_count == 2


# --- The old (MD5) subject hash -----------------------------------------------------------------


def test_old_subject_hash_matches_openssl(tmp_path: Path, cas: dict[str, Authority]) -> None:
    from trustresolve._x509.pem import scan_pem
    from trustresolve._x509.subject_hash import subject_hash_old

    openssl = need("openssl")
    system = Path("/etc/ssl/certs/ca-certificates.crt")
    pem_list = [authority.pem for authority in cas.values()]
    if system.is_file():
        pem_list += [
            c.encode() + b"-----END CERTIFICATE-----\n"
            for c in system.read_text().split("-----END CERTIFICATE-----\n")[:40]
            if "BEGIN" in c
        ]
    for index, pem in enumerate(pem_list):
        path = tmp_path / f"{index}.pem"
        path.write_bytes(pem)
        printed = run([openssl, "x509", "-noout", "-subject_hash_old", "-in", str(path)])
        der = scan_pem(pem).certificates[0].der
        assert subject_hash_old(der) == printed.stdout.strip()
