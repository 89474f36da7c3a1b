"""What a PEM file's blocks mean: the scanner, CRL files, TRUSTED CERTIFICATE trust, stores
OpenSSL cannot load, and directories whose path OpenSSL would split.

Trust is proven with real handshakes against loopback servers: GOOD's server must verify where
the store trusts GOOD, and EVIL's server must never verify where a file was meant to keep EVIL
out (each such test also shows that plain OpenSSL *would* have trusted EVIL, so it can fail).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from support.servers import TLSServer, server_context
from trustresolve import ConfigurationError, NoTrustStoreError, context_from_options
from trustresolve._machine.facts import PlatformFacts
from trustresolve._machine.model import Resolution, TrustSource
from trustresolve._store.resolve import probe_all
from trustresolve._tls.load import load_source
from trustresolve._x509.der import parse_certificate
from trustresolve._x509.loadable import openssl_refuses
from trustresolve._x509.pem import read_blocks, scan_pem
from trustresolve._x509.subject_hash import name_hash

HOST = "trust.test"
REPO = Path(__file__).resolve().parent.parent


# --- CAs and servers -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good() -> trustme.CA:
    return trustme.CA(organization_name="GOOD")


@pytest.fixture(scope="module")
def evil() -> trustme.CA:
    return trustme.CA(organization_name="EVIL")


def _serve(ca: trustme.CA) -> Iterator[TLSServer]:
    with TLSServer(server_context(ca.issue_cert(HOST))) as server:
        yield server


@pytest.fixture(scope="module")
def good_server(good: trustme.CA) -> Iterator[TLSServer]:
    yield from _serve(good)


@pytest.fixture(scope="module")
def evil_server(evil: trustme.CA) -> Iterator[TLSServer]:
    yield from _serve(evil)


def verifies(context: ssl.SSLContext, server: TLSServer) -> bool:
    """Whether ``context`` completes a verified handshake with ``server`` on 127.0.0.1."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=HOST):
                return True
        except ssl.SSLCertVerificationError:
            return False


def store_context(source: TrustSource) -> ssl.SSLContext:
    """A client context loaded the way trustresolve loads a resolved store."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    load_source(context, source)
    return context


def openssl_context(cafile: Path) -> ssl.SSLContext:
    """What plain OpenSSL makes of the same file (the control)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(cafile))
    return context


def env_resolution(**environ: str) -> Resolution:
    return probe_all(PlatformFacts(platform="linux", environ=environ, root="/", config_dirs=()))


def trusted_form(ca: trustme.CA, tmp_path: Path, *flags: str) -> bytes:
    """``openssl x509 -trustout`` with trust settings, as p11-kit's openssl-bundle writes."""
    source = tmp_path / f"plain-{abs(hash(flags))}.pem"
    source.write_bytes(ca.cert_pem.bytes())
    done = subprocess.run(
        ["openssl", "x509", "-in", str(source), "-trustout", *flags],
        capture_output=True,
        check=True,
    )
    assert done.stdout.startswith(b"-----BEGIN TRUSTED CERTIFICATE-----")
    return done.stdout


def _der(ca: trustme.CA) -> bytes:
    return ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode("ascii"))


# --- 1. the scanner --------------------------------------------------------------------------

_HOSTILE = {
    "begin lines": b"-----BEGIN CERTIFICATE-----\n",
    "begin and wrong end": b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n",
    "trusted begin lines": b"-----BEGIN TRUSTED CERTIFICATE-----\r\n",
    "markers in one line": b"-----BEGIN CERTIFICATE----- -----END CERTIFICATE----- ",
}


