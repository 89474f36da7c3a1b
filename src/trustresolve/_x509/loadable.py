"""Whether OpenSSL can load a certificate our DER reader accepted (architecture §2).

``load_verify_locations`` fails for a whole file when OpenSSL's ``d2i_X509`` refuses one
certificate in it. Our reader checks the outer structure only, so the two can disagree; most
often on a name: OpenSSL canonicalizes every Name while decoding it (``x509_name_canon`` in
crypto/x509/x_name.c), converting its strings to UTF-8, which fails for an invalid UTF8String,
a BMPString of odd length or a UniversalString whose length is not a multiple of four; and it
may refuse a short time: a UTCTime shorter than 13 or a GeneralizedTime shorter than 15
characters is not proven fine here but handed to OpenSSL (3.0.22 refuses the first and loads a
13-character GeneralizedTime; crypto/asn1/tasn_dec.c).

Asking OpenSSL about every certificate would cost a parse per root per resolve, so the cheap
checks below prove the common case (names made of valid strings, well-sized times) fine, and
only a certificate they cannot prove fine is loaded into a throwaway ``SSLContext``: the answer
is then OpenSSL's own. Real stores hold almost none of those.
"""

from __future__ import annotations

from .._limits import MEMO_ENTRIES
from .der import Certificate, DERError, decode_string, name_rdns, parse_certificate, read_rdn

__all__ = ["openssl_refuses"]

_VISIBLE_STRING = 0x1A
_UTC_TIME, _GENERALIZED_TIME = 0x17, 0x18

# DER -> the verdict: a store's bundle and its hashed directory hold the same roots, so a
# first run asked twice per root (a fifth of its probe time in the profile). The verdict
# depends on the bytes and this process's OpenSSL only. Bounded like der.py's _parsed.
_verdicts: dict[bytes, bool] = {}


def openssl_refuses(certificate: Certificate) -> bool:
    """Whether OpenSSL's decoder refuses ``certificate`` (so a file holding it fails to load)."""
    known = _verdicts.get(certificate.der)
    if known is not None:
        return known
    refused = not _plainly_fine(certificate) and not _openssl_loads(certificate.der)
    if len(_verdicts) >= MEMO_ENTRIES:
        _verdicts.clear()
    _verdicts[certificate.der] = refused
    return refused


def _plainly_fine(certificate: Certificate) -> bool:
    try:
        return (
            _name_fine(certificate.subject)
            # A root's issuer is its subject: the same bytes need no second look.
            and (certificate.issuer == certificate.subject or _name_fine(certificate.issuer))
            and _times_fine(certificate)
        )
    except (DERError, IndexError, ValueError):
        return False


def _name_fine(encoded: bytes) -> bool:
    # name_rdns and read_rdn refuse (DERError) a Name that is not SETs of OID-and-value
    # SEQUENCEs, as read_name does.
    for rdn in name_rdns(encoded):
        fine = _fine_rdns.get(rdn)
        if fine is None:
            fine = all(fine for _, fine in read_rdn(rdn, _string_fine))
            if len(_fine_rdns) >= MEMO_ENTRIES:
                _fine_rdns.clear()
            _fine_rdns[rdn] = fine
        if not fine:
            return False
    return True


# An encoded RDN -> whether its strings are plainly fine: a store's roots share many.
_fine_rdns: dict[bytes, bool] = {}


def _string_fine(tag: int, value: bytes) -> bool:
    if tag == _VISIBLE_STRING:
        return False  # OpenSSL 3.0 refuses it in a Name (not in ASN1_PRINTABLE): let it say
    # Strict decoding (no overlong UTF-8, no surrogates, no values past U+10FFFF, whole BMP and
    # Universal units) is stricter than OpenSSL: what fails it is left for OpenSSL to judge.
    return decode_string(tag, value, strict=True) is not None


def _times_fine(certificate: Certificate) -> bool:
    # The sizes parse_certificate recorded while reading the certificate; a Certificate made
    # by hand has none, and then its DER is read for them.
    sizes = certificate.time_sizes or parse_certificate(certificate.der).time_sizes
    for tag, size in sizes:
        if (tag == _UTC_TIME and size < 13) or (tag == _GENERALIZED_TIME and size < 15):
            return False
    return True


def _openssl_loads(der: bytes) -> bool:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cadata=der)
    except (ssl.SSLError, ValueError):
        return False
    return True
