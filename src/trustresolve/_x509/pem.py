"""PEM bundles: split them, keep the certificates that parse, and say what was dropped."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from .der import Certificate, DERError, parse_certificate

__all__ = ["PemScan", "der_to_pem", "scan_pem"]

_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----",
    re.DOTALL,
)
_CERT_LABELS = (b"CERTIFICATE", b"X509 CERTIFICATE")
# OpenSSL's "TRUSTED CERTIFICATE" carries trust and distrust bits after the certificate
# (Fedora's ca-bundle.trust.crt). Reading only the certificate would drop a distrust bit and
# trust a blocklisted root (architecture §8.3 #1), so such blocks are never counted as roots.
_TRUSTED_LABEL = b"TRUSTED CERTIFICATE"


@dataclass(frozen=True)
class PemScan:
    """The certificates of a PEM text, and the count of blocks that were not usable."""

    certificates: tuple[Certificate, ...]
    bad_blocks: int
    trusted_blocks: int  # "TRUSTED CERTIFICATE" blocks, refused on purpose
    other_blocks: int  # keys, CRLs and other labels, ignored

    @property
    def problems(self) -> list[str]:
        notes = []
        if self.bad_blocks:
            notes.append(f"{self.bad_blocks} CERTIFICATE block(s) did not parse and were skipped")
        if self.trusted_blocks:
            notes.append(
                f"{self.trusted_blocks} TRUSTED CERTIFICATE block(s) (OpenSSL trust format, may "
                "carry distrust bits) were not counted"
            )
        return notes


def scan_pem(data: bytes) -> PemScan:
    """Parse every PEM block of ``data``; a block that fails never spoils the others."""
    certificates = []
    bad = trusted = other = 0
    for match in _BLOCK.finditer(data):
        label = match.group(1)
        if label == _TRUSTED_LABEL:
            trusted += 1
            continue
        if label not in _CERT_LABELS:
            other += 1
            continue
        try:
            der = base64.b64decode(b"".join(match.group(2).split()), validate=True)
            certificates.append(parse_certificate(der))
        except (binascii.Error, DERError, ValueError):
            bad += 1
    return PemScan(tuple(certificates), bad, trusted, other)


def der_to_pem(der: bytes) -> str:
    body = base64.standard_b64encode(der).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
