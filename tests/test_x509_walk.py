"""The DER walkers' answers: OpenSSL's own load verdicts, the stdlib's base64, fixed errors.

``parse_certificate`` reads a certificate once, over plain offsets, and records what
:mod:`trustresolve._x509.loadable` needs; ``read_name`` is the one walk of a Name behind both the
loadable check and the subject hash. These tests hold those walks to outside answers: a real
``load_verify_locations`` for certificates whose names and times were changed byte by byte, and
``base64.b64decode(validate=True)`` of the running interpreter for PEM bodies.
"""

from __future__ import annotations

import base64
import binascii
import os
import ssl
import subprocess
import sys
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from hypothesis import example, given, settings
from hypothesis import strategies as st

from support.ca import bare
from trustresolve._limits import MEMO_ENTRIES
from trustresolve._record import FrozenRecordError
from trustresolve._x509 import der, loadable, pem, subject_hash
from trustresolve._x509.der import (
    TLV,
    Certificate,
    DERError,
    _walk_rdn,
    parse_certificate,
    read_children,
    read_name,
    read_rdn,
    read_tlv,
)
from trustresolve._x509.pem import _WHITESPACE, _decode, scan_pem
from trustresolve._x509.subject_hash import _encode, canonical_name

_UTF8 = _ASN1Type.UTF8String
# Placeholders whose bytes the tests below overwrite in place (lengths kept: 13 is odd and not
# a multiple of 4, 12 is both even and a multiple of 4).
_SUBJECT = (b"A" * 13, b"B" * 12)
_ISSUER = (b"C" * 13, b"D" * 12)


def _name(first: bytes, second: bytes) -> x509.Name:
    return x509.Name(
        [
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATION_NAME, first.decode(), _type=_UTF8)]
            ),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.COMMON_NAME, second.decode(), _type=_UTF8)]
            ),
        ]
    )


_ROOT = bare(_name(*_SUBJECT)).der  # issuer == subject, as in a store
_LEAF = bare(_name(*_SUBJECT), issuer_name=_name(*_ISSUER)).der


def _openssl_loads(der: bytes) -> bool:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=der)
    except ssl.SSLError:
        return False
    return True


def _replace(der: bytes, placeholder: bytes, tag: int, content: bytes) -> bytes:
    header = bytes((0x0C, len(placeholder)))
    assert der.count(header + placeholder) >= 1
    return der.replace(header + placeholder, bytes((tag, len(placeholder))) + content)


# Name value types OpenSSL decodes, refuses or converts (VisibleString, 0x1a, it refuses).
_TAGS = st.sampled_from([0x0C, 0x13, 0x14, 0x16, 0x1E, 0x1C, 0x12, 0x1A, 0x04, 0x03, 0x02])
_BYTES = st.sampled_from([0x41, 0x20, 0x00, 0x7F, 0x80, 0xBF, 0xC3, 0xD8, 0xDC, 0xED, 0xF4, 0xFF])


def _content(size: int) -> st.SearchStrategy[bytes]:
    return st.lists(_BYTES | st.integers(0, 255), min_size=size, max_size=size).map(bytes)


_CHANGE = st.tuples(_TAGS, _content(13), _TAGS, _content(12))


