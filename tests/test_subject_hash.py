"""The Python subject hash against ``openssl x509 -subject_hash`` itself."""

from __future__ import annotations

import shutil
import subprocess

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from support.ca import bare
from trustresolve._x509.der import DERError, parse_certificate
from trustresolve._x509.pem import scan_pem
from trustresolve._x509.subject_hash import canonical_name, name_hash, subject_hash

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

_KEY = ec.generate_private_key(ec.SECP256R1())
CN = NameOID.COMMON_NAME
O = NameOID.ORGANIZATION_NAME  # noqa: E741
A = _ASN1Type


def openssl_hash(der: bytes, which: str = "-subject_hash") -> str | None:
    """What the openssl binary prints, or None when it cannot read the certificate."""
    run = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-noout", which],
        input=der,
        capture_output=True,
        check=False,
    )
    return run.stdout.decode().strip() if run.returncode == 0 else None


def make_cert(subject: x509.Name, issuer: x509.Name | None = None) -> bytes:
    return bare(subject, issuer_name=issuer, key=_KEY).der


def attr(
    value: str, kind: _ASN1Type = A.UTF8String, oid: x509.ObjectIdentifier = CN
) -> x509.NameAttribute:
    return x509.NameAttribute(oid, value, _type=kind)


def name(*rdns: x509.NameAttribute | list[x509.NameAttribute]) -> x509.Name:
    return x509.Name(
        [x509.RelativeDistinguishedName(r if isinstance(r, list) else [r]) for r in rdns]
    )


def test_every_certifi_root() -> None:
    with open(certifi.where(), "rb") as handle:
        certs = scan_pem(handle.read()).certificates
    assert len(certs) > 50
    mismatches = [
        (cert.subject.hex(), ours, theirs)
        for cert in certs
        if (ours := subject_hash(cert.der)) != (theirs := openssl_hash(cert.der))
    ]
    assert mismatches == []


NAMES = {
    "utf8": name(attr("Example Root CA")),
    "printable": name(attr("Example Root CA", A.PrintableString)),
    "bmp": name(attr("Example Root CA", A.BMPString)),
    "bmp-non-ascii": name(attr("Zertifizierungsstelle Ä Ö Ü ß", A.BMPString)),
    "bmp-astral-free-cjk": name(attr("証明書 認証局", A.BMPString)),
    "universal": name(attr("Universal Root \U0001d518", A.UniversalString)),
    "t61": name(attr("Teletex Root CA", A.T61String)),
    "t61-latin1": name(attr("Société Générale", A.T61String)),
    "ia5": name(attr("ia5.example.com", A.IA5String)),
    "numeric": name(attr("0123 456", A.NumericString)),
    "mixed-case": name(attr("MiXeD CaSe ROOT", A.PrintableString)),
    "spaces": name(attr("   Leading  and   trailing\t\tspaces   ")),
    "whitespace-kinds": name(attr("\tTabs\nnew\rline\x0bvt\x0cff  ")),
    "only-spaces": name(attr("     ", A.PrintableString)),
    "empty-value": name(attr("", A.PrintableString, O)),
    "non-ascii-upper": name(attr("ÄÖÜ ÉÈ ΣΑΣ Ж")),
    "multi-valued": name([attr("zzz", oid=O), attr("AAA"), attr("mmm", A.PrintableString)]),
    "multi-valued-same-type": name([attr("b"), attr("A"), attr("a ")]),
    "many-rdns": name(
        attr("US", A.PrintableString, NameOID.COUNTRY_NAME),
        attr("Example  Org", oid=O),
        attr("Unit", A.BMPString, NameOID.ORGANIZATIONAL_UNIT_NAME),
        attr("ROOT", A.T61String),
    ),
    "long": name(attr("L" * 300, oid=O)),
    "empty-subject": x509.Name([]),
}


