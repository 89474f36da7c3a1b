"""How TLS starts on a database port: the bytes before the ClientHello, and what they say.

PostgreSQL and MySQL/MariaDB negotiate TLS inside their own protocols; Redis and MongoDB (and a
bare ``HOST:PORT``) start TLS with the first byte. This module owns those wire formats:

- **PostgreSQL** (protocol docs, "SSL Session Encryption"; ``pqcomm.h``): the client sends an
  SSLRequest, ``Int32(8) Int32(80877103)``; the server answers one byte, ``S`` (TLS follows) or
  ``N`` (no TLS), or an ErrorResponse (``E``, then ``Int32`` length and fields). Exactly one byte
  is read before TLS (CVE-2021-23222). With ``sslnegotiation=direct`` (PostgreSQL 17+) there is
  no SSLRequest: TLS starts at once and the server must select ALPN ``postgresql``.
- **MySQL/MariaDB** (MySQL source docs, "Protocol::HandshakeV10" and "Protocol::SSLRequest"):
  the server speaks first with a HandshakeV10 packet (3-byte little-endian length, sequence
  id, payload starting with protocol version 10); if its capability flags carry CLIENT_SSL
  (``0x800``) the client sends a 32-byte SSLRequest packet (sequence id 1) and TLS starts.
  An error packet (payload ``0xFF``, code, ``#`` SQL state, message) may come instead.

Every read is bounded and waits at most until the run's deadline. A server that does not
offer TLS, refuses, or answers in another protocol raises a :class:`NegotiationError`, an
``OSError``, so the handshakes of :mod:`.wire` wrap it like any other failure.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .wire import Deadline

__all__ = [
    "PG_ALPN",
    "NegotiationError",
    "NotOffered",
    "Plan",
    "Prelude",
    "Refused",
    "Unexpected",
    "greeting_version",
    "identify",
    "mysql_prelude",
    "plan_for",
    "postgres_answers",
    "postgres_prelude",
    "shown",
]

#: A step run on the connected socket before the TLS handshake.
Prelude = Callable[[socket.socket, "Deadline"], None]

PG_ALPN = "postgresql"  # IANA-registered; libpq 17+ requires it for direct TLS
SSL_REQUEST = struct.pack("!ii", 8, 80877103)  # 1234 << 16 | 5679
_PG_MAX_ERROR = 8192  # an ErrorResponse is a few hundred bytes; read no more than this
MYSQL_PROTOCOL = 10
CLIENT_SSL = 0x800
# The SSLRequest's capability flags: what PyMySQL sends (LONG_PASSWORD, PROTOCOL_41,
# SECURE_CONNECTION, PLUGIN_AUTH) plus CLIENT_SSL.
_MYSQL_FLAGS = 0x1 | 0x200 | 0x8000 | 0x80000 | CLIENT_SSL
_MYSQL_MAX_PACKET = 2**24 - 1
_MYSQL_CHARSET = 45  # utf8mb4_general_ci
_MYSQL_MAX_GREETING = 16384  # a greeting is ~100 bytes; a larger "packet" is not MySQL
MESSAGE_LIMIT = 300  # characters of a server's message kept for the report


class NegotiationError(OSError):
    """The server did not start TLS the way its protocol says (see the subclasses)."""

    def __init__(self, protocol: str, message: str) -> None:
        super().__init__(message)
        self.protocol = protocol  # "postgresql" or "mysql": what was spoken


class NotOffered(NegotiationError):
    """PostgreSQL answered ``N``; a MySQL greeting has no CLIENT_SSL."""

    def __init__(self, protocol: str, server: str = "") -> None:
        super().__init__(protocol, f"the {protocol} server does not offer TLS")
        self.server = server  # MySQL's version string, when known


class Refused(NegotiationError):
    """An ErrorResponse (PostgreSQL) or an error packet (MySQL) instead of TLS."""

    def __init__(self, protocol: str, text: str, code: str = "") -> None:
        super().__init__(protocol, f"the {protocol} server refused: {text}")
        self.text = text  # the server's own words, escaped and cut to MESSAGE_LIMIT
        self.code = code  # SQLSTATE (PostgreSQL) or "error 1130 (HY000)" (MySQL)


class Unexpected(NegotiationError):
    """What came back is not the protocol's answer; ``data`` is its first bytes."""

    def __init__(self, protocol: str, data: bytes) -> None:
        super().__init__(protocol, f"not a {protocol} answer: {data[:16]!r}")
        self.data = data


@dataclass(frozen=True)
class _Reader:
    sock: socket.socket
    deadline: Deadline

    def exactly(self, count: int) -> bytes:
        """``count`` bytes, or fewer when the server closes first."""
        data = bytearray()
        while len(data) < count:
            self.sock.settimeout(self.deadline.remaining())
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                break
            data += chunk
        return bytes(data)


# --- PostgreSQL ----------------------------------------------------------------------------------


def postgres_prelude(sock: socket.socket, deadline: Deadline) -> None:
    """Send the SSLRequest; return when the server answers ``S``."""
    sock.settimeout(deadline.remaining())
    sock.sendall(SSL_REQUEST)
    reader = _Reader(sock, deadline)
    answer = reader.exactly(1)
    if answer == b"S":
        return
    if answer == b"N":
        raise NotOffered("postgresql")
    if answer == b"E":
        raise _postgres_error(reader)
    raise Unexpected("postgresql", answer + _peek(sock))


def postgres_answers(sock: socket.socket, deadline: Deadline) -> bool:
    """Whether the server answers an SSLRequest as PostgreSQL does (``S``, ``N`` or ``E``)."""
    try:
        postgres_prelude(sock, deadline)
    except (NotOffered, Refused):
        return True
    except OSError:
        return False
    return True