@given(
    st.booleans(),
    _CHANGE,
    _CHANGE,
    st.sampled_from([0x17, 0x18]),
    st.sampled_from([0x17, 0x18]),
)
@settings(max_examples=250, deadline=None)
# A surrogate pair in a BMPString: the UTF-16 codec joins it, OpenSSL refuses it (found on 3.9).
@example(
    False,
    (0x0C, b"A" * 13, 0x0C, b"A" * 12),
    (0x0C, b"A" * 13, 0x1E, b"AAAAAAAA\xd8A\xdcA"),
    0x17,
    0x17,
)
def test_the_refusal_verdict_is_openssl_own_load_verdict(
    self_issued: bool,
    subject: tuple[int, bytes, int, bytes],
    issuer: tuple[int, bytes, int, bytes],
    not_before_tag: int,
    not_after_tag: int,
) -> None:
    """A certificate whose name strings and time types were rewritten in place (same lengths):
    ``openssl_refuses`` says what a real load says, whether the names or the times decide."""
    der = _ROOT if self_issued else _LEAF
    # A root's placeholders are in both its names, and change together.
    changes = [(_SUBJECT, subject)] if self_issued else [(_SUBJECT, subject), (_ISSUER, issuer)]
    for (first, second), (tag1, content1, tag2, content2) in changes:
        der = _replace(der, first, tag1, content1)
        der = _replace(der, second, tag2, content2)
    times = [i for i in range(len(der) - 1) if der[i : i + 2] == b"\x17\x0d"][:2]
    assert len(times) == 2
    changed = bytearray(der)
    changed[times[0]], changed[times[1]] = not_before_tag, not_after_tag
    der = bytes(changed)
    cert = parse_certificate(der)
    assert cert.self_issued or not self_issued
    assert cert.time_sizes == ((not_before_tag, 13), (not_after_tag, 13))
    assert loadable.openssl_refuses(cert) == (not _openssl_loads(der))


def test_a_short_time_is_left_to_openssl_also_for_a_certificate_made_by_hand() -> None:
    """A GeneralizedTime of 13 characters is not plainly fine (OpenSSL may refuse fewer than
    15), whether the sizes come from the parse or, for a Certificate built without them, from
    its DER; the verdict is then OpenSSL's own."""
    der = _ROOT.replace(b"\x17\x0d", b"\x18\x0d", 1)
    parsed = parse_certificate(der)
    by_hand = Certificate(der, parsed.subject, parsed.issuer, parsed.not_before, parsed.not_after)
    assert by_hand == parsed and by_hand.time_sizes == () and parsed.time_sizes
    assert not loadable._plainly_fine(parsed)
    assert not loadable._plainly_fine(by_hand)
    loadable._verdicts.clear()
    assert loadable.openssl_refuses(by_hand) == (not _openssl_loads(der))
    fine = parse_certificate(_ROOT)
    assert loadable._plainly_fine(fine)
    assert loadable._plainly_fine(Certificate(_ROOT, fine.subject, fine.issuer, "", ""))


def test_a_refused_certificate_in_a_bundle_is_still_found() -> None:
    from trustresolve._backends.candidates import _first_refused_by_openssl

    broken = _replace(_ROOT, _SUBJECT[0], 0x0C, b"BR\xffKEN-ROOT-X")
    scan = scan_pem(
        ssl.DER_cert_to_PEM_cert(_LEAF).encode() + ssl.DER_cert_to_PEM_cert(broken).encode()
    )
    assert [c.der for c in scan.certificates] == [_LEAF, broken]
    message = _first_refused_by_openssl(scan.certificates)
    assert message is not None and "#2" in message


def _tlv(tag: int, content: bytes) -> bytes:
    assert len(content) < 0x80
    return bytes((tag, len(content))) + content


def _tbs(times: bytes, extra: bytes = b"") -> bytes:
    """serial, signature, issuer, validity holding ``times``, subject, key, then ``extra``."""
    fields = b"\x02\x00" + b"\x30\x00" * 2 + _tlv(0x30, times) + b"\x30\x00" * 2 + extra
    return _tlv(0x30, fields)


def _cert(tbs: bytes) -> bytes:
    return _tlv(0x30, tbs + b"\x30\x00\x03\x00")


