"""support.ca mints what tests rely on: real handshakes accept its chains, refuse the rest."""

from __future__ import annotations

import ssl

import pytest
import trustme
from cryptography import x509
from cryptography.x509.name import _ASN1Type

from support.ca import DAY, NOW, Minted, bare, dn, from_trustme, mint, signed_crl
from support.servers import memory_handshake, pem_server_context

HOST = "db.support.test"


def client_trusting(*roots: Minted) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata="".join(root.pem.decode() for root in roots))
    context.verify_flags |= getattr(ssl, "VERIFY_X509_STRICT", 0)  # RFC 5280 profile where known
    return context


def server_for(leaf: Minted, *intermediates: Minted) -> ssl.SSLContext:
    chain = leaf.pem + b"".join(inter.pem for inter in intermediates)
    return pem_server_context(chain, leaf.key_pem)


def test_root_intermediate_leaf_chain_verifies() -> None:
    root = mint("Support Root")
    inter = mint("Support Issuing CA", issuer=root, path_length=0)
    leaf = mint(HOST, issuer=inter, hosts=[HOST, "127.0.0.1"])
    assert memory_handshake(client_trusting(root), server_for(leaf, inter), HOST) is None
    assert memory_handshake(client_trusting(root), server_for(leaf, inter), "127.0.0.1") is None


# (how the leaf differs from a good one, the hostname asked for, what the client says)
REFUSED = [
    pytest.param(
        {"not_before": NOW - 3 * DAY, "not_after": NOW - DAY}, HOST, "expired", id="expired"
    ),
    pytest.param(
        {"not_before": NOW + DAY, "not_after": NOW + 3 * DAY}, HOST, "not yet", id="future"
    ),
    pytest.param({}, "other.support.test", "Hostname mismatch", id="wrong-host"),
]


@pytest.mark.parametrize(("changes", "hostname", "message"), REFUSED)
def test_leaf_the_client_must_refuse(
    changes: dict[str, object], hostname: str, message: str
) -> None:
    root = mint("Support Root")
    leaf = mint(HOST, issuer=root, hosts=[HOST], **changes)  # type: ignore[arg-type]
    error = memory_handshake(client_trusting(root), server_for(leaf), hostname)
    assert isinstance(error, ssl.SSLCertVerificationError)
    assert message in str(error)


def test_a_leaf_from_another_ca_is_refused() -> None:
    root, evil = mint("Support Root"), mint("EVIL Root")
    leaf = mint(HOST, issuer=evil, hosts=[HOST])
    error = memory_handshake(client_trusting(root), server_for(leaf), HOST)
    assert isinstance(error, ssl.SSLCertVerificationError)
    assert "unable to get local issuer certificate" in str(error)


def test_a_leaf_cannot_issue() -> None:
    root = mint("Support Root")
    leaf = mint("not a CA", issuer=root, hosts=["ca.support.test"])
    grandchild = mint(HOST, issuer=leaf, hosts=[HOST])
    error = memory_handshake(client_trusting(root), server_for(grandchild, leaf), HOST)
    assert isinstance(error, ssl.SSLCertVerificationError)


def test_odd_names_and_bare_certificates() -> None:
    subject = dn("Visible CA", kind=_ASN1Type.VisibleString, organization="Org", country="DE")
    cert = bare(subject, issuer_name=dn("someone else")).cert
    assert cert.subject == subject
    assert cert.issuer == dn("someone else")
    assert list(cert.extensions) == []
    attribute = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0]
    assert attribute._type == _ASN1Type.VisibleString


def test_signed_crl_revokes_a_trustme_leaf() -> None:
    ca = trustme.CA()
    revoked, kept = ca.issue_cert(HOST), ca.issue_cert("kept.support.test")
    document = x509.load_pem_x509_crl(signed_crl(ca, [revoked]))
    assert document.issuer == from_trustme(ca).cert.subject
    serials = {entry.serial_number for entry in document}
    leaf_serial = x509.load_pem_x509_certificate(revoked.cert_chain_pems[0].bytes()).serial_number
    kept_serial = x509.load_pem_x509_certificate(kept.cert_chain_pems[0].bytes()).serial_number
    assert serials == {leaf_serial}
    assert kept_serial not in serials
