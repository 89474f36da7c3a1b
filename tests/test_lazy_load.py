"""load_source loads lazily and trusts exactly what the bundle trusts (real loopback handshakes)."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import certifi
import pytest
import trustme
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from support.ca import mint, signed_crl
from support.servers import handshake, tls_server
from trustresolve._errors import TrustSourceLoadError
from trustresolve._machine.model import TrustSource
from trustresolve._tls import load as _load
from trustresolve._x509.der import Certificate
from trustresolve._x509.pem import der_to_pem, scan_pem

A = _ASN1Type


def cn(value: str, kind: _ASN1Type = A.UTF8String) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value, _type=kind)])


@dataclass
class Issued:
    hostname: str
    ca_pem: str  # the CA that must be in the store
    chain_pem: str  # leaf (+ intermediate) as the server sends it
    key_pem: bytes


# (CA subject, the issuer name its children carry): equal names, and names OpenSSL only
# matches through its canonical form (another string type, case, spacing), plus a subject
# that two CAs share (hash files HHHHHHHH.0 and .1).
CA_NAMES = [
    (cn("Lazy Root One"), cn("Lazy Root One")),
    (cn("Lazy Root Two", A.PrintableString), cn("lazy   root two ", A.UTF8String)),
    (cn("Lazy BMP Root Ä", A.BMPString), cn("LAZY bmp ROOT Ä", A.UTF8String)),
    (cn("Teletex Root", A.T61String), cn("teletex root", A.PrintableString)),
    (cn("Twin Root"), cn("Twin Root")),
    (cn("Twin Root"), cn("Twin Root")),
    (
        x509.Name(
            [
                x509.RelativeDistinguishedName(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Multi Org"),
                        x509.NameAttribute(NameOID.COMMON_NAME, "Multi Root"),
                    ]
                )
            ]
        ),
        x509.Name(
            [
                x509.RelativeDistinguishedName(
                    [
                        x509.NameAttribute(NameOID.COMMON_NAME, "multi root"),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MULTI  ORG"),
                    ]
                )
            ]
        ),
    ),
]


@pytest.fixture(scope="module")
def issued() -> list[Issued]:
    """A leaf per CA, and for the first CA also a leaf under an intermediate."""
    out = []
    for index, (subject, issuer_name) in enumerate(CA_NAMES):
        root = mint(subject)
        host = f"leaf{index}.lazy.test"
        leaf = mint(cn(host), issuer=root, issuer_name=issuer_name, hosts=[host])
        out.append(Issued(host, root.pem.decode(), leaf.pem.decode(), leaf.key_pem))
        if index == 0:
            inter = mint(
                cn("Lazy Intermediate"), issuer=root, issuer_name=issuer_name, path_length=0
            )
            leaf = mint(cn("via.lazy.test"), issuer=inter, hosts=["via.lazy.test"])
            chain = (leaf.pem + inter.pem).decode()
            out.append(Issued("via.lazy.test", root.pem.decode(), chain, leaf.key_pem))
    return out


@pytest.fixture(scope="module")
def outsider() -> Issued:
    root = mint(cn("Not In The Bundle"))
    leaf = mint(cn("outsider.lazy.test"), issuer=root, hosts=["outsider.lazy.test"])
    return Issued("outsider.lazy.test", root.pem.decode(), leaf.pem.decode(), leaf.key_pem)


@pytest.fixture(scope="module")
def server(
    issued: list[Issued], outsider: Issued, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int]]:
    """One loopback server; SNI picks which leaf it presents."""
    work = tmp_path_factory.mktemp("server")
    contexts = {}
    for item in [*issued, outsider]:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        chain, key = work / f"{item.hostname}.pem", work / f"{item.hostname}.key"
        chain.write_text(item.chain_pem)
        key.write_bytes(item.key_pem)
        ctx.load_cert_chain(str(chain), str(key))
        contexts[item.hostname] = ctx
    default = next(iter(contexts.values()))

    def pick(sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        if name in contexts:
            sock.context = contexts[name]

    default.sni_callback = pick  # type: ignore[assignment]
    with tls_server(default) as address:
        yield address


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("TRUSTRESOLVE_CACHE_DIR", str(root))
    _load._plans.clear()
    return root


@pytest.fixture
def bundle(tmp_path: Path, issued: list[Issued]) -> Path:
    """certifi's roots plus the test CAs, like SSL_CERT_FILE on a bundle-only system."""
    path = tmp_path / "bundle.pem"
    cas = dict.fromkeys(item.ca_pem for item in issued)
    path.write_text(Path(certifi.where()).read_text() + "".join(cas))
    return path


