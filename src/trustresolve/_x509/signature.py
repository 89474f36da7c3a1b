"""Does this key's owner sign this certificate? For advice only: nothing here is trusted.

When a certificate has no Authority Key Identifier, its issuer's name alone does not tell two
CAs of one name apart; the signature does. trustresolve has no ``cryptography`` dependency
(architecture §6), so the two algorithms public CAs sign with are checked here in plain Python:
RSA PKCS #1 v1.5 (RFC 8017 §8.2.2) and ECDSA over P-256/P-384 (SEC 1 §4.1.4, curves of FIPS
186-4 D.1.2), with SHA-1/SHA-2. Anything else is "cannot tell" (``None``), never a yes.
The connection doctor uses the answer to name a root; the handshake is OpenSSL's alone.
"""

from __future__ import annotations

import hashlib
from typing import Optional

from .certinfo import _oid
from .der import BIT_STRING, DERError, read_children, read_tlv

__all__ = ["signed_by"]

_RSA_KEY = "1.2.840.113549.1.1.1"
_EC_KEY = "1.2.840.10045.2.1"
_RSA_SIGNATURES = {
    "1.2.840.113549.1.1.5": "sha1",
    "1.2.840.113549.1.1.11": "sha256",
    "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
}
_ECDSA_SIGNATURES = {
    "1.2.840.10045.4.1": "sha1",
    "1.2.840.10045.4.3.2": "sha256",
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
}
# RFC 8017 §9.2 note 1: the DER DigestInfo prefix of each hash.
_DIGEST_INFO = {
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
# (p, a, b, Gx, Gy, n) of FIPS 186-4 D.1.2.3 (P-256) and D.1.2.4 (P-384).
_P256 = 2**256 - 2**224 + 2**192 + 2**96 - 1
_P384 = 2**384 - 2**128 - 2**96 + 2**32 - 1
_CURVES = {
    "1.2.840.10045.3.1.7": (
        _P256,
        _P256 - 3,
        0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
        0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
        0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
        0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    ),
    "1.3.132.0.34": (
        _P384,
        _P384 - 3,
        int(
            "B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875A"
            "C656398D8A2ED19D2A85C8EDD3EC2AEF",
            16,
        ),
        int(
            "AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A38"
            "5502F25DBF55296C3A545E3872760AB7",
            16,
        ),
        int(
            "3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C0"
            "0A60B1CE1D7E819D7A431D7C90EA0E5F",
            16,
        ),
        int(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
            "581A0DB248B0A77AECEC196ACCC52973",
            16,
        ),
    ),
}
Point = Optional[tuple[int, int]]


def signed_by(cert_der: bytes, public_key: bytes) -> bool | None:
    """Whether the key ``public_key`` (a subjectPublicKeyInfo) made ``cert_der``'s signature;
    ``None`` when the algorithm is not one of those above or the data does not parse."""
    try:
        outer = read_tlv(cert_der)
        tbs, algorithm, signature = read_children(cert_der, outer)
        sig_oid = _oid(read_children(cert_der, algorithm)[0].value(cert_der))
        if signature.tag != BIT_STRING:
            return None
        sig = signature.value(cert_der)[1:]
        key_algorithm, key_bits = read_children(public_key, read_tlv(public_key))
        key_params = read_children(public_key, key_algorithm)
        key_oid = _oid(key_params[0].value(public_key))
        key = key_bits.value(public_key)[1:]
        message = tbs.encoded(cert_der)
        if key_oid == _RSA_KEY and sig_oid in _RSA_SIGNATURES:
            return _rsa(message, sig, key, _RSA_SIGNATURES[sig_oid])
        if key_oid == _EC_KEY and sig_oid in _ECDSA_SIGNATURES and len(key_params) > 1:
            curve = _CURVES.get(_oid(key_params[1].value(public_key)))
            if curve is not None:
                return _ecdsa(message, sig, key, _ECDSA_SIGNATURES[sig_oid], curve)
    except (DERError, ValueError, IndexError):
        return None
    return None


def _integers(data: bytes) -> list[int]:
    return [int.from_bytes(part.value(data), "big") for part in read_children(data, read_tlv(data))]


def _rsa(message: bytes, signature: bytes, key: bytes, hash_name: str) -> bool:
    modulus, exponent = _integers(key)[:2]
    size = (modulus.bit_length() + 7) // 8
    if len(signature) != size:
        return False
    recovered = pow(int.from_bytes(signature, "big"), exponent, modulus).to_bytes(size, "big")
    digest = _DIGEST_INFO[hash_name] + hashlib.new(hash_name, message).digest()
    expected = b"\x00\x01" + b"\xff" * (size - len(digest) - 3) + b"\x00" + digest
    return recovered == expected


def _ecdsa(
    message: bytes,
    signature: bytes,
    key: bytes,
    hash_name: str,
    curve: tuple[int, int, int, int, int, int],
) -> bool:
    p, a, _, gx, gy, n = curve
    size = (p.bit_length() + 7) // 8
    if len(key) != 1 + 2 * size or key[0] != 4:  # uncompressed points only
        return False
    q = (int.from_bytes(key[1 : 1 + size], "big"), int.from_bytes(key[1 + size :], "big"))
    r, s = _integers(signature)[:2]
    if not (0 < r < n and 0 < s < n):
        return False
    digest = hashlib.new(hash_name, message).digest()
    z = int.from_bytes(digest, "big") >> max(0, 8 * len(digest) - n.bit_length())
    w = pow(s, -1, n)
    point = _add(_multiply((gx, gy), z * w % n, p, a), _multiply(q, r * w % n, p, a), p, a)
    return point is not None and point[0] % n == r


def _add(one: Point, two: Point, p: int, a: int) -> Point:
    if one is None:
        return two
    if two is None:
        return one
    (x1, y1), (x2, y2) = one, two
    if x1 == x2 and (y1 + y2) % p == 0:
        return None
    if one == two:
        slope = (3 * x1 * x1 + a) * pow(2 * y1, -1, p) % p
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, p) % p
    x3 = (slope * slope - x1 - x2) % p
    return x3, (slope * (x1 - x3) - y1) % p


def _multiply(point: Point, k: int, p: int, a: int) -> Point:
    result: Point = None
    while k:
        if k & 1:
            result = _add(result, point, p, a)
        point = _add(point, point, p, a)
        k >>= 1
    return result