@pytest.mark.parametrize(
    ("der", "message"),
    [
        (b"", "truncated header"),
        (b"\x1f\x00", "multi-byte tags are not used in certificates"),
        (b"\x30\x80", "indefinite or oversized length"),
        (b"\x30\x85\x00\x00\x00\x00\x01", "indefinite or oversized length"),
        (b"\x30\x82\x01", "truncated length"),
        (b"\x30\x81\x05" + b"\x00" * 5, "non-minimal length encoding"),
        (b"\x30\x82\x00\x80" + b"\x00" * 0x80, "non-minimal length encoding"),
        (b"\x30\x03\x02\x01", "value runs past its container"),
        (b"\x31\x00", "certificate: expected tag 0x30, found 0x31"),
        (b"\x30\x00\x00", "trailing bytes after the certificate"),
        (b"\x30\x02\x30\x00", "a certificate has three parts"),
        (b"\x30\x06\x30\x00\x30\x00\x04\x00", "signature: expected tag 0x03, found 0x04"),
        (b"\x30\x08\x30\x02\x02\x00\x30\x00\x03\x00", "tbsCertificate is missing fields"),
        # A field after the six is still read: its broken header is the error.
        (_cert(_tbs(b"\x17\x00\x17\x00", b"\xa3\x05")), "value runs past its container"),
        (_cert(_tbs(b"\x17\x00")), "validity holds two times"),
        (_cert(_tbs(b"\x17\x00\x04\x00")), "validity: not a time"),
        (
            _cert(_tlv(0x30, b"\x02\x00\x30\x00\x30\x00\x30\x04\x17\x00\x17\x00\x31\x00\x30\x00")),
            "subject: expected tag 0x30, found 0x31",
        ),
    ],
)
def test_malformed_der_fails_with_the_same_error_at_the_same_point(
    der: bytes, message: str
) -> None:
    with pytest.raises(DERError) as raised:
        parse_certificate(der)
    assert str(raised.value) == message
    if message.endswith(("header", "certificates", "length", "encoding")):
        with pytest.raises(DERError, match=message):  # the same rule as the TLV reader's
            read_tlv(der)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        # Every RDN header is read before the first RDN is looked into.
        (b"\x30\x05\x31\x00\x31\x05\x00", "value runs past its container"),
        (b"\x30\x04\x30\x00\x31\x05", "value runs past its container"),
        # Then RDN by RDN, attribute by attribute: the first problem met is the one told.
        (
            b"\x30\x0e\x31\x0a\x30\x08\x06\x03\x55\x04\x03\x03\x01\x00\x30\x00",
            "name attribute value of type 0x03 is not supported",
        ),
        (
            b"\x30\x0e\x30\x00\x31\x0a\x30\x08\x06\x03\x55\x04\x03\x03\x01\x00",
            "a RelativeDistinguishedName is a SET",
        ),
        (
            b"\x30\x10\x31\x0e\x30\x08\x06\x03\x55\x04\x03\x0c\x01\x41\x31\x02\x04\x00",
            "an AttributeTypeAndValue is a SEQUENCE",
        ),
        (
            b"\x30\x10\x31\x0e\x30\x08\x06\x03\x55\x04\x03\x1e\x01\x41\x31\x02\x04\x00",
            "string length 1 is not a multiple of 2",
        ),
        (b"\x30\x08\x31\x06\x30\x04\x04\x00\x04\x00", "an AttributeTypeAndValue holds an OID"),
        (b"\x30\x02\x31\x00\x00", "a Name is one SEQUENCE"),
    ],
)
def test_malformed_names_fail_with_the_first_problem_in_reading_order(
    name: bytes, message: str
) -> None:
    with pytest.raises(DERError, match=message):
        canonical_name(name)


def test_read_name_gives_each_rdn_its_oids_and_converted_values() -> None:
    subject = parse_certificate(_LEAF).subject
    seen = read_name(subject, lambda tag, value: (tag, value))
    assert seen == [
        [(b"\x06\x03\x55\x04\x0a", (0x0C, _SUBJECT[0]))],
        [(b"\x06\x03\x55\x04\x03", (0x0C, _SUBJECT[1]))],
    ]
    assert read_name(b"\x30\x02\x31\x00", lambda tag, value: tag) == [[]]


def test_tlv_is_a_value_equal_only_to_another_tlv_and_immutable() -> None:
    data = b"\x30\x03\x04\x01\x41"
    outer = read_tlv(data)
    assert outer == TLV(0x30, 0, 2, 5) and hash(outer) == hash(TLV(0x30, 0, 2, 5))
    assert outer != (0x30, 0, 2, 5)
    assert (0x30, 0, 2, 5) != outer  # noqa: SIM300 (the plain tuple first is the case)
    assert not outer == (0x30, 0, 2, 5)  # noqa: SIM201 (== itself is what is tested)
    assert outer != TLV(0x30, 0, 2, 4)
    assert repr(outer) == "TLV(tag=48, start=0, value_start=2, end=5)"
    (inner,) = read_children(data, outer)
    assert (inner.tag, inner.start, inner.value_start, inner.end) == (0x04, 2, 4, 5)
    assert inner.value(data) == b"A" and inner.encoded(data) == b"\x04\x01\x41"
    with pytest.raises(AttributeError):
        inner.tag = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        inner.extra = 5  # type: ignore[attr-defined]


