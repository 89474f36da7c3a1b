"""The one test-CA builder that make_unix_fixtures.py and make_native_fixtures.py share.

Every fixture certificate is an EC P-256 CA named ``O=trustresolve fixtures, CN=<name>`` with
the basic constraints and key usage of a root (RFC 5280 4.2.1.3, 4.2.1.9): never a real root.
Keys are new on every call, so minted certificates differ from run to run; the Unix generator
keeps its pool in ``unix-ca-pool.pem`` for that reason.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

ORGANIZATION = "trustresolve fixtures"

_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def fixture_ca(
    common_name: str,
    *,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
    issuer: tuple[x509.Certificate, EllipticCurvePrivateKey] | None = None,
) -> tuple[x509.Certificate, EllipticCurvePrivateKey]:
    """A new CA certificate and its key; self-signed unless ``issuer`` (certificate, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    issuer_name, signer = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .sign(signer, hashes.SHA256())
    )
    return cert, key