@pytest.mark.parametrize("label", sorted(NAMES))
def test_generated_names(label: str) -> None:
    der = make_cert(NAMES[label])
    expected = openssl_hash(der)
    assert expected is not None
    assert subject_hash(der) == expected


def test_visible_string_is_refused_like_openssl() -> None:
    # VisibleString is in OpenSSL's canonical mask but not in ASN1_PRINTABLE, so OpenSSL refuses
    # the whole certificate; a hash we computed anyway would name a file OpenSSL cannot read.
    der = make_cert(name(attr("Visible CA", A.VisibleString)))
    assert openssl_hash(der) is None
    with pytest.raises(DERError):
        subject_hash(der)


def test_equivalent_names_hash_alike_and_issuer_hash_matches() -> None:
    a = name(attr("Example Root  CA", A.PrintableString))
    b = name(attr("  example root ca ", A.BMPString))
    der = make_cert(a, issuer=b)
    assert canonical_name(parse_certificate(der).subject) == canonical_name(
        parse_certificate(der).issuer
    )
    assert name_hash(parse_certificate(der).issuer) == openssl_hash(der, "-issuer_hash")
    assert subject_hash(der) == openssl_hash(der)


_TYPES = [A.UTF8String, A.PrintableString, A.BMPString, A.T61String, A.IA5String]
_TEXT = st.text(alphabet=st.sampled_from([*"aAzZ09 -'.\t\n", "é", "Ω", "Ж", "中"]), max_size=24)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(_TEXT, st.sampled_from(_TYPES)), min_size=1, max_size=3, unique_by=lambda v: v
    )
)
def test_random_values_match_openssl(values: list[tuple[str, _ASN1Type]]) -> None:
    attrs = []
    for raw, kind in values:
        text = raw
        if kind == A.PrintableString:  # cryptography enforces the PrintableString alphabet
            text = "".join(c for c in text if c.isascii() and (c.isalnum() or c in " -'."))
        elif kind == A.IA5String:
            text = text.encode("ascii", "ignore").decode()
        elif kind == A.T61String:
            text = text.encode("latin-1", "ignore").decode("latin-1")
        attrs.append(attr(text, kind, O))  # O has no length limit in cryptography
    if len({a.value for a in attrs}) != len(attrs):
        return  # cryptography refuses duplicate attributes in one RDN
    der = make_cert(name(attrs))
    assert subject_hash(der) == openssl_hash(der)


@pytest.mark.parametrize(
    "encoded",
    [
        b"",
        b"\x30",
        b"\x30\x05\x31\x03\x30\x01",  # truncated inside
        b"\x31\x00",  # a SET, not a SEQUENCE
        b"\x30\x02\x30\x00",  # an RDN that is not a SET
        b"\x30\x04\x31\x02\x31\x00",  # an AttributeTypeAndValue that is not a SEQUENCE
        b"\x30\x09\x31\x07\x30\x05\x06\x03\x55\x04\x03",  # OID without a value
        b"\x30\x0c\x31\x0a\x30\x08\x06\x03\x55\x04\x03\x0c\x01\xff",  # bad UTF-8
        b"\x30\x0d\x31\x0b\x30\x09\x06\x03\x55\x04\x03\x1e\x02\xd8\x00",  # BMP surrogate
        b"\x30\x0c\x31\x0a\x30\x08\x06\x03\x55\x04\x03\x1e\x01\x41",  # odd BMP length
        b"\x30\x0c\x31\x0a\x30\x08\x06\x03\x55\x04\x03\x04\x01\x41",  # OCTET STRING value
    ],
)
def test_malformed_names_raise(encoded: bytes) -> None:
    with pytest.raises(DERError):
        name_hash(encoded)


def test_empty_name_is_sha1_of_nothing() -> None:
    assert canonical_name(b"\x30\x00") == b""
    # An RDN without entries adds nothing, as in x509_name_canon.
    assert canonical_name(b"\x30\x02\x31\x00") == b""
