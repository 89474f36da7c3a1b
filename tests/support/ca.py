"""Certificates for tests: roots, intermediates and leaves minted with cryptography, and CRLs.

trustme covers the ordinary case (``trustme.CA().issue_cert("localhost")``, and
``issue_cert(..., not_after=...)`` for an expired leaf); these helpers make what trustme cannot:
odd names (string types, multi-valued RDNs, an issuer name spelled differently from its CA's
subject), certificates without extensions, a chosen validity window, AIA URLs, a shared key.

    root = mint("Test Root")                                 # self-signed CA, EC P-256, 1 day
    old = mint("Old Root", not_after=NOW - DAY)              # expired
    inter = mint("Issuing CA", issuer=root, path_length=0)   # intermediate
    leaf = mint("db", issuer=inter, hosts=["db.example"])    # leaf with SANs (ca=False)
    root.pem, root.der, leaf.key_pem                         # the bytes tests write

Every argument but the subject is a keyword.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Union

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

__all__ = [
    "DAY",
    "NOW",
    "Minted",
    "bare",
    "dn",
    "from_trustme",
    "leaf_with_aia",
    "mint",
    "signed_crl",
]

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)
UTF8 = _ASN1Type.UTF8String

#: A CA's key usage: certificate and CRL signing (RFC 5280 4.2.1.3).
CA_KEY_USAGE = x509.KeyUsage(False, False, False, False, False, True, True, False, False)

Subject = Union[str, x509.Name]


class Minted(NamedTuple):
    """A certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def dn(
    common_name: str,
    *,
    kind: _ASN1Type = UTF8,
    organization: str | None = None,
    country: str | None = None,
) -> x509.Name:
    """The distinguished name ``C=country, O=organization, CN=common_name`` (the parts given);
    the CN is of string type ``kind``."""
    attributes = []
    if country is not None:
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    if organization is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name, _type=kind))
    return x509.Name(attributes)


def from_trustme(ca: trustme.CA) -> Minted:
    """A trustme CA as a ``Minted``, to issue from it what trustme cannot."""
    key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return Minted(x509.load_pem_x509_certificate(ca.cert_pem.bytes()), key)


def mint(
    subject: Subject,
    *,
    issuer: Minted | None = None,
    issuer_name: x509.Name | None = None,
    key: ec.EllipticCurvePrivateKey | None = None,
    ca: bool | None = None,
    path_length: int | None = None,
    hosts: Sequence[str] = (),
    aia_url: str | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> Minted:
    """One certificate, self-signed unless ``issuer`` is given; validity NOW - DAY to NOW + DAY.

    ``ca`` defaults to True without ``hosts`` and to False with them; a CA gets the key usage of
    one. Every certificate has a subject key identifier and every issued one an authority key
    identifier (Python 3.13's VERIFY_X509_STRICT, the RFC 5280 profile, wants both).
    ``issuer_name`` overrides the issuer field (a name OpenSSL matches only in canonical form).
    ``hosts`` are DNS names or IP addresses for the SAN; ``aia_url`` names the issuer's URL.
    """
    subject_name = dn(subject) if isinstance(subject, str) else subject
    key = key or ec.generate_private_key(ec.SECP256R1())
    signer_key = issuer.key if issuer else key
    is_ca = not hosts if ca is None else ca
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject_name)
        .issuer_name(issuer_name or (issuer.cert.subject if issuer else subject_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - DAY)
        .not_valid_after(not_after or NOW + DAY)
        .add_extension(
            x509.BasicConstraints(ca=is_ca, path_length=path_length if is_ca else None),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if is_ca:
        builder = builder.add_extension(CA_KEY_USAGE, critical=True)
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), False
        )
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(host) for host in hosts]), critical=False
        )
    if aia_url is not None:
        builder = builder.add_extension(_aia(aia_url), critical=False)
    return Minted(builder.sign(signer_key, hashes.SHA256()), key)


def bare(
    subject: x509.Name,
    *,
    issuer_name: x509.Name | None = None,
    key: ec.EllipticCurvePrivateKey | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> Minted:
    """A self-signed certificate without any extension (only its names matter to the test)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - DAY)
        .not_valid_after(not_after or NOW + DAY)
        .sign(key, hashes.SHA256())
    )
    return Minted(cert, key)


def signed_crl(
    issuer: trustme.CA,
    revoked: Iterable[trustme.LeafCert | int],
    *,
    der: bool = False,
    next_update: datetime.datetime | None = None,
) -> bytes:
    """A CRL signed by ``issuer`` revoking ``revoked`` (leaves or serial numbers), current
    unless ``next_update`` says when it stopped being (or will stop being) current."""
    signer = from_trustme(issuer)
    next_update = next_update or NOW + DAY
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(signer.cert.subject)
        .last_update(min(NOW, next_update) - DAY)
        .next_update(next_update)
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(entry if isinstance(entry, int) else _serial(entry))
            .revocation_date(NOW - DAY)
            .build()
        )
    encoding = serialization.Encoding.DER if der else serialization.Encoding.PEM
    return builder.sign(signer.key, hashes.SHA256()).public_bytes(encoding)


def leaf_with_aia(issuer: trustme.CA, url: str) -> tuple[bytes, bytes]:
    """A leaf for localhost/127.0.0.1 whose AIA names ``url`` as its issuer (public-CA style):
    its PEM and its key's PEM."""
    leaf = mint(
        "aia leaf",
        issuer=from_trustme(issuer),
        hosts=["localhost", "127.0.0.1"],
        aia_url=url,
        not_after=NOW + 30 * DAY,
    )
    return leaf.pem, leaf.key_pem


def _serial(leaf: trustme.LeafCert) -> int:
    return x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).serial_number


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _aia(url: str) -> x509.AuthorityInformationAccess:
    return x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(url)
            )
        ]
    )


def crafted_leaf(
    issuer: trustme.CA,
    *,
    common_name: str,
    dns_names: list[str],
    ca_issuers_url: str | None = None,
) -> tuple[bytes, bytes]:
    """A leaf signed by ``issuer`` with exactly these names (any characters, as an attacker
    would write them) and optionally an AIA caIssuers URL; returns (cert PEM, key PEM)."""
    leaf = mint(
        common_name,
        issuer=from_trustme(issuer),
        hosts=dns_names,
        aia_url=ca_issuers_url,
        not_after=NOW + 30 * DAY,
    )
    return leaf.pem, leaf.key_pem


def crl_revoking(ca: trustme.CA, leaf: trustme.LeafCert) -> bytes:
    """A PEM CRL from ``ca`` that revokes ``leaf``."""
    return signed_crl(ca, [leaf])


def client_only_leaf(issuer: trustme.CA, host: str = "127.0.0.1") -> tuple[bytes, bytes]:
    """A leaf for ``host`` whose extendedKeyUsage allows client authentication only, so a
    client verifying it as a server's fails with X509_V_ERR_INVALID_PURPOSE (26): the cert
    PEM and its key's PEM."""
    from cryptography.x509.oid import ExtendedKeyUsageOID

    signer = from_trustme(issuer)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(dn("client only"))
        .issuer_name(signer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.SubjectAlternativeName([_general_name(host)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.key.public_key()), False
        )  # both, or Python 3.13's VERIFY_X509_STRICT fails first (X509_V_ERR 85)
        .sign(signer.key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), Minted(cert, key).key_pem
