"""OpenSSL's subject-name hash, the ``HHHHHHHH`` of ``HHHHHHHH.N`` in a hashed directory.

``openssl x509 -subject_hash``, ``c_rehash`` and OpenSSL's ``by_dir`` lookup (``capath``) all use
``X509_NAME_hash_ex``: the SHA-1 of the name's *canonical encoding*, whose first four bytes, read
little-endian, are printed as eight hex digits. The canonical encoding is built by
``x509_name_canon`` and ``asn1_string_canon`` (OpenSSL ``crypto/x509/x_name.c``):

- the outer SEQUENCE header of the Name is dropped; each RelativeDistinguishedName is re-encoded
  as a DER SET OF its AttributeTypeAndValues (so a multi-valued RDN is sorted by encoding), and
  an RDN without entries disappears; an empty Name hashes the empty string;
- values of the types in ``ASN1_MASK_CANON`` (UTF8String, BMPString, UniversalString,
  PrintableString, T61String, IA5String, VisibleString) become UTF8String: converted to UTF-8 (the
  one-byte types as Latin-1, as ``ASN1_STRING_to_UTF8`` reads them), leading and trailing ASCII
  whitespace removed, each inner run of ASCII whitespace replaced by one space, ASCII letters
  lower-cased; bytes outside ASCII are copied unchanged;
- any other value (NumericString, for one) is copied with its original tag.

The hash is only used to name files that OpenSSL will look up, so a wrong hash silently drops a
root. Hence this module refuses (:class:`~trustresolve._x509.der.DERError`) whatever it cannot
reproduce exactly, and the caller then loads the bundle eagerly instead: value types OpenSSL does
not accept in a Name (VisibleString is in the canonical mask but not in ``ASN1_PRINTABLE``, so
OpenSSL rejects the whole certificate), rarely seen ones (BIT STRING, SEQUENCE, the "unknown"
tags), constructed strings, and strings that do not convert (bad UTF-8, surrogates, odd BMP
lengths).

:func:`name_hash_old` is ``X509_NAME_hash_old`` (``openssl x509 -subject_hash_old``, the ``-old``
of ``c_rehash``): the MD5 of the Name's DER as it stands, first four bytes little-endian. OpenSSL
1.0+ never looks a name up by it, but p11-kit's ``trust extract`` (its ``extract-openssl.c``:
"Different versions of openssl build these hashes differently so output both of them") and
Debian's ``update-ca-certificates`` write a link under both hashes, so pairing a directory with
its bundle has to recognise these links as the same certificates.
"""

from __future__ import annotations

from .._digests import md5_identifier, sha1_identifier
from .._limits import MEMO_ENTRIES
from .der import (
    NUMERIC_STRING,
    SEQUENCE,
    SET,
    STRING_UNITS,
    UTF8_STRING,
    DERError,
    name_rdns,
    parse_certificate,
    read_rdn,
    read_tlv,
)

__all__ = ["canonical_name", "name_hash", "name_hash_old", "subject_hash", "subject_hash_old"]

# The string types asn1_string_canon converts are der.STRING_UNITS (VisibleString is left out on
# purpose: see the module docstring).
_CANON_UNIT = STRING_UNITS
# Value types copied unchanged, as OpenSSL does for types outside ASN1_MASK_CANON.
_COPIED = frozenset({NUMERIC_STRING})
_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")


