"""PEM text: one linear scanner that classifies every block as OpenSSL would (architecture §8).

OpenSSL's ``PEM_X509_INFO_read_bio`` (what ``load_verify_locations(cafile=...)`` uses) reads
``CERTIFICATE`` and ``X509 CERTIFICATE`` blocks as certificates, ``TRUSTED CERTIFICATE``
blocks as a certificate followed by its auxiliary trust (``X509_CERT_AUX``: trusted and
rejected purposes), ``X509 CRL`` blocks as CRLs, private keys as keys, and skips other labels.
A BEGIN line is a line that starts with ``-----BEGIN `` and ends, after trailing whitespace,
with ``-----``; its END line must repeat the label (OpenSSL crypto/pem/pem_lib.c).

The scanner looks only at ``-----BEGIN ``/``-----END `` markers (found by one regular
expression pass) and at the line each one is on, so its cost is linear in the input whatever
the input holds. A marker that is not a well-formed line of its own is *stray*: OpenSSL may
still read it (it reads long lines in pieces), so a text with one is never handed to OpenSSL
as it is.

The trust of a ``TRUSTED CERTIFICATE`` block for TLS servers follows OpenSSL's
``obj_trust`` (crypto/x509/x509_trust.c) for ``NID_server_auth`` with ``X509_TRUST_OK_ANY_EKU``:
a reject entry for serverAuth or anyExtendedKeyUsage rejects; otherwise a trust list trusts when
it names one of them and rejects when it does not (an e-mail-only root); no list at all is a
plain certificate.
"""

from __future__ import annotations

import binascii
import re
import sys

from .._limits import MEMO_ENTRIES
from .._record import record
from .der import TLV, Certificate, DERError, parse_certificate, read_children, read_tlv

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "CERTIFICATE_LABELS",
    "BlockList",
    "PemBlock",
    "PemScan",
    "TrustedCertificate",
    "der_to_pem",
    "lone_certificate",
    "parse_trusted",
    "read_blocks",
    "scan_pem",
]

CERTIFICATE_LABELS = (b"CERTIFICATE", b"X509 CERTIFICATE")
TRUSTED_LABEL = b"TRUSTED CERTIFICATE"
CRL_LABEL = b"X509 CRL"
_BEGIN = b"-----BEGIN "
_END = b"-----END "
_TAIL = b"-----"
# The DER values of the two OIDs that make a root a TLS server anchor (RFC 5280 4.2.1.12).
_SERVER_AUTH = bytes.fromhex("2b06010505070301")  # 1.3.6.1.5.5.7.3.1
_ANY_EKU = bytes.fromhex("551d2500")  # 2.5.29.37.0
_OID_TAG = 0x06


@record(frozen=True)
class PemBlock:
    """One BEGIN/END block: its label, its decoded bytes (``None``: not base64) and offset."""

    label: bytes
    der: bytes | None
    offset: int

    @property
    def kind(self) -> str:
        """``certificate``, ``trusted``, ``crl``, ``key`` or ``other``, as OpenSSL reads it."""
        if self.label in CERTIFICATE_LABELS:
            return "certificate"
        if self.label == TRUSTED_LABEL:
            return "trusted"
        if self.label == CRL_LABEL:
            return "crl"
        if self.label.endswith(b"PRIVATE KEY"):
            return "key"
        return "other"


@record(frozen=True)
class BlockList:
    """The blocks of a text, plus markers that did not frame a block."""

    blocks: tuple[PemBlock, ...]
    broken: int  # a BEGIN with no matching END, or an END naming another label
    stray: int  # a marker that is not a line of its own


def _marker_line(data: bytes, start: int, head: int) -> tuple[bytes | None, int]:
    """The label of the marker line at ``start`` (``None``: not well formed) and its end;
    ``head`` is the length of the marker (``-----BEGIN `` or ``-----END ``)."""
    if start and data[start - 1] != 0x0A:  # not at the start of a line
        # Before looking for the line's end: markers strung along one line must not each scan
        # to its end (quadratic; a scanner test on PyPy). The end is unused for a bad marker.
        return None, start
    end = data.find(b"\n", start)
    end = len(data) if end < 0 else end
    line = data[start:end].rstrip(b" \t\r\x0b\x0c\x00")
    if len(line) < head + len(_TAIL) or not line.endswith(_TAIL):
        return None, end
    return line[head : -len(_TAIL)], end