def client(source: TrustSource) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _load.load_source(ctx, source)
    return ctx


def eager(source: TrustSource) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=source.cafile, capath=source.capath, cadata=source.cadata)
    return ctx


def verifies(ctx: ssl.SSLContext, address: tuple[str, int], hostname: str) -> bool:
    try:
        handshake(ctx, address, hostname)
    except ssl.SSLCertVerificationError:
        return False
    return True


def plan(source: TrustSource) -> _load._Plan:
    return _load._plan_for(source)


def test_bundle_is_loaded_as_a_materialized_hashed_dir(
    bundle: Path, private_cache: Path, server: tuple[str, int], issued: list[Issued]
) -> None:
    source = TrustSource(backend="env", kind="file", cafile=str(bundle), cert_count=0)
    ctx = client(source)
    (capath,) = plan(source).capaths
    assert capath.startswith(str(private_cache))
    assert ctx.get_ca_certs() == []  # nothing parsed yet: that is the point
    assert verifies(ctx, server, issued[0].hostname)
    assert len(ctx.get_ca_certs()) == 1  # only the issuer the handshake needed


def test_same_certificates_trusted_as_the_bundle(
    bundle: Path, server: tuple[str, int], issued: list[Issued], outsider: Issued
) -> None:
    source = TrustSource(backend="env", kind="file", cafile=str(bundle))
    lazy, reference = client(source), eager(source)
    for item in issued:  # every test CA verifies what it issued, one fresh context each
        assert verifies(client(source), server, item.hostname), item.hostname
        assert verifies(reference, server, item.hostname), item.hostname
    assert not verifies(lazy, server, outsider.hostname)
    assert not verifies(reference, server, outsider.hostname)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_every_bundle_root_is_findable(bundle: Path, private_cache: Path) -> None:
    # certifi's roots have no keys here, so ask OpenSSL itself to find each one: verifying a
    # root's own certificate against the lazy directory succeeds only if by_dir finds it.
    source = TrustSource(backend="env", kind="file", cafile=str(bundle))
    (capath,) = plan(source).capaths
    roots = bundle.read_text().count("BEGIN CERTIFICATE")
    work = private_cache.parent / "one"
    work.mkdir()
    failed = []
    for index, block in enumerate(bundle.read_text().split("-----END CERTIFICATE-----")[:-1]):
        pem = work / f"{index}.pem"
        pem.write_text(block + "-----END CERTIFICATE-----\n")
        run = subprocess.run(
            [
                "openssl",
                "verify",
                "-no-CAfile",
                "-CApath",
                capath,
                "-partial_chain",
                "-no_check_time",
                str(pem),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            failed.append((index, run.stdout + run.stderr))
    assert failed == []
    assert index + 1 == roots


def _rehashed_store(tmp_path: Path, issued: list[Issued]) -> Path:
    """A Debian-like store: one file per CA, ``openssl rehash``'s links, and the bundle."""
    store = tmp_path / "certs"
    store.mkdir()
    cas = list(dict.fromkeys(item.ca_pem for item in issued))
    for index, pem in enumerate(cas):
        (store / f"ca{index}.pem").write_text(pem)
    subprocess.run(["openssl", "rehash", str(store)], check=True, capture_output=True)
    (store / "ca-certificates.crt").write_text("".join(cas))
    return store


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_store_with_matching_hashed_dir_uses_it(
    tmp_path: Path, issued: list[Issued], server: tuple[str, int], private_cache: Path
) -> None:
    store = _rehashed_store(tmp_path, issued)
    source = TrustSource(
        backend="distro",
        kind="file",
        cafile=str(store / "ca-certificates.crt"),
        capath=str(store),
    )
    assert plan(source).capaths == (str(store),)
    assert all(verifies(client(source), server, item.hostname) for item in issued)

    # A store whose directory misses a certificate of the bundle is not used alone.
    link = next(p for p in store.iterdir() if p.is_symlink() and p.name.endswith(".1"))
    link.unlink()
    _load._plans.clear()
    capaths = plan(source).capaths
    assert capaths[0].startswith(str(private_cache)) and capaths[1:] == (str(store),)
    assert all(verifies(client(source), server, item.hostname) for item in issued)


def test_changed_bundle_is_noticed(
    tmp_path: Path, issued: list[Issued], server: tuple[str, int]
) -> None:
    path = tmp_path / "changing.pem"
    path.write_text(issued[0].ca_pem)
    source = TrustSource(backend="env", kind="file", cafile=str(path))
    assert verifies(client(source), server, issued[0].hostname)
    assert not verifies(client(source), server, issued[2].hostname)
    path.write_text(issued[2].ca_pem + issued[3].ca_pem)
    assert verifies(client(source), server, issued[2].hostname)
    assert not verifies(client(source), server, issued[0].hostname)


def test_cadata_and_native_fallback_are_lazy(
    issued: list[Issued], server: tuple[str, int], private_cache: Path, outsider: Issued
) -> None:
    cadata = "".join(dict.fromkeys(item.ca_pem for item in issued))
    snapshot = TrustSource(backend="windows", kind="data", cadata=cadata)
    native = TrustSource(backend="native", kind="native", fallback=snapshot)
    for source in (snapshot, native):
        ctx = client(source)
        assert ctx.get_ca_certs() == []
        assert verifies(ctx, server, issued[1].hostname)
        assert not verifies(ctx, server, outsider.hostname)
    assert plan(snapshot).capaths[0].startswith(str(private_cache))
    client(TrustSource(backend="native", kind="native"))  # nothing to load, no error


@pytest.mark.parametrize(
    "extra",
    [
        "-----BEGIN TRUSTED CERTIFICATE-----\nMIIB\n-----END TRUSTED CERTIFICATE-----\n",
        "-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n",
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE----- \nodd framing\n-----END CERTIFICATE-----\n",
    ],
)
def test_bundles_a_hashed_dir_cannot_reproduce_load_as_given(
    tmp_path: Path, issued: list[Issued], extra: str
) -> None:
    path = tmp_path / "odd.pem"
    path.write_text(issued[0].ca_pem + extra)
    source = TrustSource(backend="env", kind="file", cafile=str(path))
    assert plan(source).eager
    # ...and so behaves exactly as loading the file always did, error or not.
    try:
        eager(source)
    except ssl.SSLError:
        with pytest.raises(TrustSourceLoadError):
            client(source)
    else:
        client(source)


def test_capath_only_source_is_loaded_as_given(tmp_path: Path) -> None:
    source = TrustSource(backend="env", kind="dir", capath=str(tmp_path))
    assert plan(source).eager
    client(source)


def test_missing_bundle_keeps_the_error_wrapping(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(TrustSourceLoadError, match=r"nope\.pem") as info:
        client(TrustSource(backend="env", kind="file", cafile=missing))
    assert info.value.backend == "env"
    assert info.value.path == missing


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_unusable_cache_warns_and_loads_eagerly(
    bundle: Path, private_cache: Path, server: tuple[str, int], issued: list[Issued]
) -> None:
    private_cache.mkdir(mode=0o777)
    os.chmod(private_cache, 0o777)
    source = TrustSource(backend="env", kind="file", cafile=str(bundle))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ctx = client(source)
    assert plan(source).eager
    assert any(str(private_cache) in str(w.message) for w in caught)
    assert verifies(ctx, server, issued[0].hostname)
    assert os.listdir(private_cache) == []


def test_materialized_dir_deleted_mid_process_is_rebuilt(
    bundle: Path, server: tuple[str, int], issued: list[Issued]
) -> None:
    source = TrustSource(backend="env", kind="file", cafile=str(bundle))
    (capath,) = plan(source).capaths
    shutil.rmtree(capath)
    assert verifies(client(source), server, issued[0].hostname)
    assert os.path.isdir(capath)


def test_threads_share_one_plan(
    bundle: Path, server: tuple[str, int], issued: list[Issued]
) -> None:
    source = TrustSource(backend="env", kind="file", cafile=str(bundle))
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            item = issued[index % len(issued)]
            assert verifies(client(source), server, item.hostname)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.parametrize("loader", ["lazy", "eager"])
def test_crl_file_still_revokes_with_lazy_loading(tmp_path: Path, loader: str) -> None:
    ca = trustme.CA()
    good, bad = ca.issue_cert("good.crl.test"), ca.issue_cert("revoked.crl.test")
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(Path(certifi.where()).read_text() + ca.cert_pem.bytes().decode())
    crl = tmp_path / "crl.pem"
    crl.write_bytes(signed_crl(ca, [bad]))

    contexts = {}
    for leaf, host in ((good, "good.crl.test"), (bad, "revoked.crl.test")):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf.configure_cert(ctx)
        contexts[host] = ctx
    server_ctx = contexts["good.crl.test"]

    def pick(sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        if name in contexts:
            sock.context = contexts[name]

    server_ctx.sni_callback = pick  # type: ignore[assignment]
    source = TrustSource(backend="env", kind="file", cafile=str(bundle))

    def crl_client() -> ssl.SSLContext:
        ctx = client(source) if loader == "lazy" else eager(source)
        ctx.load_verify_locations(cafile=str(crl))
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        return ctx

    with tls_server(server_ctx) as address:
        handshake(crl_client(), address, "good.crl.test")
        with pytest.raises(ssl.SSLCertVerificationError, match="revoked"):
            handshake(crl_client(), address, "revoked.crl.test")
    if loader == "lazy":
        assert not plan(source).eager


def _scanned(data: bytes) -> Certificate | None:
    """What a full scan says a hashed file holds: its one certificate, or ``None``."""
    certs = _load._clean(data)
    return certs[0] if certs and len(certs) == 1 else None


def test_a_lone_certificate_file_is_known_without_scanning_it(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hashed file framed as the rehash tools write one (one block, BEGIN line first, END line
    last) gives the certificate a scan would give; any other bytes get the scan's answer."""
    ders = [cert.der for cert in scan_pem(bundle.read_bytes()).certificates]
    files = [der_to_pem(der).encode("ascii") for der in ders]
    answers = {data: _scanned(data) for data in files}
    pem = files[0]
    lines = pem.splitlines()
    body = b"".join(lines[1:-1])
    bad_body = lines[1][:-4] + b"!!!!"
    variants = {
        "CRLF line ends": pem.replace(b"\n", b"\r\n"),
        "76-column lines": b"\n".join(
            [lines[0], *(body[i : i + 76] for i in range(0, len(body), 76)), lines[-1], b""]
        ),
        "two blocks": pem + pem,
        "text before the block": b"# a comment\n" + pem,
        "text after the block": pem + b"# a comment\n",
        "trust settings": pem.replace(b"CERTIFICATE", b"TRUSTED CERTIFICATE"),
        "no final newline": pem.rstrip(b"\n"),
        "END not at a line start": pem.replace(b"\n-----END", b"-----END"),
        "a marker inside": pem.replace(lines[2], b"-----BEGIN CERTIFICATE-----"),
        "not base64": pem.replace(lines[1], bad_body),
        "not a certificate": der_to_pem(b"\x30\x03\x02\x01\x01").encode("ascii"),
        "empty body": b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
    }
    answers.update((data, _scanned(data)) for data in variants.values())
    assert all(answers[data] is not None for data in files)
    # Framed alike, so answered without a scan: the canonical files and the 76-column one.
    lone = {*files, variants["76-column lines"]}
    scans: list[bytes] = []
    real_clean = _load._clean

    def counting_clean(data: bytes) -> tuple[Certificate, ...] | None:
        scans.append(data)
        return real_clean(data)

    monkeypatch.setattr(_load, "_clean", counting_clean)
    for data, expected in answers.items():
        scans.clear()
        assert _load._one_certificate(data) == expected, data[:40]
        if data in lone:
            assert not scans, data[:40]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_a_handed_listing_serves_only_the_plan_that_follows_it(
    tmp_path: Path, issued: list[Issued]
) -> None:
    """plan_dependencies hands its listing to the plan it precedes; when that plan was made
    before (a cached plan), the listing is dropped, so no later plan takes it as its own."""
    store = _rehashed_store(tmp_path, issued)
    source = TrustSource(
        backend="distro", kind="file", cafile=str(store / "ca-certificates.crt"), capath=str(store)
    )
    first = plan(source)
    _load.plan_dependencies(source)
    assert str(store) in _load._listed  # handed over
    assert plan(source) is first  # the cached plan: nothing took the listing
    assert _load._listed == {}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_an_openssl_rehash_layout_is_checked_without_scanning_its_files(
    tmp_path: Path, issued: list[Issued], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The layout ``openssl rehash`` makes: only the bundle is scanned, not its 150 links."""
    store = _rehashed_store(tmp_path, issued)
    scanned: list[bytes] = []
    real_clean = _load._clean

    def counting_clean(data: bytes) -> tuple[Certificate, ...] | None:
        scanned.append(data)
        return real_clean(data)

    monkeypatch.setattr(_load, "_clean", counting_clean)
    source = TrustSource(
        backend="distro", kind="file", cafile=str(store / "ca-certificates.crt"), capath=str(store)
    )
    assert plan(source).capaths == (str(store),)
    assert scanned == [(store / "ca-certificates.crt").read_bytes()]