def _encode(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes((tag, length)) + content
    size = (length.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + length.to_bytes(size, "big") + content


def _code_points(data: bytes, unit: int) -> str:
    if len(data) % unit:
        raise DERError(f"string length {len(data)} is not a multiple of {unit}")
    chars = []
    for i in range(0, len(data), unit):
        value = int.from_bytes(data[i : i + unit], "big")
        # is_unicode_valid(): OpenSSL refuses surrogates and values past U+10FFFF.
        if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            raise DERError(f"invalid code point U+{value:04X} in a name")
        chars.append(chr(value))
    return "".join(chars)


def _to_utf8(tag: int, data: bytes) -> bytes:
    unit = _CANON_UNIT[tag]
    if unit <= 1 and data.isascii():
        return data  # ASCII is its own UTF-8, from UTF8String and from one-byte strings alike
    if unit == 0:
        try:
            data.decode("utf-8")  # strict: no overlong forms, surrogates or values past U+10FFFF
        except UnicodeDecodeError as exc:
            raise DERError(f"invalid UTF8String in a name: {exc}") from exc
        return data
    if unit == 1:
        return data.decode("latin-1").encode("utf-8")
    return _code_points(data, unit).encode("utf-8")


def _canon_string(data: bytes) -> bytes:
    """asn1_string_canon on UTF-8 bytes: trim, collapse ASCII whitespace, lower-case ASCII."""
    # bytes.split() splits on ossl_isspace's set, the C locale's ASCII whitespace
    # (" \t\n\v\f\r"), and drops leading and trailing runs: trim and collapse in one step.
    return b" ".join(data.split()).translate(_LOWER)


def _canon_value(tag: int, content: bytes) -> bytes:
    if tag in _CANON_UNIT:
        return _encode(UTF8_STRING, _canon_string(_to_utf8(tag, content)))
    if tag in _COPIED:
        return _encode(tag, content)  # the value as it was: DER has one encoding of a length
    raise DERError(f"name attribute value of type 0x{tag:02x} is not supported")


def canonical_name(name: bytes) -> bytes:
    """OpenSSL's canonical encoding (``canon_enc``) of the DER-encoded Name ``name``."""
    parts = []
    for encoded in name_rdns(name):
        canonical = _canonical_rdns.get(encoded)
        if canonical is None:
            canonical = _canonical_rdn(encoded)
            if len(_canonical_rdns) >= MEMO_ENTRIES:
                _canonical_rdns.clear()
            _canonical_rdns[encoded] = canonical
        parts.append(canonical)
    return b"".join(parts)


# An encoded RDN -> its canonical encoding: a store's roots share many (C=US, O=DigiCert Inc:
# 295 distinct of the 527 in Debian's 150 roots), and a first run hashes every subject.
_canonical_rdns: dict[bytes, bytes] = {}


def _canonical_rdn(rdn: bytes) -> bytes:
    """The canonical encoding of one RelativeDistinguishedName (a SET, tag included)."""
    entries = read_rdn(rdn, _canon_value)
    if not entries:
        return b""  # an empty RDN adds nothing to the encoding
    # DER SET OF: elements in ascending order of their encodings (OpenSSL's der_cmp: memcmp
    # of the common prefix, then the shorter first), i.e. bytes ordering.
    encoded = sorted([_encode(SEQUENCE, oid + value) for oid, value in entries])
    return _encode(SET, b"".join(encoded))


# Name DER -> its hash: the probe, the pairing check and a hashed directory's names each hash
# every root of a store (parse_certificate in der.py is memoized for the same reason).
_hashed: dict[bytes, str] = {}


def name_hash(name: bytes) -> str:
    """``X509_NAME_hash_ex`` of the DER-encoded Name ``name``, as eight lower-case hex digits."""
    name = bytes(name)
    known = _hashed.get(name)
    if known is not None:
        return known
    digest = sha1_identifier(canonical_name(name))
    found = f"{int.from_bytes(digest[:4], 'little'):08x}"
    if len(_hashed) >= MEMO_ENTRIES:
        _hashed.clear()
    _hashed[name] = found
    return found


def name_hash_old(name: bytes) -> str:
    """``X509_NAME_hash_old`` of the DER-encoded Name ``name``: the MD5 of the DER as is."""
    outer = read_tlv(name)
    if outer.tag != SEQUENCE or outer.end != len(name):
        raise DERError("a Name is one SEQUENCE")
    digest = md5_identifier(name)
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def subject_hash(certificate: bytes) -> str:
    """What ``openssl x509 -subject_hash`` prints for the DER ``certificate``."""
    return name_hash(parse_certificate(certificate).subject)


def subject_hash_old(certificate: bytes) -> str:
    """What ``openssl x509 -subject_hash_old`` prints for the DER ``certificate``."""
    return name_hash_old(parse_certificate(certificate).subject)