def _markers(data: bytes) -> Iterator[tuple[int, bool]]:
    """Where each ``-----BEGIN `` (``True``) and ``-----END `` (``False``) starts, in order.

    No two of them can overlap (neither holds ``-----`` after its start), so this is every
    match of ``-----(BEGIN|END) `` left to right, found by ``bytes.find`` without compiling a
    regular expression (0.2 ms of a first run); ``tests/test_x509_walk.py`` compares the two.
    """
    begin, end = data.find(_BEGIN), data.find(_END)
    while begin >= 0 or end >= 0:
        if end < 0 or 0 <= begin < end:
            yield begin, True
            begin = data.find(_BEGIN, begin + len(_BEGIN))
        else:
            yield end, False
            end = data.find(_END, end + len(_END))


def read_blocks(data: bytes) -> BlockList:
    """Every block of ``data``, in one pass over its BEGIN/END markers."""
    blocks: list[PemBlock] = []
    broken = stray = 0
    open_label: bytes | None = None
    open_at = body_start = 0
    for start, begins in _markers(data):
        label, line_end = _marker_line(data, start, len(_BEGIN) if begins else len(_END))
        if label is None:
            stray += begins
            continue
        if begins:
            broken += open_label is not None  # a BEGIN inside a block: the first never ended
            open_label, open_at, body_start = label, start, line_end + 1
            continue
        if open_label is None:
            continue  # an END outside a block is text OpenSSL skips
        if label == open_label:
            blocks.append(PemBlock(label, _decode(data[body_start:start]), open_at))
        else:
            broken += 1
        open_label = None
    broken += open_label is not None
    return BlockList(tuple(blocks), broken, stray)


# Base64 body -> its bytes (None: not base64). A first run decodes each root twice, from the
# bundle and from its hashed directory's file, and decoding cost more than looking it up.
# Bounded like der.py's _parsed.
_decoded: dict[bytes, bytes | None] = {}
# What ``bytes.split()`` splits on (ASCII whitespace), deleted in one pass: the stdlib's
# ``b"".join(body.split())`` is 0.5 ms more over Debian's 150 roots.
_WHITESPACE = b" \t\n\r\x0b\x0c"


def _decode(body: bytes) -> bytes | None:
    body = bytes(body)  # a bytearray text would be no key (bytes are returned as they are)
    if body in _decoded:
        return _decoded[body]
    try:
        decoded: bytes | None = _b64decode(body.translate(None, _WHITESPACE))
    except (binascii.Error, ValueError):
        decoded = None
    if len(_decoded) >= MEMO_ENTRIES:
        _decoded.clear()
    _decoded[body] = decoded
    return decoded


# base64.b64decode(data, validate=True) without its argument handling, as each version's
# Lib/base64.py has it: 3.11 added binascii's strict_mode and made validate use it; before,
# validate was a regular expression in front of the lenient decoder (CPython 3.9 and 3.10,
# PyPy 3.9). The same version test keeps what is refused the same as the stdlib's.
if sys.version_info >= (3, 11):

    def _b64decode(data: bytes) -> bytes:
        return binascii.a2b_base64(data, strict_mode=True)

else:
    _BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")

    def _b64decode(data: bytes) -> bytes:
        if _BASE64.fullmatch(data) is None:
            raise binascii.Error("Non-base64 digit found")
        return binascii.a2b_base64(data)


@record(frozen=True)
class TrustedCertificate:
    """A ``TRUSTED CERTIFICATE`` block: the certificate and what its trust says for TLS."""

    certificate: Certificate
    #: ``trusted`` (serverAuth/anyExtendedKeyUsage), ``rejected`` (a reject entry for them),
    #: ``other-purpose`` (a trust list without them, e.g. e-mail only), ``plain`` (no trust).
    tls: str


