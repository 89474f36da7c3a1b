"""A minimal DER reader: enough to tell a certificate from garbage and to find its names.

trustresolve must not depend on ``cryptography`` (drivers import us, and a heavy dependency
would be theirs too), yet validity checks (architecture §2)
and subject hashes need to look inside a certificate. Only definite-length DER is
accepted, as RFC 5280 requires of certificates.
"""

from __future__ import annotations

from .._limits import MEMO_ENTRIES
from .._record import field, record

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NamedTuple, TypeVar

    _T = TypeVar("_T")
else:
    from collections import namedtuple  # already imported by ssl, unlike typing

__all__ = [
    "STRING_UNITS",
    "TLV",
    "Certificate",
    "DERError",
    "decode_string",
    "name_rdns",
    "parse_certificate",
    "read_children",
    "read_name",
    "read_rdn",
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
    text = data.decode(_CODECS[unit], "strict" if strict else "replace")
    if strict and unit == 2 and text and max(text) > "\uffff":
        # A BMPString is UCS-2: the UTF-16 codec joins a surrogate pair into one character,
        # but OpenSSL refuses the surrogates themselves (is_unicode_valid), as
        # subject_hash.py's unit-by-unit reading does.
        raise ValueError("a surrogate in a BMPString")
    return text


if TYPE_CHECKING:

    class _Offsets(NamedTuple):
        tag: int
        start: int  # offset of the tag byte
        value_start: int
        end: int  # offset just past the value

else:
    _Offsets = namedtuple("TLV", ("tag", "start", "value_start", "end"))


class TLV(_Offsets):
    """One tag-length-value: its tag and where it lies in the bytes it was read from.

    A tuple, the cheapest object to build; the readers a first run uses (:func:`parse_certificate`,
    :func:`read_name`) build none at all: they walk plain offsets. Equal only to another TLV,
    as the frozen dataclass it replaces was.
    """

    __slots__ = ()

    def value(self, data: bytes) -> bytes:
        return data[self.value_start : self.end]

    def encoded(self, data: bytes) -> bytes:
        return data[self.start : self.end]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is TLV:
            return tuple.__eq__(self, other)
        # Not equal to a plain tuple of the same numbers either (a tuple would ask us first).
        return False if isinstance(other, tuple) else NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = tuple.__hash__


_new_tuple = tuple.__new__


def _header(data: bytes, offset: int, limit: int) -> tuple[int, int, int, int]:
    """The tag, start, value start and end of the tag-length-value at ``offset``: what
    :func:`read_tlv` returns as a :class:`TLV`, as a plain tuple for the walkers below."""
    if offset + 2 > limit:
        raise DERError("truncated header")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DERError("multi-byte tags are not used in certificates")
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        end = pos + first
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
    return (tag, offset, pos, end)


def _children(data: bytes, pos: int, end: int) -> list[tuple[int, int, int, int]]:
    """:func:`_header` of each TLV from ``pos`` to ``end``, which they must fill exactly."""
    children = []
    while pos < end:
        child = _header(data, pos, end)
        children.append(child)
        pos = child[3]
    return children


def read_tlv(data: bytes, offset: int = 0, limit: int | None = None) -> TLV:
    """Read one tag-length-value at ``offset``; its end must not pass ``limit``."""
    header = _header(data, offset, len(data) if limit is None else limit)
    return _new_tuple(TLV, header)


def read_children(data: bytes, parent: TLV) -> list[TLV]:
    """The TLVs directly inside a constructed ``parent``."""
    return [_new_tuple(TLV, child) for child in _children(data, parent.value_start, parent.end)]


@record(frozen=True)
class Certificate:
    """The parts of an X.509 certificate trustresolve uses; ``der`` is the whole encoding."""

    der: bytes
    subject: bytes  # the encoded Name, tag included
    issuer: bytes
    not_before: str
    not_after: str
    #: The tag and value length of notBefore and notAfter, as :func:`parse_certificate` read
    #: them: what :mod:`trustresolve._x509.loadable` judges the times by without walking the
    #: certificate again. Empty for a Certificate made by hand (loadable then parses ``der``).
    time_sizes: tuple[tuple[int, int], ...] = field(default=(), compare=False, repr=False)

    @property
    def self_issued(self) -> bool:
        return self.subject == self.issuer


def _expect(tlv: tuple[int, int, int, int], tag: int, what: str) -> None:
    if tlv[0] != tag:
        raise DERError(f"{what}: expected tag 0x{tag:02x}, found 0x{tlv[0]:02x}")


def _time(data: bytes, tlv: tuple[int, int, int, int]) -> str:
    tag = tlv[0]
    if tag not in (UTC_TIME, GENERALIZED_TIME):
        raise DERError("validity: not a time")
    text = data[tlv[2] : tlv[3]].decode("ascii", "replace")
    if tag == UTC_TIME:
        # RFC 5280 4.1.2.5.1: YY >= 50 means 19YY.
        century = "19" if text[:2] >= "50" else "20"
        text = century + text
    return f"{text[0:4]}-{text[4:6]}-{text[6:8]}T{text[8:10]}:{text[10:12]}:{text[12:14]}Z"


# DER -> its parsed (immutable) Certificate: one resolution reads each root several times
# (the probe, the subject hashes, a hashed directory's names), and parsing dominated the
# first run's profile. Bounded, as stores come and go in a long-lived process.
_parsed: dict[bytes, Certificate] = {}


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
    if len(_parsed) >= MEMO_ENTRIES:
        _parsed.clear()
    _parsed[der] = parsed
    return parsed


def _parse(der: bytes) -> Certificate:
    # One walk over plain offsets, checking in the order the TLV readers above would.
    outer = _header(der, 0, len(der))
    _expect(outer, SEQUENCE, "certificate")
    if outer[3] != len(der):
        raise DERError("trailing bytes after the certificate")
    parts = _children(der, outer[2], outer[3])
    if len(parts) != 3:
        raise DERError("a certificate has three parts")
    tbs, algorithm, signature = parts
    _expect(tbs, SEQUENCE, "tbsCertificate")
    _expect(algorithm, SEQUENCE, "signatureAlgorithm")
    _expect(signature, BIT_STRING, "signature")
    fields = _children(der, tbs[2], tbs[3])
    if fields and fields[0][0] == CONTEXT_0:  # explicit version
        fields = fields[1:]
    if len(fields) < 6:
        raise DERError("tbsCertificate is missing fields")
    serial, _sig_alg, issuer, validity, subject, spki = fields[:6]
    _expect(serial, INTEGER, "serialNumber")
    _expect(issuer, SEQUENCE, "issuer")
    _expect(validity, SEQUENCE, "validity")
    _expect(subject, SEQUENCE, "subject")
    _expect(spki, SEQUENCE, "subjectPublicKeyInfo")
    times = _children(der, validity[2], validity[3])
    if len(times) != 2:
        raise DERError("validity holds two times")
    first, second = times
    return Certificate(
        der,
        der[subject[1] : subject[3]],
        der[issuer[1] : issuer[3]],
        _time(der, first),
        _time(der, second),
        ((first[0], first[3] - first[2]), (second[0], second[3] - second[2])),
    )


def read_name(name: bytes, convert: Callable[[int, bytes], _T]) -> list[list[tuple[bytes, _T]]]:
    """The RelativeDistinguishedNames of the DER-encoded Name ``name``, each a list of its
    AttributeTypeAndValues as (the encoded OID, ``convert(value tag, value bytes)``).

    Raises :class:`DERError` for what is not a Name, in the order a reader going RDN by RDN
    meets it; whatever ``convert`` raises passes through at its attribute.
    """
    return [read_rdn(rdn, convert) for rdn in name_rdns(name)]


def name_rdns(name: bytes) -> list[bytes]:
    """The encoded RelativeDistinguishedNames of the DER Name ``name`` (each tag included), for
    readers that remember what they found per RDN: a store's roots share many (C=US,
    O=DigiCert Inc). Each is checked by :func:`read_rdn`, the Name's outer structure here."""
    outer = _header(name, 0, len(name))
    if outer[0] != SEQUENCE or outer[3] != len(name):
        raise DERError("a Name is one SEQUENCE")
    return [name[start:end] for _, start, _, end in _children(name, outer[2], outer[3])]


def read_rdn(rdn: bytes, convert: Callable[[int, bytes], _T]) -> list[tuple[bytes, _T]]:
    """One RelativeDistinguishedName of :func:`name_rdns`, read as :func:`read_name` reads
    each."""
    # The form nearly every root's RDN has (all 295 distinct ones of Debian's 150 roots): one
    # AttributeTypeAndValue, every length in one byte, filling the SET exactly. Read by
    # position, it takes a quarter of the walk's time; the walk gives the same answer
    # (tests/test_x509_walk.py) and reads every other form.
    size = len(rdn)
    if (
        size >= 8
        and rdn[0] == SET
        and rdn[1] == size - 2 < 0x80
        and rdn[2] == SEQUENCE
        and rdn[3] == size - 4
        and rdn[4] == OBJECT_IDENTIFIER
        and rdn[5] < 0x80
    ):
        oid_end = 6 + rdn[5]
        if (
            oid_end + 2 <= size
            and rdn[oid_end + 1] == size - oid_end - 2
            and rdn[oid_end] & 0x1F != 0x1F
        ):
            return [(rdn[4:oid_end], convert(rdn[oid_end], rdn[oid_end + 2 :]))]
    return _walk_rdn(rdn, convert)


def _walk_rdn(rdn: bytes, convert: Callable[[int, bytes], _T]) -> list[tuple[bytes, _T]]:
    rdn_tag, _, rdn_start, rdn_end = _header(rdn, 0, len(rdn))
    if rdn_tag != SET:
        raise DERError("a RelativeDistinguishedName is a SET")
    entries = []
    for atv_tag, _, atv_start, atv_end in _children(rdn, rdn_start, rdn_end):
        if atv_tag != SEQUENCE:
            raise DERError("an AttributeTypeAndValue is a SEQUENCE")
        fields = _children(rdn, atv_start, atv_end)
        if len(fields) != 2 or fields[0][0] != OBJECT_IDENTIFIER:
            raise DERError("an AttributeTypeAndValue holds an OID and a value")
        (_, oid_start, _, oid_end), (tag, _, value_start, value_end) = fields
        entries.append((rdn[oid_start:oid_end], convert(tag, rdn[value_start:value_end])))
    return entries
