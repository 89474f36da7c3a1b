"""A minimal DER reader: enough to tell a certificate from garbage and to find its names.

trustresolve must not depend on ``cryptography`` (drivers import us, and a heavy dependency
would be theirs too), yet validity checks (architecture §2)
and subject hashes need to look inside a certificate. Only definite-length DER is
accepted, as RFC 5280 requires of certificates.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "STRING_UNITS",
    "TLV",
    "Certificate",
    "DERError",
    "decode_string",
    "parse_certificate",
    "read_children",
    "read_tlv",
]

SEQUENCE = 0x30
SET = 0x31
CONTEXT_0 = 0xA0
INTEGER = 0x02
BIT_STRING = 0x03
OBJECT_IDENTIFIER = 0x06
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
UTF8_STRING = 0x0C
NUMERIC_STRING = 0x12
PRINTABLE_STRING = 0x13
T61_STRING = 0x14
IA5_STRING = 0x16
UNIVERSAL_STRING = 0x1C
BMP_STRING = 0x1E

#: The one table of the string types a Name value is read as text from: tag -> bytes per
#: character, 0 meaning UTF-8. The one-byte types are Latin-1 and the others big-endian code
#: units, as OpenSSL's ``ASN1_STRING_to_UTF8`` reads them (its ``tag2nbyte`` table,
#: ``crypto/asn1/a_strex.c``); the subject hash, the RFC 4514 names and the snapshot labels all
#: decode through it. VisibleString is left out: OpenSSL refuses it in a Name (see
#: :mod:`trustresolve._x509.subject_hash`).
STRING_UNITS: dict[int, int] = {
    UTF8_STRING: 0,
    PRINTABLE_STRING: 1,
    T61_STRING: 1,
    IA5_STRING: 1,
    UNIVERSAL_STRING: 4,
    BMP_STRING: 2,
}
_CODECS = {0: "utf-8", 1: "latin-1", 2: "utf-16-be", 4: "utf-32-be"}


class DERError(ValueError):
    """The bytes are not the DER structure expected."""


def decode_string(tag: int, data: bytes, *, strict: bool = False) -> str | None:
    """A Name value of a :data:`STRING_UNITS` type as text (undecodable bytes replaced), for
    people to read; ``None`` for any other type. With ``strict``, bytes that do not decode (bad
    UTF-8, surrogates, a length that is not a whole number of units) raise ``ValueError``."""
    unit = STRING_UNITS.get(tag)
    if unit is None:
        return None
    if strict and unit > 1 and len(data) % unit:
        raise ValueError(f"{len(data)} bytes are not a whole number of {unit}-byte units")
    return data.decode(_CODECS[unit], "strict" if strict else "replace")


@dataclass(frozen=True)
class TLV:
    tag: int
    start: int  # offset of the tag byte
    value_start: int
    end: int  # offset just past the value

    def value(self, data: bytes) -> bytes:
        return data[self.value_start : self.end]

    def encoded(self, data: bytes) -> bytes:
        return data[self.start : self.end]


def read_tlv(data: bytes, offset: int = 0, limit: int | None = None) -> TLV:
    """Read one tag-length-value at ``offset``; its end must not pass ``limit``."""
    limit = len(data) if limit is None else limit
    if offset + 2 > limit:
        raise DERError("truncated header")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DERError("multi-byte tags are not used in certificates")
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise DERError("indefinite or oversized length")
        if pos + count > limit:
            raise DERError("truncated length")
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80 or data[pos] == 0:
            raise DERError("non-minimal length encoding")
        pos += count
    end = pos + length
    if end > limit:
        raise DERError("value runs past its container")
    return TLV(tag, offset, pos, end)


def read_children(data: bytes, parent: TLV) -> list[TLV]:
    """The TLVs directly inside a constructed ``parent``."""
    children = []
    pos = parent.value_start
    while pos < parent.end:
        child = read_tlv(data, pos, parent.end)
        children.append(child)
        pos = child.end
    return children


@dataclass(frozen=True)
class Certificate:
    """The parts of an X.509 certificate trustresolve uses; ``der`` is the whole encoding."""

    der: bytes
    subject: bytes  # the encoded Name, tag included
    issuer: bytes
    not_before: str
    not_after: str

    @property
    def self_issued(self) -> bool:
        return self.subject == self.issuer


def _expect(tlv: TLV, tag: int, what: str) -> None:
    if tlv.tag != tag:
        raise DERError(f"{what}: expected tag 0x{tag:02x}, found 0x{tlv.tag:02x}")


def _time(data: bytes, tlv: TLV) -> str:
    if tlv.tag not in (UTC_TIME, GENERALIZED_TIME):
        raise DERError("validity: not a time")
    text = tlv.value(data).decode("ascii", "replace")
    if tlv.tag == UTC_TIME:
        # RFC 5280 4.1.2.5.1: YY >= 50 means 19YY.
        century = "19" if text[:2] >= "50" else "20"
        text = century + text
    return f"{text[0:4]}-{text[4:6]}-{text[6:8]}T{text[8:10]}:{text[10:12]}:{text[12:14]}Z"


# DER -> its parsed (immutable) Certificate: one resolution reads each root several times
# (the probe, the subject hashes, a hashed directory's names), and parsing dominated the
# first run's profile. Bounded, as stores come and go in a long-lived process.
_parsed: dict[bytes, Certificate] = {}
_MAX_PARSED = 4096


def parse_certificate(der: bytes) -> Certificate:
    """Check the outer structure of an X.509 certificate and pull out its names and validity.

    Raises :class:`DERError` for anything that is not a certificate: truncated data, trailing
    bytes, a wrong tag where RFC 5280 fixes one.
    """
    der = bytes(der)  # a memoryview or bytearray could change under the memo
    known = _parsed.get(der)
    if known is not None:
        return known
    parsed = _parse(der)
    if len(_parsed) >= _MAX_PARSED:
        _parsed.clear()
    _parsed[der] = parsed
    return parsed


def _parse(der: bytes) -> Certificate:
    outer = read_tlv(der)
    _expect(outer, SEQUENCE, "certificate")
    if outer.end != len(der):
        raise DERError("trailing bytes after the certificate")
    parts = read_children(der, outer)
    if len(parts) != 3:
        raise DERError("a certificate has three parts")
    tbs, algorithm, signature = parts
    _expect(tbs, SEQUENCE, "tbsCertificate")
    _expect(algorithm, SEQUENCE, "signatureAlgorithm")
    _expect(signature, BIT_STRING, "signature")
    fields = read_children(der, tbs)
    if fields and fields[0].tag == CONTEXT_0:  # explicit version
        fields = fields[1:]
    if len(fields) < 6:
        raise DERError("tbsCertificate is missing fields")
    serial, _sig_alg, issuer, validity, subject, spki = fields[:6]
    _expect(serial, INTEGER, "serialNumber")
    _expect(issuer, SEQUENCE, "issuer")
    _expect(validity, SEQUENCE, "validity")
    _expect(subject, SEQUENCE, "subject")
    _expect(spki, SEQUENCE, "subjectPublicKeyInfo")
    times = read_children(der, validity)
    if len(times) != 2:
        raise DERError("validity holds two times")
    return Certificate(
        der=der,
        subject=subject.encoded(der),
        issuer=issuer.encoded(der),
        not_before=_time(der, times[0]),
        not_after=_time(der, times[1]),
    )