def parse_trusted(der: bytes) -> TrustedCertificate:
    """Split OpenSSL's ``d2i_X509_AUX`` encoding: a certificate, then an optional aux."""
    outer = read_tlv(der)
    certificate = parse_certificate(der[: outer.end])
    rest = der[outer.end :]
    if not rest:
        return TrustedCertificate(certificate, "plain")
    return TrustedCertificate(certificate, _tls_trust(rest))


def _tls_trust(aux_der: bytes) -> str:
    """OpenSSL's ``obj_trust`` for serverAuth over ``X509_CERT_AUX`` (crypto/x509/x_x509a.c):
    ``SEQUENCE { trust SEQUENCE OF OID OPTIONAL, reject [0] IMPLICIT SEQUENCE OF OID OPTIONAL,
    alias UTF8String OPTIONAL, keyid OCTET STRING OPTIONAL, other [1] IMPLICIT ... OPTIONAL }``."""
    aux = read_tlv(aux_der)
    if aux.tag != 0x30 or aux.end != len(aux_der):
        raise DERError("trust settings: not one SEQUENCE")
    trust: list[bytes] | None = None
    reject: list[bytes] = []
    order = (0x30, 0xA0, 0x0C, 0x04, 0xA1)
    position = 0
    for child in read_children(aux_der, aux):
        if child.tag not in order[position:]:
            raise DERError("trust settings: unexpected or misordered field")
        position = order.index(child.tag) + 1
        if child.tag == 0x30:
            trust = _oids(aux_der, child)
        elif child.tag == 0xA0:
            reject = _oids(aux_der, child)
    if any(oid in (_SERVER_AUTH, _ANY_EKU) for oid in reject):
        return "rejected"
    if trust is None:
        return "plain"
    if any(oid in (_SERVER_AUTH, _ANY_EKU) for oid in trust):
        return "trusted"
    return "other-purpose"  # obj_trust: explicit trust that names none of them rejects


def _oids(data: bytes, parent: TLV) -> list[bytes]:
    values = []
    for child in read_children(data, parent):
        if child.tag != _OID_TAG or child.end == child.value_start:
            raise DERError("trust settings: not an OBJECT IDENTIFIER")
        values.append(child.value(data))
    return values


@record(frozen=True)
class PemScan:
    """What a PEM text holds for TLS: the anchors OpenSSL would use, and everything else."""

    #: Certificates that are TLS server anchors, in order (rejections within this text applied).
    certificates: tuple[Certificate, ...]
    bad_blocks: int  # certificate blocks (any label) that do not parse
    trusted_blocks: int  # TRUSTED CERTIFICATE blocks that parsed
    other_blocks: int  # keys, CRLs and other labels, ignored
    #: Certificates a TRUSTED CERTIFICATE block rejects for serverAuth.
    rejected: tuple[Certificate, ...] = ()
    #: Certificates whose trust names other purposes only (e.g. e-mail protection).
    other_purpose: tuple[Certificate, ...] = ()
    stray_markers: int = 0
    crl_blocks: int = 0
    broken_blocks: int = 0  # a BEGIN line with no matching END line

    @property
    def not_for_tls(self) -> tuple[Certificate, ...]:
        """Every certificate whose trust settings keep it from being a TLS anchor."""
        return self.rejected + self.other_purpose

    @property
    def exact(self) -> bool:
        """Whether OpenSSL, given the text itself, would trust exactly ``certificates``."""
        return not (
            self.bad_blocks
            or self.trusted_blocks
            or self.other_blocks
            or self.stray_markers
            or self.crl_blocks
            or self.broken_blocks
        )

    @property
    def problems(self) -> list[str]:
        notes = []
        if self.bad_blocks:
            notes.append(f"{self.bad_blocks} CERTIFICATE block(s) did not parse and were skipped")
        if self.broken_blocks:
            notes.append(
                f"{self.broken_blocks} block(s) truncated: a BEGIN line has no matching END line"
            )
        if self.stray_markers:
            notes.append(f"{self.stray_markers} -----BEGIN marker(s) not on a line of their own")
        if self.rejected:
            notes.append(
                f"{len(self.rejected)} TRUSTED CERTIFICATE root(s) rejected for TLS servers "
                "(their trust settings say so) were not counted"
            )
        if self.other_purpose:
            notes.append(
                f"{len(self.other_purpose)} TRUSTED CERTIFICATE root(s) trusted only for other "
                "purposes (e.g. e-mail) were not counted"
            )
        return notes


