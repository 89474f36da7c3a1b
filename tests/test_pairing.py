"""Pairing a bundle with its hashed directory, for SSL_CERT_FILE + SSL_CERT_DIR and the distro
tables: the directory stands in for the bundle only when it names the same subjects, and a
name OpenSSL might hash differently never crashes the probe."""

from __future__ import annotations

import base64
import os
from pathlib import Path

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


def test_unhashable_name_in_a_distro_bundle_leaves_it_unpaired(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    certs = root / "etc" / "ssl" / "certs"
    certs.mkdir(parents=True)
    good = trustme.CA().cert_pem.bytes()
    odd = bare(dn("Visible CA", kind=_ASN1Type.VisibleString)).pem
    (certs / "ca-certificates.crt").write_bytes(good + odd)
    (certs / f"{subject_hash(_der(good))}.0").write_bytes(good)
    (certs / "00000000.0").write_bytes(odd)  # whatever the directory says, it cannot be shown
    resolution = probe_all(linux_facts({}, root=str(root)))
    source = resolution.source
    assert source is not None and source.backend == "distro"
    assert source.cert_count == 2
    assert source.capath is None
    assert any("not paired" in a.detail for a in resolution.attempts)
    assert os.path.basename(source.cafile or "") == "ca-certificates.crt"