@pytest.mark.parametrize("name", sorted(_HOSTILE))
def test_scanner_is_linear_on_5_mb_of_hostile_markers(name: str) -> None:
    """A 0.45 MB bundle of BEGIN lines used to take 33 s; 5 MB must finish (no timing asserted:
    the subprocess timeout is only a hang guard)."""
    unit = _HOSTILE[name]
    code = (
        "import sys\n"
        "from trustresolve._x509.pem import scan_pem\n"
        f"data = {unit!r} * ({5 * 1024 * 1024} // {len(unit)} + 1)\n"
        "scan = scan_pem(data)\n"
        "print(len(scan.certificates), scan.exact)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "False"]


_LABELS = st.sampled_from(
    [b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE", b"X509 CRL", b"PRIVATE KEY"]
)
_FILLER = st.lists(
    st.sampled_from([b"", b"# comment", b"random words", b"  ", b"-----END CERTIFICATE-----"]),
    max_size=3,
)


@given(st.lists(st.tuples(_FILLER, _LABELS, st.binary(max_size=60)), max_size=8))
@settings(max_examples=300)
def test_scanner_finds_every_framed_block_with_its_label(
    parts: list[tuple[list[bytes], bytes, bytes]],
) -> None:
    """Text between blocks (even END lines) never hides or invents a block."""
    document = b""
    for filler, label, payload in parts:
        body = base64.encodebytes(payload)
        document += b"".join(line + b"\n" for line in filler)
        document += b"-----BEGIN " + label + b"-----\n" + body + b"-----END " + label + b"-----\n"
    listing = read_blocks(document)
    assert [(b.label, b.der) for b in listing.blocks] == [(p[1], p[2]) for p in parts]
    assert listing.broken == listing.stray == 0


@given(st.binary(max_size=400), st.binary(max_size=400))
@settings(max_examples=300)
def test_scanner_never_raises_and_never_counts_more_than_markers(head: bytes, tail: bytes) -> None:
    document = head + b"\n-----BEGIN CERTIFICATE-----\n" + tail
    scan = scan_pem(document)
    assert len(scan.certificates) + scan.bad_blocks <= document.count(b"-----BEGIN ")


def test_marker_inside_a_line_is_stray_and_makes_the_text_inexact(good: trustme.CA) -> None:
    """OpenSSL reads long lines in 254-byte pieces, so it might see a marker we do not."""
    hidden = b"x" * 300 + good.cert_pem.bytes()
    scan = scan_pem(good.cert_pem.bytes() + hidden)
    assert scan.stray_markers == 1
    assert not scan.exact
    assert len(scan.certificates) == 1


# --- 2. CRL files cannot add roots -----------------------------------------------------------


def write_crl(ca: trustme.CA, path: Path) -> bytes:
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    now = datetime.datetime.now(datetime.timezone.utc)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - datetime.timedelta(minutes=5))
        .next_update(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )
    pem = crl.public_bytes(serialization.Encoding.PEM)
    path.write_bytes(pem)
    return pem


@pytest.fixture(scope="module")
def ca_files(tmp_path_factory: pytest.TempPathFactory, good: trustme.CA) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("crl")
    good_file = folder / "good.pem"
    good_file.write_bytes(good.cert_pem.bytes())
    return {"good": good_file, "folder": folder}


@pytest.mark.parametrize("label", [b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"])
@pytest.mark.parametrize("padding", [0, 2 * 1024 * 1024])
@pytest.mark.parametrize("spelling", ["tlsCRLFile", "ssl_crlfile"])
def test_crl_file_with_a_certificate_is_refused(
    tmp_path: Path,
    good: trustme.CA,
    evil: trustme.CA,
    evil_server: TLSServer,
    good_server: TLSServer,
    ca_files: dict[str, Path],
    label: bytes,
    padding: int,
    spelling: str,
) -> None:
    crl = tmp_path / "crl.pem"
    text = write_crl(good, crl) + b"# padding\n" * (padding // 10)
    if label == b"TRUSTED CERTIFICATE":
        appended = trusted_form(evil, tmp_path, "-addtrust", "serverAuth")
    else:
        appended = evil.cert_pem.bytes().replace(b"CERTIFICATE", label)
    crl.write_bytes(text + appended)
    # Control: OpenSSL itself loads EVIL from this "CRL" file as a trust anchor.
    control = openssl_context(ca_files["good"])
    control.load_verify_locations(cafile=str(crl))
    assert verifies(control, evil_server)
    options = {"tlsCAFile": str(ca_files["good"]), spelling: str(crl)}
    with _deprecation(spelling), pytest.raises(ConfigurationError) as caught:
        context_from_options(**options)
    message = str(caught.value)
    assert spelling in message and str(crl) in message
    assert label.decode() in message
    # The clean CRL still works, and EVIL's server never verifies next to it.
    crl.write_bytes(text)
    with _deprecation(spelling):
        context = context_from_options(**options)
    assert context is not None
    assert not verifies(context, evil_server)
    assert verifies(context, good_server)


def _deprecation(spelling: str) -> contextlib.AbstractContextManager[object]:
    if spelling == "ssl_crlfile":
        return pytest.warns(DeprecationWarning)
    return contextlib.nullcontext()


def test_crl_file_over_the_size_limit_is_refused_not_read_in_part(
    tmp_path: Path, good: trustme.CA, evil: trustme.CA, ca_files: dict[str, Path]
) -> None:
    crl = tmp_path / "huge-crl.pem"
    write_crl(good, crl)
    with crl.open("r+b") as handle:
        handle.seek(64 * 1024 * 1024 + 1)
        handle.write(b"\n" + evil.cert_pem.bytes())
    with pytest.raises(ConfigurationError) as caught:
        context_from_options(tlsCAFile=str(ca_files["good"]), tlsCRLFile=str(crl))
    assert "tlsCRLFile" in str(caught.value) and "larger than 64 MiB" in str(caught.value)


def test_cli_crlfile_refuses_a_certificate(
    tmp_path: Path,
    good: trustme.CA,
    evil: trustme.CA,
    evil_server: TLSServer,
    ca_files: dict[str, Path],
) -> None:
    crl = tmp_path / "crl.pem"
    crl.write_bytes(
        write_crl(good, crl) + trusted_form(evil, tmp_path, "-addtrust", "anyExtendedKeyUsage")
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "trustresolve",
            "--connect",
            f"127.0.0.1:{evil_server.port}",
            "--cafile",
            str(ca_files["good"]),
            "--crlfile",
            str(crl),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "tlsCRLFile" in done.stdout + done.stderr
    assert "TRUSTED CERTIFICATE" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


# --- 3. TRUSTED CERTIFICATE: OpenSSL's trust settings, rejection wins ------------------------


def _bundle(tmp_path: Path, name: str, *parts: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(parts))
    return path


@pytest.mark.parametrize(
    ("flags", "trusted"),
    [
        (("-addtrust", "serverAuth"), True),
        (("-addtrust", "anyExtendedKeyUsage"), True),
        (("-addtrust", "emailProtection", "-addtrust", "serverAuth"), True),
        (("-addreject", "serverAuth"), False),
        (("-addtrust", "serverAuth", "-addreject", "anyExtendedKeyUsage"), False),
        (("-addtrust", "emailProtection"), False),
        (("-addreject", "emailProtection"), True),  # no trust list: a plain (self-signed) root
    ],
)
def test_trusted_certificate_block_follows_openssl_trust_rules(
    tmp_path: Path,
    good: trustme.CA,
    evil: trustme.CA,
    good_server: TLSServer,
    evil_server: TLSServer,
    flags: tuple[str, ...],
    trusted: bool,
) -> None:
    bundle = _bundle(tmp_path, "b.pem", good.cert_pem.bytes(), trusted_form(evil, tmp_path, *flags))
    # The control: OpenSSL, given the file itself, decides the same.
    assert verifies(openssl_context(bundle), evil_server) is trusted
    resolution = env_resolution(SSL_CERT_FILE=str(bundle))
    assert resolution.source is not None
    assert resolution.source.cert_count == (2 if trusted else 1)
    context = store_context(resolution.source)
    assert verifies(context, evil_server) is trusted
    assert verifies(context, good_server)
    if not trusted:
        subjects = resolution.source.rejected_roots + resolution.source.other_purpose_roots
        assert len(subjects) == 1 and "O=EVIL" in subjects[0]


@pytest.mark.parametrize("rejection_first", [True, False])
def test_rejection_wins_over_a_plain_duplicate_in_the_same_bundle(
    tmp_path: Path,
    good: trustme.CA,
    evil: trustme.CA,
    good_server: TLSServer,
    evil_server: TLSServer,
    rejection_first: bool,
) -> None:
    rejected = trusted_form(evil, tmp_path, "-addreject", "serverAuth")
    parts = [rejected, evil.cert_pem.bytes()]
    if not rejection_first:
        parts.reverse()
    bundle = _bundle(tmp_path, "dup.pem", good.cert_pem.bytes(), *parts)
    if not rejection_first:  # OpenSSL keeps the first copy: here it would trust EVIL
        assert verifies(openssl_context(bundle), evil_server)
    resolution = env_resolution(SSL_CERT_FILE=str(bundle))
    assert resolution.source is not None
    assert resolution.source.cert_count == 1
    context = store_context(resolution.source)
    assert not verifies(context, evil_server)
    assert verifies(context, good_server)


def _hashed_dir(tmp_path: Path, name: str, *entries: bytes) -> Path:
    """A directory as p11-kit's openssl-directory writes it: one block per HHHHHHHH.N file."""
    folder = tmp_path / name
    folder.mkdir()
    for entry in entries:
        parsed = scan_pem(entry)
        chosen = (parsed.certificates or parsed.not_for_tls)[0]
        base = name_hash(chosen.subject)
        number = 0
        while (folder / f"{base}.{number}").exists():
            number += 1
        (folder / f"{base}.{number}").write_bytes(entry)
    return folder


def test_rejection_in_a_directory_wins_over_the_plain_bundle(
    tmp_path: Path,
    good: trustme.CA,
    evil: trustme.CA,
    good_server: TLSServer,
    evil_server: TLSServer,
) -> None:
    bundle = _bundle(tmp_path, "b.pem", good.cert_pem.bytes(), evil.cert_pem.bytes())
    folder = _hashed_dir(tmp_path, "dir", trusted_form(evil, tmp_path, "-addreject", "serverAuth"))
    # Control: OpenSSL loads the bundle's plain EVIL first and trusts it.
    control = openssl_context(bundle)
    control.load_verify_locations(capath=str(folder))
    assert verifies(control, evil_server)
    resolution = env_resolution(SSL_CERT_FILE=str(bundle), SSL_CERT_DIR=str(folder))
    assert resolution.source is not None
    assert resolution.source.cert_count == 1
    assert len(resolution.source.rejected_roots) == 1
    context = store_context(resolution.source)
    assert not verifies(context, evil_server)
    assert verifies(context, good_server)


def test_openssl_directory_of_trusted_certificates_is_a_store(
    tmp_path: Path,
    good: trustme.CA,
    evil: trustme.CA,
    good_server: TLSServer,
    evil_server: TLSServer,
) -> None:
    folder = _hashed_dir(
        tmp_path,
        "openssl-directory",
        trusted_form(good, tmp_path, "-addtrust", "serverAuth"),
        trusted_form(evil, tmp_path, "-addtrust", "emailProtection"),
    )
    resolution = env_resolution(SSL_CERT_DIR=str(folder))
    source = resolution.source
    assert source is not None
    assert source.kind == "data"  # plain DER of the anchors, not the directory
    assert source.cert_count == 1
    assert len(source.other_purpose_roots) == 1
    context = store_context(source)
    assert verifies(context, good_server)
    assert not verifies(context, evil_server)


def test_which_reports_roots_kept_out_by_trust_settings(
    tmp_path: Path, good: trustme.CA, evil: trustme.CA
) -> None:
    email = trustme.CA(organization_name="MAIL")
    bundle = _bundle(
        tmp_path,
        "trust.crt",
        trusted_form(good, tmp_path, "-addtrust", "serverAuth"),
        trusted_form(evil, tmp_path, "-addreject", "serverAuth"),
        trusted_form(email, tmp_path, "-addtrust", "emailProtection"),
    )
    environ = {**os.environ, "SSL_CERT_FILE": str(bundle)}
    environ.pop("SSL_CERT_DIR", None)
    text = subprocess.run(
        [sys.executable, "-m", "trustresolve", "--which"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=environ,
    ).stdout
    assert "1 root(s) rejected for TLS by trust settings" in text
    assert "1 root(s) trusted for other purposes only" in text
    assert "O=EVIL" in text and "O=MAIL" in text
    document = json.loads(
        subprocess.run(
            [sys.executable, "-m", "trustresolve", "--which", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            env=environ,
        ).stdout
    )
    source = document["source"]
    assert source["cert_count"] == 1
    assert len(source["not_tls_roots"]["rejected"]) == 1
    assert "O=EVIL" in source["not_tls_roots"]["rejected"][0]
    assert "O=MAIL" in source["not_tls_roots"]["other_purpose"][0]


# --- 4. a bundle OpenSSL cannot load is invalid, the next candidate is used ------------------


def _unloadable(ca: trustme.CA) -> bytes:
    """``ca``'s certificate with an invalid UTF8String in its names: our DER reader accepts it,
    OpenSSL's decoder refuses it (and with it any file that holds it)."""
    der = _der(ca).replace(b"BROKEN", b"BR\xffKEN")
    assert b"\xff" in der
    return ssl.DER_cert_to_PEM_cert(der).encode("ascii")


def test_bundle_openssl_cannot_load_is_invalid_and_the_next_is_used(
    tmp_path: Path, good: trustme.CA, good_server: TLSServer
) -> None:
    broken = trustme.CA(organization_name="BROKEN")
    first = tmp_path / "etc/ssl/certs/ca-certificates.crt"
    second = tmp_path / "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"
    for path in (first, second):
        path.parent.mkdir(parents=True)
    first.write_bytes(good.cert_pem.bytes() + _unloadable(broken))
    second.write_bytes(good.cert_pem.bytes())
    with pytest.raises(ssl.SSLError):  # the control: OpenSSL refuses the whole file
        openssl_context(first)
    facts = PlatformFacts(platform="linux", environ={}, root=str(tmp_path), config_dirs=())
    resolution = probe_all(facts)
    (attempt,) = [
        a for a in resolution.attempts if a.location == "/etc/ssl/certs/ca-certificates.crt"
    ]
    assert attempt.outcome == "invalid"
    assert "certificate #2" in attempt.detail and "O=BR" in attempt.detail
    assert resolution.source is not None
    assert resolution.source.display_cafile == "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"
    assert resolution.source.cert_count == 1
    assert verifies(store_context(resolution.source), good_server)


def test_a_name_openssl_refuses_is_judged_in_the_issuer_too_and_on_every_ask() -> None:
    """The verdict is kept per certificate and a root's issuer is not read twice; a leaf whose
    issuer (not subject) holds the invalid string is still refused, each time it is asked."""
    broken = trustme.CA(organization_name="BROKEN")
    leaf = broken.issue_cert("localhost").cert_chain_pems[0].bytes()
    der = ssl.PEM_cert_to_DER_cert(leaf.decode()).replace(b"BROKEN", b"BR\xffKEN")
    cert = parse_certificate(der)
    assert b"\xff" in cert.issuer and b"\xff" not in cert.subject
    with pytest.raises(ssl.SSLError):  # the control: OpenSSL's own answer
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=der)
    assert openssl_refuses(cert) and openssl_refuses(cert)
    root = parse_certificate(_der(broken))
    assert not openssl_refuses(root) and not openssl_refuses(root)
    broken_root = parse_certificate(ssl.PEM_cert_to_DER_cert(_unloadable(broken).decode()))
    assert openssl_refuses(broken_root) and openssl_refuses(broken_root)


def test_unloadable_entry_of_a_directory_is_not_counted(
    tmp_path: Path, good: trustme.CA, good_server: TLSServer
) -> None:
    folder = _hashed_dir(tmp_path, "dir", good.cert_pem.bytes())
    (folder / "00000000.0").write_bytes(_unloadable(trustme.CA(organization_name="BROKEN")))
    resolution = env_resolution(SSL_CERT_DIR=str(folder))
    assert resolution.source is not None
    assert resolution.source.cert_count == 1
    assert verifies(store_context(resolution.source), good_server)


# --- 5. a directory path OpenSSL would split -------------------------------------------------


def test_capath_with_the_list_separator_is_refused(
    tmp_path: Path,
    evil: trustme.CA,
    evil_server: TLSServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OpenSSL reads ``/x/a:b`` as ``/x/a`` and ``b``, relative to the working directory."""
    (tmp_path / "store").mkdir()
    split = tmp_path / "store" / "certs:planted"
    split.mkdir()
    (tmp_path / "store" / "certs").mkdir()
    monkeypatch.chdir(tmp_path)
    planted = tmp_path / "planted"
    planted.mkdir()
    (
        planted / f"{name_hash(scan_pem(evil.cert_pem.bytes()).certificates[0].subject)}.0"
    ).write_bytes(evil.cert_pem.bytes())
    (split / "00000000.0").write_bytes(evil.cert_pem.bytes())  # the directory is not empty
    control = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    control.load_verify_locations(capath=str(split))
    assert verifies(control, evil_server)  # OpenSSL found EVIL in ./planted
    config = tmp_path / "trustresolve.ini"
    config.write_text(f"[trustresolve]\ncapath = {split}\n")
    with pytest.raises(NoTrustStoreError) as caught:
        env_resolution(TRUSTRESOLVE_CONFIG=str(config))
    message = str(caught.value)
    assert str(split) in message and "capath" in message and "list separator" in message


def test_cache_directory_with_the_list_separator_is_not_handed_to_openssl(
    tmp_path: Path,
    good: trustme.CA,
    good_server: TLSServer,
    evil_server: TLSServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRUSTRESOLVE_CACHE_DIR", str(tmp_path / "cache:planted"))
    # A CA no other test loads: the plan for this store is made afresh, under this cache.
    fresh = trustme.CA(organization_name="FRESH").cert_pem.bytes()
    source = TrustSource("env", "data", cadata=(fresh + good.cert_pem.bytes()).decode("ascii"))
    with pytest.warns(RuntimeWarning, match="list separator"):
        context = store_context(source)
    assert verifies(context, good_server)
    assert not verifies(context, evil_server)


def test_crl_loaded_is_the_crl_checked(
    tmp_path: Path,
    good: trustme.CA,
    evil: trustme.CA,
    evil_server: TLSServer,
    ca_files: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The file is swapped for one with EVIL's certificate right after it was checked: what
    OpenSSL loads is still the checked CRL."""
    from trustresolve._tls import context as context_module

    crl = tmp_path / "crl.pem"
    clean = write_crl(good, crl)
    checked = context_module._require_only_crls

    def check_then_swap(option: str, path: str, text: bytes) -> None:
        checked(option, path, text)
        crl.write_bytes(clean + evil.cert_pem.bytes())

    monkeypatch.setattr(context_module, "_require_only_crls", check_then_swap)
    context = context_from_options(tlsCAFile=str(ca_files["good"]), tlsCRLFile=str(crl))
    assert context is not None
    assert crl.read_bytes().endswith(evil.cert_pem.bytes())  # the swap happened
    assert not verifies(context, evil_server)
    assert context.cert_store_stats()["crl"] == 1