# The last text scanned and its (immutable) scan: a first run scans a store's bundle twice, in
# the probe and in the load plan (architecture §9.2), and the answer depends on the bytes only.
_last_scan: tuple[bytes, PemScan] | None = None


def scan_pem(data: bytes) -> PemScan:
    """Classify every block of ``data``; a block that fails never spoils the others.

    A root that any block of ``data`` rejects (or trusts for other purposes only) is not in
    ``certificates`` even when another block holds it as a plain certificate: OpenSSL keeps one
    copy of a certificate per store, and which one it keeps depends on order.
    """
    global _last_scan  # noqa: PLW0603 - one slot, replaced whole (thread-safe)
    data = bytes(data)  # a bytearray or memoryview could change under the memo
    last = _last_scan
    if last is not None and last[0] == data:
        return last[1]
    scan = _scan(data)
    _last_scan = (data, scan)
    return scan


def _scan(data: bytes) -> PemScan:
    listing = read_blocks(data)
    candidates: list[Certificate] = []
    rejected: list[Certificate] = []
    other_purpose: list[Certificate] = []
    bad = trusted = other = crls = 0
    for block in listing.blocks:
        kind = block.kind
        if kind in ("crl", "key", "other"):
            crls += kind == "crl"
            other += kind != "crl"
            continue
        if block.der is None:
            bad += 1
            continue
        try:
            if kind == "certificate":
                candidates.append(parse_certificate(block.der))
                continue
            parsed = parse_trusted(block.der)
        except (DERError, ValueError):
            bad += 1
            continue
        trusted += 1
        if parsed.tls == "rejected":
            rejected.append(parsed.certificate)
        elif parsed.tls == "other-purpose":
            other_purpose.append(parsed.certificate)
        else:
            candidates.append(parsed.certificate)
    refused = {cert.der for cert in (*rejected, *other_purpose)}
    anchors = tuple(cert for cert in candidates if cert.der not in refused)
    # Every field in order, no keywords: a record's quickest way in (one scan per file read).
    return PemScan(
        anchors,
        bad,
        trusted,
        other,
        tuple(rejected),
        tuple(other_purpose),
        listing.stray,
        crls,
        listing.broken,
    )


# How der_to_pem frames a certificate, as the rehash tools do; lone_certificate reads it back.
_PEM_HEAD = "-----BEGIN CERTIFICATE-----\n"
_PEM_FOOT = "-----END CERTIFICATE-----\n"
_LONE_HEAD = _PEM_HEAD.encode("ascii")
_LONE_FOOT = _PEM_FOOT.encode("ascii")


def lone_certificate(data: bytes) -> bytes | None:
    """The DER of ``data`` when it is one ``CERTIFICATE`` block and nothing else, framed as
    ``update-ca-certificates``, ``openssl rehash`` and ``c_rehash`` leave every root: the BEGIN
    line first, the END line last, no other marker. That is what :func:`scan_pem` finds in
    such a file, found without the scan, and decoded through the scan's memo (a first run has
    decoded the bundle's copy of each root already). ``None`` for anything else: scan it.
    """
    end = len(data) - len(_LONE_FOOT)
    if (
        end <= len(_LONE_HEAD)
        or not data.startswith(_LONE_HEAD)
        or not data.endswith(_LONE_FOOT)
        or data[end - 1] != 0x0A  # the END marker starts a line
        or data.find(b"-----", len(_LONE_HEAD), end) >= 0
    ):
        return None
    return _decode(data[len(_LONE_HEAD) : end])


def der_to_pem(der: bytes) -> str:
    body = binascii.b2a_base64(der, newline=False).decode("ascii")  # base64.standard_b64encode
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return _PEM_HEAD + "\n".join(lines) + "\n" + _PEM_FOOT
