"""``--connect`` on an out-of-date store: a root the store lacks that the reference (certifi's
Mozilla list, or a test's own CAs) has, and an expired root in the store.

Every case is a real loopback handshake with the context the user's code would get; the
reference is injected through ``stale.reference`` (the test's CAs) or is the real certifi.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import trustresolve
from support.ca import DAY, NOW, Minted, mint
from support.pages import assert_shown
from support.servers import pem_server_context, serve, tls_handler
from trustresolve._cli.connect import Cause, diagnose, stale
from trustresolve._cli.main import main
from trustresolve._x509.identity import identify
from trustresolve._x509.pem import der_to_pem, scan_pem

CERTIFI = f"certifi {certifi.__version__} (Mozilla's roots)"


pytestmark = pytest.mark.usefixtures("doctor_env")


def _reference(monkeypatch: pytest.MonkeyPatch, *roots: Minted, label: str = "test list 1") -> None:
    data = b"".join(root.pem for root in roots)
    monkeypatch.setattr(stale, "reference", lambda: stale.Reference.from_pem(data, label))


def _file(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _server(*chain: Minted, key: object) -> object:
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    key_pem = Minted(chain[0].cert, key).key_pem
    return tls_handler(pem_server_context(b"".join(c.pem for c in chain), key_pem))


def _leaf(issuer: Minted) -> Minted:
    return mint("server", issuer=issuer, hosts=["127.0.0.1"], not_after=NOW + 30 * DAY)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["--connect", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# --- a root the store lacks --------------------------------------------------------------------


def test_a_root_the_reference_has_and_the_store_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    public = mint("Public Root R1")
    _reference(monkeypatch, public, mint("Another Public Root"))
    leaf = _leaf(public)
    store = _file(tmp_path, "old-bundle.pem", mint("Some Older Root").pem)
    with serve(_server(leaf, key=leaf.key)) as port:
        code, out = _run(capsys, f"127.0.0.1:{port}", "--cafile", store)
    assert code == 1
    verdict_line = next(line for line in out.splitlines() if line.startswith("Verdict:"))
    assert verdict_line == "Verdict: FAILED: trust store out of date"
    assert "CN=Public Root R1 (matched by name and key identifier), a root that test list 1" in out
    assert "replace it with a current bundle" in out


def test_the_verdict_carries_openssls_words_and_the_resolved_stores_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = mint("Public Root R1")
    _reference(monkeypatch, public)
    leaf = _leaf(public)
    monkeypatch.setenv("SSL_CERT_FILE", _file(tmp_path, "old.pem", mint("Older Root").pem))
    trustresolve.resolve(refresh=True)
    with serve(_server(leaf, key=leaf.key)) as port:
        verdict = diagnose(f"127.0.0.1:{port}").verdict
    assert verdict.cause is Cause.STORE_OUT_OF_DATE
    assert verdict.evidence["reference"] == "test list 1"
    assert "unable to get local issuer certificate" in str(verdict.evidence["openssl"])
    assert str(verdict.evidence["openssl"]).startswith("[SSL: CERTIFICATE_VERIFY_FAILED]")
    assert any("SSL_CERT_FILE" in fix for fix in verdict.fixes)


def test_the_root_the_server_sends_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """X509_V_ERR 19 (self-signed certificate in chain): matched by the root's name and key."""
    public = mint("Public Root R2")
    _reference(monkeypatch, public)
    leaf = _leaf(public)
    store = _file(tmp_path, "old.pem", mint("Older Root").pem)
    with serve(_server(leaf, public, key=leaf.key)) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=store).verdict
    assert verdict.cause is Cause.STORE_OUT_OF_DATE, verdict
    assert verdict.evidence["matched"] == "the root the server sent (same name and key)"
    assert "self-signed certificate in certificate chain" in str(verdict.evidence["openssl"])


def test_the_root_sent_with_the_reference_roots_name_but_another_key_is_not_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    impostor = mint("Public Root R2")
    _reference(monkeypatch, mint("Public Root R2"))
    leaf = _leaf(impostor)
    store = _file(tmp_path, "old.pem", mint("Older Root").pem)
    with serve(_server(leaf, impostor, key=leaf.key)) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=store).verdict
    assert verdict.cause is Cause.UNKNOWN_ISSUER


def test_a_private_ca_is_never_out_of_date(tmp_path: Path) -> None:
    """The real certifi as the reference: a private CA is an unknown issuer, nothing more."""
    private = mint("Corp Internal CA")
    leaf = _leaf(private)
    store = _file(tmp_path, "store.pem", Path(certifi.where()).read_bytes())
    with serve(_server(leaf, key=leaf.key)) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=store).verdict
    assert verdict.cause is Cause.UNKNOWN_ISSUER