def test_certificate_is_a_frozen_value_without_its_recorded_sizes() -> None:
    parsed = parse_certificate(_ROOT)
    by_hand = Certificate(
        parsed.der, parsed.subject, parsed.issuer, parsed.not_before, parsed.not_after
    )
    assert parsed == by_hand and hash(parsed) == hash(by_hand)
    assert "time_sizes" not in repr(parsed)
    with pytest.raises(FrozenRecordError):
        parsed.der = b""  # type: ignore[misc]


_PEM_BODY = st.lists(
    st.sampled_from([b"A", b"z", b"0", b"+", b"/", b"=", b"\n", b" ", b"\t", b"\r", b"-", b"*"])
    | st.sampled_from([b"\x0b", b"\x0c", b"\x00", b"\x85", b"\xa0"])  # whitespace or not
    | st.sampled_from([b"QUJD", b"QQ==", b"QUI=", b"\n"]),
    max_size=40,
).map(b"".join)


def _stdlib(body: bytes) -> bytes | None:
    try:
        return base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


@given(_PEM_BODY | st.binary(max_size=40))
@settings(max_examples=1000)
def test_pem_bodies_decode_as_the_stdlib_decodes_them(body: bytes) -> None:
    assert _decode(body) == _stdlib(body)


@pytest.mark.parametrize(
    "body",
    [b"", b"=", b"==", b"QQ==", b"QQ=", b"QQ", b"QUJD=", b"QUJDRA==\nQQ==", b"=QUJD", b"QU=JD"],
)
def test_pem_padding_edge_cases_decode_as_the_stdlib_decodes_them(body: bytes) -> None:
    assert _decode(body) == _stdlib(body)


def test_the_whitespace_a_body_loses_is_what_bytes_split_splits_on() -> None:
    # _decode deletes _WHITESPACE where the stdlib's form joins body.split(): the same bytes.
    assert sorted(_WHITESPACE) == [byte for byte in range(256) if not bytes([byte]).split()]


def test_the_x509_readers_import_neither_dataclasses_nor_typing() -> None:
    code = (
        "import sys, ssl\n"
        "before = set(sys.modules)\n"
        "import trustresolve._x509.pem, trustresolve._x509.loadable,"
        " trustresolve._x509.subject_hash\n"
        "print(sorted({'dataclasses', 'typing'} & (set(sys.modules) - before)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert run.stdout.strip() == "[]"


# --- the regular expressions a first run no longer compiles (architecture §9.2) -------------

_PEM_ALPHABET = st.sampled_from(
    [b"-", b"-----", b"BEGIN ", b"END ", b"BEGIN", b"END", b" ", b"\n", b"x", b"CERTIFICATE"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PEM_ALPHABET, max_size=40).map(b"".join))
def test_pem_markers_are_the_regular_expression_matches(data: bytes) -> None:
    import re

    from trustresolve._x509.pem import _markers

    expected = [
        (m.start(), m.group(1) == b"BEGIN") for m in re.finditer(rb"-----(BEGIN|END) ", data)
    ]
    assert list(_markers(data)) == expected


_NAME_ALPHABET = st.sampled_from(
    ["0", "1", "9", "a", "f", "A", "g", ".", "00", "٣", "²", "\n", " ", "-", "abcdef12"]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_NAME_ALPHABET, max_size=8).map("".join))
