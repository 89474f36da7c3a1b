"""Human-readable facts about a DER certificate: names (RFC 4514), validity, SANs, AIA.

Used by ``--which --verbose`` and ``--connect``. Built on the lead's minimal DER reader
(:mod:`trustresolve._x509.der`), so no dependency on ``cryptography`` (architecture §6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .der import TLV, DERError, decode_string, parse_certificate, read_children, read_tlv

if TYPE_CHECKING:
    # Imported where used: only summaries need datetime and ipaddress (several milliseconds
    # of python -X importtime), not the probe's messages that call format_name().
    import datetime

__all__ = ["CertSummary", "format_name", "parse_time", "summarize"]

_OID = 0x06
_OCTET_STRING = 0x04
_BOOLEAN = 0x01
_CONTEXT_3 = 0xA3

# The short names of RFC 4514 §3; every other type is written as its dotted OID, as the RFC
# says (and as cryptography's rfc4514_string() does, which the tests compare against).
_SHORT_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.9": "STREET",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "0.9.2342.19200300.100.1.1": "UID",
    "0.9.2342.19200300.100.1.25": "DC",
}
_SAN = "2.5.29.17"
_BASIC_CONSTRAINTS = "2.5.29.19"
_AIA = "1.3.6.1.5.5.7.1.1"
_CA_ISSUERS = "1.3.6.1.5.5.7.48.2"


def _oid(value: bytes) -> str:
    if not value:
        raise DERError("empty OID")
    parts: list[int] = []
    number = 0
    for byte in value:
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(number)
            number = 0
    first = min(parts[0] // 40, 2)
    return ".".join(str(p) for p in (first, parts[0] - 40 * first, *parts[1:]))


def _escape(text: str) -> str:
    """RFC 4514 §2.4 escaping of an attribute value."""
    out = []
    for index, char in enumerate(text):
        if char in ',+"\\<>;' or (char == "#" and index == 0):
            out.append("\\" + char)
        elif char == " " and index in (0, len(text) - 1):
            out.append("\\ ")
        elif ord(char) < 0x20 or char == "\x7f":
            out.append(f"\\{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def format_name(encoded: bytes) -> str:
    """An encoded X.509 Name as an RFC 4514 string (most specific RDN first: ``CN=...,O=...``).

    Unknown attribute types appear as dotted OIDs, non-string values as ``#hex``, as the RFC
    says. An empty name gives ``""``; an undecodable one ``"<unparsable name>"``.
    """
    try:
        name = read_tlv(encoded)
        rdns = []
        for rdn in read_children(encoded, name):
            pairs = []
            for attribute in read_children(encoded, rdn):
                kind, value = read_children(encoded, attribute)[:2]
                oid = _oid(kind.value(encoded))
                label = _SHORT_NAMES.get(oid, oid)
                text = decode_string(value.tag, value.value(encoded))
                if text is None:
                    pairs.append(f"{label}=#{value.encoded(encoded).hex()}")
                else:
                    pairs.append(f"{label}={_escape(text)}")
            rdns.append("+".join(pairs))
    except (DERError, ValueError, IndexError):
        return "<unparsable name>"
    return ",".join(reversed(rdns))


def parse_time(text: str) -> datetime.datetime:
    """A ``_der`` time (``YYYY-MM-DDTHH:MM:SSZ``) as an aware UTC datetime."""
    import datetime

    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc
    )


@dataclass(frozen=True)
class CertSummary:
    """What a report says about one certificate."""

    subject: str
    issuer: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    serial: int
    self_issued: bool
    is_ca: bool
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    ca_issuers: tuple[str, ...]  # AIA caIssuers URLs: where the issuer can be downloaded

    @property
    def names(self) -> tuple[str, ...]:
        return self.dns_names + self.ip_addresses

    def validity_problem(self, now: datetime.datetime) -> str | None:
        if now > self.not_after:
            return f"expired on {self.not_after:%Y-%m-%d %H:%M:%S} UTC"
        if now < self.not_before:
            return f"not valid before {self.not_before:%Y-%m-%d %H:%M:%S} UTC"
        return None


def _extensions(der: bytes) -> dict[str, bytes]:
    """``{oid: extnValue contents}`` of a certificate (empty when it has none)."""
    outer = read_tlv(der)
    tbs = read_children(der, outer)[0]
    found: dict[str, bytes] = {}
    for field in read_children(der, tbs):
        if field.tag != _CONTEXT_3:
            continue
        sequence = read_children(der, field)[0]
        for extension in read_children(der, sequence):
            parts = read_children(der, extension)
            oid = _oid(parts[0].value(der))
            value = next(p for p in parts[1:] if p.tag == _OCTET_STRING)
            found[oid] = value.value(der)
    return found


def _serial(der: bytes) -> int:
    tbs = read_children(der, read_tlv(der))[0]
    fields = read_children(der, tbs)
    serial: TLV = fields[1] if fields[0].tag == 0xA0 else fields[0]
    return int.from_bytes(serial.value(der), "big", signed=True)


def _general_names(data: bytes) -> tuple[list[str], list[str], list[str]]:
    """DNS names, IP addresses and URIs of a GeneralNames SEQUENCE."""
    dns: list[str] = []
    ips: list[str] = []
    uris: list[str] = []
    for name in read_children(data, read_tlv(data)):
        value = name.value(data)
        if name.tag == 0x82:
            dns.append(value.decode("ascii", "replace"))
        elif name.tag == 0x87 and len(value) in (4, 16):
            import ipaddress

            ips.append(str(ipaddress.ip_address(value)))
        elif name.tag == 0x86:
            uris.append(value.decode("ascii", "replace"))
    return dns, ips, uris


def _is_ca(value: bytes) -> bool:
    children = read_children(value, read_tlv(value))
    return bool(children) and children[0].tag == _BOOLEAN and children[0].value(value) != b"\0"


def _ca_issuers(value: bytes) -> list[str]:
    urls = []
    for description in read_children(value, read_tlv(value)):
        method, location = read_children(value, description)[:2]
        if _oid(method.value(value)) == _CA_ISSUERS and location.tag == 0x86:
            urls.append(location.value(value).decode("ascii", "replace"))
    return urls


def summarize(der: bytes) -> CertSummary:
    """Parse ``der``; raises :class:`~trustresolve._x509.der.DERError` for a non-certificate.

    A damaged extension is ignored (the report still shows names and dates).
    """
    cert = parse_certificate(der)
    dns: list[str] = []
    ips: list[str] = []
    urls: list[str] = []
    is_ca = False
    try:
        extensions = _extensions(der)
        if _SAN in extensions:
            dns, ips, _ = _general_names(extensions[_SAN])
        if _BASIC_CONSTRAINTS in extensions:
            is_ca = _is_ca(extensions[_BASIC_CONSTRAINTS])
        if _AIA in extensions:
            urls = _ca_issuers(extensions[_AIA])
    except (DERError, ValueError, IndexError, StopIteration):
        pass
    return CertSummary(
        subject=format_name(cert.subject),
        issuer=format_name(cert.issuer),
        not_before=parse_time(cert.not_before),
        not_after=parse_time(cert.not_after),
        serial=_serial(der),
        self_issued=cert.self_issued,
        is_ca=is_ca,
        dns_names=tuple(dns),
        ip_addresses=tuple(ips),
        ca_issuers=tuple(urls),
    )
