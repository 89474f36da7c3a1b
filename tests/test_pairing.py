"""Pairing a bundle with its hashed directory, for SSL_CERT_FILE + SSL_CERT_DIR and the distro
tables: the directory stands in for the bundle only when it names the same subjects, and a
name OpenSSL might hash differently never crashes the probe."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

import pytest
import trustme
from cryptography.x509.name import _ASN1Type

from support.ca import bare, dn
from support.trees import linux_facts
from trustresolve._store.resolve import probe_all
from trustresolve._x509.subject_hash import subject_hash


def _der(pem: bytes) -> bytes:
    return base64.b64decode(b"".join(pem.strip().splitlines()[1:-1]))


def _hashed_dir(folder: Path, pems: list[bytes]) -> None:
    folder.mkdir()
    for pem in pems:
        name = subject_hash(_der(pem))
        number = 0
        while (folder / f"{name}.{number}").exists():
            number += 1
        (folder / f"{name}.{number}").write_bytes(pem)


def test_env_directory_with_the_same_subjects_is_not_read(tmp_path: Path) -> None:
    pems = [trustme.CA().cert_pem.bytes() for _ in range(3)]
    (tmp_path / "bundle.pem").write_bytes(b"".join(pems))
    _hashed_dir(tmp_path / "certs", pems)
    resolution = probe_all(
        linux_facts(
            {"SSL_CERT_FILE": str(tmp_path / "bundle.pem"), "SSL_CERT_DIR": str(tmp_path / "certs")}
        )
    )
    source = resolution.source
    assert source is not None and source.cert_count == 3 and source.cafile_complete
    detail = next(a.detail for a in resolution.attempts if a.location == str(tmp_path / "certs"))
    assert "same trust set as SSL_CERT_FILE" in detail


def test_env_directory_with_other_roots_adds_them(tmp_path: Path) -> None:
    bundle_pems = [trustme.CA().cert_pem.bytes() for _ in range(2)]
    extra = trustme.CA().cert_pem.bytes()
    (tmp_path / "bundle.pem").write_bytes(b"".join(bundle_pems))
    _hashed_dir(tmp_path / "certs", [bundle_pems[0], extra])  # same count, one other root
    resolution = probe_all(
        linux_facts(
            {"SSL_CERT_FILE": str(tmp_path / "bundle.pem"), "SSL_CERT_DIR": str(tmp_path / "certs")}
        )
    )
    source = resolution.source
    assert source is not None
    assert source.cert_count == 3  # the union, as OpenSSL trusts both
    assert not source.cafile_complete  # where() must write the union, not hand out the file
    assert _der(extra) in source.certificates


def test_a_name_openssl_refuses_makes_the_distro_bundle_invalid(tmp_path: Path) -> None:
    """A root named with a VisibleString (which OpenSSL refuses in a Name, so it refuses the
    whole file) is not a bundle to use: resolution says which certificate and moves on, as a
    plain ``load_verify_locations`` of that file fails."""
    root = tmp_path / "tree"
    certs = root / "etc" / "ssl" / "certs"
    certs.mkdir(parents=True)
    good = trustme.CA().cert_pem.bytes()
    odd = bare(dn("Visible CA", kind=_ASN1Type.VisibleString)).pem
    (certs / "ca-certificates.crt").write_bytes(good + odd)
    (certs / f"{subject_hash(_der(good))}.0").write_bytes(good)
    with pytest.raises(ssl.SSLError):
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(
            cafile=str(certs / "ca-certificates.crt")
        )
    resolution = probe_all(linux_facts({}, root=str(root)))
    bundle = next(
        a for a in resolution.attempts if a.location == "/etc/ssl/certs/ca-certificates.crt"
    )
    assert bundle.outcome == "invalid"
    assert "OpenSSL cannot load certificate #2" in bundle.detail
    assert "(CN=#1a0a" in bundle.detail  # RFC 4514's hex form of a value of that type
    source = resolution.source
    assert source is None or source.cafile != str(certs / "ca-certificates.crt")