def test_hashed_names_are_the_regular_expression_matches(name: str) -> None:
    import re

    from trustresolve._machine.fs import split_hashed_name

    match = re.match(r"([0-9a-f]{8})\.(0|[1-9][0-9]*)\Z", name)
    expected = None if match is None else (match.group(1), int(match.group(2)))
    assert split_hashed_name(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "abcdef12.0",
        "abcdef12.10",
        "abcdef12.01",
        "ABCDEF12.0",
        "abcdef12.",
        "abcdef1.0",
        "abcdef12.٣",
    ],
)
def test_hashed_names_by_example(name: str) -> None:
    import re

    from trustresolve._machine.fs import split_hashed_name

    match = re.match(r"([0-9a-f]{8})\.(0|[1-9][0-9]*)\Z", name)
    assert (split_hashed_name(name) is not None) == (match is not None), name


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from([b" ", b"\t", b"\n", b"\x0b", b"\x0c", b"\r", b"\xa0", b"a", b"B"]),
        max_size=12,
    ).map(b"".join)
)
def test_name_whitespace_is_trimmed_and_collapsed_as_before(data: bytes) -> None:
    import re

    from trustresolve._x509.subject_hash import _canon_string

    space = b" \t\n\v\f\r"
    expected = re.sub(rb"[ \t\n\v\f\r]+", b" ", data.strip(space)).translate(
        bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
    )
    assert _canon_string(data) == expected


# RDNs as certificates hold them (one or more OID-and-value pairs, short and long lengths), and
# the same bytes cut, extended or with one byte changed: what read_rdn reads by position and
# what it leaves to the walk. DER encoded by subject_hash's own encoder (long lengths too).
_ATV = st.tuples(
    st.binary(min_size=0, max_size=12),
    st.sampled_from((0x0C, 0x13, 0x16, 0x1E, 0x1F, 0x30, 0x12)),
    st.binary(max_size=140),
).map(lambda atv: _encode(0x30, _encode(0x06, atv[0]) + _encode(atv[1], atv[2])))
_RDN = st.lists(_ATV, min_size=0, max_size=3).map(lambda atvs: _encode(0x31, b"".join(atvs)))


@st.composite
def _rdn_bytes(draw: st.DrawFn) -> bytes:
    rdn = draw(_RDN)
    change = draw(st.sampled_from(("none", "none", "cut", "extend", "flip")))
    if change == "cut" and rdn:
        return rdn[: draw(st.integers(0, len(rdn) - 1))]
    if change == "extend":
        return rdn + draw(st.binary(min_size=1, max_size=3))
    if change == "flip" and rdn:
        at = draw(st.integers(0, len(rdn) - 1))
        return rdn[:at] + bytes((draw(st.integers(0, 255)),)) + rdn[at + 1 :]
    return rdn


def _read(reader: Callable[[bytes, Callable[[int, bytes], object]], object], rdn: bytes) -> object:
    try:
        return reader(rdn, lambda tag, value: (tag, value))
    except DERError as exc:
        return ("DERError", str(exc))


@settings(max_examples=1500, deadline=None)
@given(_rdn_bytes())
def test_an_rdn_read_by_position_is_what_the_walk_reads(rdn: bytes) -> None:
    assert _read(read_rdn, rdn) == _read(_walk_rdn, rdn)


def test_every_per_certificate_memo_stays_within_its_bound() -> None:
    """A long-lived process that meets store after store: each memo of a certificate, its PEM
    body, its subject hash and its names' verdicts is emptied whole when full and never holds
    more than ``MEMO_ENTRIES`` (architecture §2)."""
    marker = b"n00000"
    template = bare(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, marker.decode())])).der
    assert template.count(marker) == 2  # the subject and the issuer: one root per variant
    memos = {
        "parsed certificates": der._parsed,
        "decoded PEM bodies": pem._decoded,
        "subject hashes": subject_hash._hashed,
        "canonical RDNs": subject_hash._canonical_rdns,
        "OpenSSL verdicts": loadable._verdicts,
        "RDN verdicts": loadable._fine_rdns,
    }
    for index in range(MEMO_ENTRIES + 10):
        variant = template.replace(marker, f"n{index:05d}".encode())
        (cert,) = scan_pem(pem.der_to_pem(variant).encode()).certificates
        subject_hash.name_hash(cert.subject)
        loadable.openssl_refuses(cert)
        oversized = [name for name, memo in memos.items() if len(memo) > MEMO_ENTRIES]
        assert not oversized, (index, oversized)
    assert all(memos.values())  # emptied when full, then filled again: still in use
