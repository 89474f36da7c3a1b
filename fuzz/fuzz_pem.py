"""atheris fuzzer for the PEM and DER parsers.

    python -m pip install atheris
    mkdir -p /tmp/corpus-pem && cp fuzz/seeds-pem/* /tmp/corpus-pem/
    PYTHONPATH=src python fuzz/fuzz_pem.py -max_total_time=300 -rss_limit_mb=1024 /tmp/corpus-pem

Anything but a PemScan (scan_pem), a BlockList (read_blocks) or DERError (parse_certificate,
parse_trusted) is a crash.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from trustresolve._x509.der import DERError, parse_certificate
    from trustresolve._x509.pem import parse_trusted, read_blocks, scan_pem


def test_one_input(data: bytes) -> None:
    scan = scan_pem(data)
    assert len(scan.certificates) <= data.count(b"-----BEGIN")
    listing = read_blocks(data)
    assert len(listing.blocks) + listing.broken <= data.count(b"-----BEGIN ")
    try:
        trusted = parse_trusted(data)
    except DERError:
        pass
    else:
        assert trusted.tls in ("trusted", "rejected", "other-purpose", "plain")
    try:
        cert = parse_certificate(data)
    except DERError:
        return
    assert cert.der == data


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