def _postgres_error(reader: _Reader) -> Refused:
    """The ErrorResponse after ``E``: Int32 length, then (type byte, C string) fields."""
    head = reader.exactly(4)
    length = int.from_bytes(head, "big") if len(head) == 4 else 0
    body = reader.exactly(min(max(length - 4, 0), _PG_MAX_ERROR))
    fields: dict[str, bytes] = {}
    for field in body.split(b"\x00"):
        if field:
            fields.setdefault(chr(field[0]), field[1:])
    # "M" the message, "C" the SQLSTATE (protocol docs, "Error and Notice Message Fields").
    text = shown(fields.get("M", b"")) or "(no message)"
    return Refused("postgresql", text, shown(fields.get("C", b"")))


# --- MySQL / MariaDB -----------------------------------------------------------------------------


def mysql_prelude(sock: socket.socket, deadline: Deadline) -> None:
    """Read the greeting; send the SSLRequest when it offers CLIENT_SSL."""
    reader = _Reader(sock, deadline)
    header = reader.exactly(4)
    if len(header) < 4:
        raise Unexpected("mysql", header)
    length = int.from_bytes(header[:3], "little")
    if not 0 < length <= _MYSQL_MAX_GREETING:
        raise Unexpected("mysql", header + _peek(sock))
    payload = reader.exactly(length)
    if payload[:1] == b"\xff":
        raise _mysql_error(payload)
    version, flags = _greeting(header + payload)
    if version is None:
        raise Unexpected("mysql", header + payload)
    if not flags & CLIENT_SSL:
        raise NotOffered("mysql", version)
    request = struct.pack("<IIB23s", _MYSQL_FLAGS, _MYSQL_MAX_PACKET, _MYSQL_CHARSET, b"")
    sock.settimeout(deadline.remaining())
    sock.sendall(len(request).to_bytes(3, "little") + b"\x01" + request)


def greeting_version(data: bytes) -> str | None:
    """The server version of a MySQL/MariaDB HandshakeV10 packet at the start of ``data``."""
    return _greeting(data)[0]


def _greeting(packet: bytes) -> tuple[str | None, int]:
    """(server version, capability_flags_1) of a HandshakeV10 packet; (None, 0) if it is not."""
    payload = packet[4 : 4 + int.from_bytes(packet[:3], "little")]
    if payload[:1] != bytes([MYSQL_PROTOCOL]):
        return None, 0
    end = payload.find(b"\x00", 1)
    # version NUL, thread id (4), auth-plugin-data part 1 (8), filler (1), flags (2)
    flags_at = end + 1 + 4 + 8 + 1
    if end < 0 or len(payload) < flags_at + 2 or payload[flags_at - 1] != 0:
        return None, 0
    return shown(payload[1:end]), int.from_bytes(payload[flags_at : flags_at + 2], "little")


def _mysql_error(payload: bytes) -> Refused:
    """ERR_Packet: 0xFF, int<2> code, ['#' + 5-byte SQL state], message."""
    code = int.from_bytes(payload[1:3], "little")
    rest = payload[3:]
    state = ""
    if rest[:1] == b"#":
        state, rest = shown(rest[1:6]), rest[6:]
    label = f"error {code}" + (f" ({state})" if state else "")
    return Refused("mysql", shown(rest) or "(no message)", label)


# --- which, for a target ------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How every handshake of a run starts: the prelude, and the ALPN the server insists on."""

    prelude: Prelude | None = None
    alpn: tuple[str, ...] = ()  # direct TLS to PostgreSQL: the probes must offer it too
    label: str = ""  # for the report's header; "" for TLS from the first byte

    def accepts(self, selected: str | None) -> bool:
        """Whether the ALPN the server selected is the one this plan requires."""
        return not self.alpn or selected in self.alpn


def plan_for(dialect: str | None, direct: bool) -> Plan:
    """PostgreSQL: the SSLRequest (``direct``: none, ALPN ``postgresql``); MySQL: the greeting
    and the SSLRequest packet; everything else (Redis, MongoDB, a bare host): TLS at once."""
    if dialect == "postgresql":
        if direct:
            return Plan(None, (PG_ALPN,), 'direct TLS (sslnegotiation=direct), ALPN "postgresql"')
        return Plan(postgres_prelude, (), "PostgreSQL SSLRequest, then TLS")
    if dialect == "mysql":
        return Plan(mysql_prelude, (), "MySQL greeting and SSLRequest, then TLS")
    return Plan()


def identify(
    head: bytes, connect: Callable[[], socket.socket], deadline: Deadline
) -> tuple[str, str] | None:
    """After a plain TLS hello failed: ``("mysql", version)`` when the server had sent a MySQL
    greeting (``head``), ``("postgresql", "")`` when a new connection's SSLRequest gets
    PostgreSQL's answer; ``None`` otherwise (or when the look fails)."""
    version = greeting_version(head)
    if version is not None:
        return "mysql", version
    try:
        with connect() as sock:
            return ("postgresql", "") if postgres_answers(sock, deadline) else None
    except OSError:
        return None


# --- both ----------------------------------------------------------------------------------------


def shown(data: bytes) -> str:
    """A server's bytes as text for the report: decoded, escaped, cut to MESSAGE_LIMIT."""
    text = data.decode("utf-8", "backslashreplace")
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return escaped if len(escaped) <= MESSAGE_LIMIT else escaped[:MESSAGE_LIMIT] + "..."


def _peek(sock: socket.socket) -> bytes:
    """What else is already waiting (without waiting), to show a wrong answer."""
    try:
        sock.setblocking(False)
        return sock.recv(64)
    except OSError:
        return b""