def test_a_same_named_ca_with_another_key_identifier_is_not_the_reference_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reference(monkeypatch, mint("Public Root R1"))
    private = mint("Public Root R1")  # the same name, its own key: its AKI differs
    leaf = _leaf(private)
    store = _file(tmp_path, "old.pem", mint("Older Root").pem)
    with serve(_server(leaf, key=leaf.key)) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=store).verdict
    assert verdict.cause is Cause.UNKNOWN_ISSUER


def _leaf_without_aki(issuer: Minted, signer: ec.EllipticCurvePrivateKey) -> Minted:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "server")]))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
        .sign(signer, hashes.SHA256())
    )
    return Minted(cert, key)


@pytest.mark.parametrize("signed_by_the_root", [True, False])
def test_without_an_aki_the_signature_decides(
    signed_by_the_root: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = mint("Public Root R3")
    _reference(monkeypatch, public)
    signer = public.key if signed_by_the_root else ec.generate_private_key(ec.SECP256R1())
    leaf = _leaf_without_aki(public, signer)
    store = _file(tmp_path, "old.pem", mint("Older Root").pem)
    with serve(_server(leaf, key=leaf.key)) as port:
        verdict = diagnose(f"localhost:{port}", cafile=store).verdict
    if signed_by_the_root:
        assert verdict.cause is Cause.STORE_OUT_OF_DATE
        assert verdict.evidence["matched"] == "name and signature"
    else:
        assert verdict.cause is Cause.UNKNOWN_ISSUER


def _self_signed(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, digest: object) -> bytes:
    assert isinstance(digest, hashes.HashAlgorithm)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "k")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + DAY)
        .sign(key, digest)
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _spki(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_the_signature_check_knows_rsa_and_the_nist_curves() -> None:
    from trustresolve._x509.signature import signed_by

    keys: list[tuple[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, hashes.HashAlgorithm]] = [
        (rsa.generate_private_key(65537, 2048), hashes.SHA256()),
        (ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()),
        (ec.generate_private_key(ec.SECP384R1()), hashes.SHA384()),
    ]
    for key, digest in keys:
        der = _self_signed(key, digest)
        assert signed_by(der, _spki(key)) is True
        assert signed_by(der[:-4] + bytes(4), _spki(key)) is False  # a damaged signature
        assert signed_by(der, _spki(ec.generate_private_key(ec.SECP256R1()))) in (False, None)
    unknown = ec.generate_private_key(ec.SECP521R1())  # a curve the check does not know
    assert signed_by(_self_signed(unknown, hashes.SHA512()), _spki(unknown)) is None


# --- the real certifi --------------------------------------------------------------------------


def _certifi_roots() -> list[bytes]:
    return [cert.der for cert in scan_pem(Path(certifi.where()).read_bytes()).certificates]


def _claiming(root_der: bytes) -> tuple[bytes, bytes]:
    """A leaf whose issuer name and AKI copy a real certifi root's subject and SKI (anyone can
    write them: they are public), signed by an RSA key of the test's own (the root's key type,
    so OpenSSL takes the root as the issuer and checks the signature): its PEM and key PEM."""
    root = x509.load_der_x509_certificate(root_der)
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    key = rsa.generate_private_key(65537, 2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "server")]))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
        .add_extension(x509.AuthorityKeyIdentifier(ski, None, None), False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _named(ders: list[bytes], common_name: str) -> bytes:
    for der in ders:
        if identify(der).subject_text.startswith(common_name):
            return der
    raise AssertionError(f"certifi {certifi.__version__} has no root {common_name}")


def test_real_certifi_a_store_without_one_of_its_roots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roots = _certifi_roots()
    root = _named(roots, "CN=ISRG Root X1,")
    leaf_pem, key_pem = _claiming(root)
    without = _file(
        tmp_path, "old-bundle.pem", "".join(der_to_pem(d) for d in roots if d != root).encode()
    )
    whole = _file(tmp_path, "whole.pem", "".join(der_to_pem(d) for d in roots).encode())
    with serve(tls_handler(pem_server_context(leaf_pem, key_pem))) as port:
        code, out = _run(capsys, f"localhost:{port}", "--cafile", without)
        lacking = diagnose(f"localhost:{port}", cafile=without).verdict
        holding = diagnose(f"localhost:{port}", cafile=whole).verdict
    assert code == 1
    assert lacking.cause is Cause.STORE_OUT_OF_DATE, lacking
    assert lacking.evidence["root"] == "CN=ISRG Root X1,O=Internet Security Research Group,C=US"
    assert lacking.evidence["reference"] == CERTIFI
    assert_shown("store-out-of-date", out, {str(port): "8443", without: "old-bundle.pem"})
    # With the root in the store, OpenSSL checks the signature and refuses the forgery: the
    # verdict never said more than "if the chain really is issued by it, update".
    assert holding.cause is Cause.VERIFY_FAILED, holding


def test_the_certifi_path_the_fix_names_is_printed_by_certifi() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "certifi"], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == certifi.where()


