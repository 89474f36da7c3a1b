"""Which CA a certificate names as its issuer, and which CA a root is: names and key identifiers.

OpenSSL finds a certificate's issuer by name (``X509_NAME_cmp`` over the canonical encoding,
:func:`~trustresolve._x509.subject_hash.canonical_name`) and then, when the certificate has an
Authority Key Identifier, by that key identifier against the candidate's Subject Key Identifier
(``X509_check_akid``, crypto/x509/v3_purp.c). :func:`issued_by` asks the same two questions, so
"this root would be the issuer" means what it means to OpenSSL. A root without a Subject Key
Identifier gets the one RFC 5280 §4.2.1.2 method (1) defines (the SHA-1 of its public key bits),
as OpenSSL computes it. Only the connection doctor's advice uses this; nothing here is trusted.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from .._digests import sha1_identifier
from .certinfo import _extensions, format_name, parse_time
from .der import BIT_STRING, DERError, parse_certificate, read_children, read_tlv
from .subject_hash import canonical_name

__all__ = ["Identity", "identify", "issued_by", "same_ca"]

_SKI = "2.5.29.14"
_AKI = "2.5.29.35"
_KEY_IDENTIFIER = 0x80  # AuthorityKeyIdentifier keyIdentifier [0] IMPLICIT OCTET STRING


@dataclass(frozen=True)
class Identity:
    """What names a CA: its subject and key, and what names its issuer."""

    der: bytes
    subject: bytes  # the canonical encoding (compare these, not the DER as sent)
    issuer: bytes
    subject_text: str  # RFC 4514, for people
    public_key: bytes  # the subjectPublicKeyInfo, DER
    key_id: bytes  # the Subject Key Identifier (or RFC 5280's SHA-1 of the key bits)
    authority_key_id: bytes | None  # the AKI's keyIdentifier, when present
    not_after: datetime.datetime

    def expired(self, now: datetime.datetime) -> bool:
        return self.not_after < now


def identify(der: bytes) -> Identity:
    """Raises :class:`~trustresolve._x509.der.DERError` for what is not a certificate."""
    cert = parse_certificate(der)
    spki = _public_key(der)
    try:
        extensions = _extensions(der)
    except (DERError, ValueError, IndexError, StopIteration):
        extensions = {}
    try:
        subject, issuer = canonical_name(cert.subject), canonical_name(cert.issuer)
    except (DERError, ValueError) as exc:
        raise DERError(f"a name OpenSSL cannot compare: {exc}") from exc
    return Identity(
        der=der,
        subject=subject,
        issuer=issuer,
        subject_text=format_name(cert.subject),
        public_key=spki,
        key_id=_subject_key_id(extensions.get(_SKI), spki),
        authority_key_id=_authority_key_id(extensions.get(_AKI)),
        not_after=parse_time(cert.not_after),
    )


def issued_by(cert: Identity, ca: Identity) -> bool | None:
    """Whether OpenSSL would take ``ca`` as the issuer of ``cert``: the same name and an AKI
    naming ``ca``'s key. ``None`` when the names match but ``cert`` has no AKI: the name alone
    does not tell two CAs of one name apart (the caller checks the signature then)."""
    if cert.issuer != ca.subject:
        return False
    if cert.authority_key_id is None:
        return None
    return cert.authority_key_id == ca.key_id


def same_ca(a: Identity, b: Identity) -> bool:
    """Two certificates of one CA: the same name and the same key (a renewal, a re-issue)."""
    return a.subject == b.subject and a.public_key == b.public_key


def _public_key(der: bytes) -> bytes:
    tbs = read_children(der, read_tlv(der))[0]
    fields = read_children(der, tbs)
    if fields[0].tag == 0xA0:
        fields = fields[1:]
    return fields[5].encoded(der)


def _subject_key_id(value: bytes | None, spki: bytes) -> bytes:
    if value is not None:
        try:
            return read_tlv(value).value(value)
        except DERError:
            pass
    key_bits = read_children(spki, read_tlv(spki))[1]
    if key_bits.tag != BIT_STRING:
        raise DERError("subjectPublicKey: not a BIT STRING")
    bits = key_bits.value(spki)[1:]  # the first byte counts the unused bits
    return sha1_identifier(bits)


def _authority_key_id(value: bytes | None) -> bytes | None:
    if value is None:
        return None
    try:
        for part in read_children(value, read_tlv(value)):
            if part.tag == _KEY_IDENTIFIER:
                return part.value(value)
    except DERError:
        return None
    return None