# --- an expired root in the store --------------------------------------------------------------


def _renewed_pair() -> tuple[Minted, Minted]:
    """One root's key and name twice: a copy that expired, and a renewal."""
    key = ec.generate_private_key(ec.SECP256R1())
    old = mint("Public Root R4", key=key, not_before=NOW - 400 * DAY, not_after=NOW - 10 * DAY)
    new = mint("Public Root R4", key=key, not_before=NOW - 20 * DAY, not_after=NOW + 3650 * DAY)
    return old, new


@pytest.mark.parametrize("renewed", [True, False])
def test_an_expired_root_in_the_store(
    renewed: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new = _renewed_pair()
    refs = [new] if renewed else [mint("Unrelated Root")]
    _reference(monkeypatch, *refs, label="a test list (Mozilla's roots)")
    leaf = _leaf(new)
    store = _file(tmp_path, "old-bundle.pem", old.pem)
    with serve(_server(leaf, key=leaf.key)) as port:
        code, out = _run(capsys, f"127.0.0.1:{port}", "--cafile", store)
        verdict = diagnose(f"127.0.0.1:{port}", cafile=store).verdict
        fresh = diagnose(f"127.0.0.1:{port}", cafile=_file(tmp_path, "new.pem", new.pem))
    assert code == 1
    assert verdict.cause is Cause.ROOT_EXPIRED, verdict
    assert verdict.evidence["expired_on"] == f"{old.cert.not_valid_after_utc:%Y-%m-%d}"
    assert "certificate has expired" in str(verdict.evidence["openssl"])
    assert ("renewed_until" in verdict.evidence) is renewed
    assert fresh.verdict.cause is Cause.VERIFIED  # the renewed copy is all that was missing
    if renewed:
        assert_shown("root-expired", out, {str(port): "8443", store: "old-bundle.pem"})


def test_an_expired_server_certificate_is_the_servers_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = _renewed_pair()
    _reference(monkeypatch, new)
    leaf = mint(
        "server",
        issuer=old,
        hosts=["127.0.0.1"],
        not_before=NOW - 30 * DAY,
        not_after=NOW - DAY,
    )
    store = _file(tmp_path, "old.pem", old.pem)
    with serve(_server(leaf, key=leaf.key)) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=store).verdict
    assert verdict.cause is Cause.EXPIRED


# --- the advice ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "platform", "store_file", "expected"),
    [
        (None, "linux", None, "replace it with a current bundle"),
        ("env", "linux", "/x.pem", "SSL_CERT_FILE"),
        ("config", "linux", "/x.pem", "trustresolve.ini"),
        ("certifi", "linux", "/c.pem", "pip install -U certifi"),
        ("distro", "linux", "/etc/ssl/certs/ca-certificates.crt", "apt-get install"),
        ("distro", "linux", "/etc/ssl/certs/ca-certificates.crt", "apk upgrade"),
        ("distro", "linux", "/etc/pki/tls/certs/ca-bundle.crt", "dnf upgrade ca-certificates"),
        ("distro", "linux", "/etc/ssl/ca-bundle.pem", "zypper update"),
        ("distro", "freebsd", "/usr/local/share/certs/ca-root-nss.crt", "ca-certificates"),
        ("native", "win32", None, "certutil -generateSSTFromWU"),
        ("windows", "win32", None, "Windows Update"),
        ("native", "darwin", None, "Software Update"),
        ("macos-keychain", "darwin", None, "Software Update"),
        ("macos-python-org", "darwin", "/x/cert.pem", "Install Certificates.command"),
        ("openssl-default", "linux", "/opt/x/cert.pem", "upgrade the interpreter build"),
    ],
)
def test_update_advice_by_store(
    backend: str | None, platform: str, store_file: str | None, expected: str
) -> None:
    assert any(expected in line for line in stale.update_advice(backend, platform, store_file))


def test_the_debian_command_runs_as_printed() -> None:
    """The printed apt-get line, simulated (-s: no root, no network, nothing changes)."""
    if shutil.which("apt-get") is None:
        pytest.skip("not a Debian-family machine")
    line = stale.update_advice("distro", "linux", "/etc/ssl/certs/ca-certificates.crt")[0]
    command = line.split(": ", 1)[1].split()
    assert command[:2] == ["sudo", "apt-get"]
    done = subprocess.run(
        [command[1], "-s", *command[2:]], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "ca-certificates" in done.stdout


def test_the_reference_is_read_only_on_the_failure_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse() -> None:
        raise AssertionError("a verified connection read the reference")

    monkeypatch.setattr(stale, "reference", refuse)
    public = mint("Public Root R1")
    leaf = _leaf(public)
    with serve(_server(leaf, key=leaf.key)) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=_file(tmp_path, "r.pem", public.pem))
    assert verdict.verdict.cause is Cause.VERIFIED
