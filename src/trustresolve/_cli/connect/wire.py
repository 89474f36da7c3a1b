"""The network side of the doctor: one deadline, the name lookup, TCP, and TLS handshakes.

Every handshake runs through memory BIOs: this module reads the socket itself, so each read
waits at most until the run's one deadline, and a server that trickles a byte at a time cannot
stretch the run (a socket timeout restarts with every byte). The bytes read are kept, so the
TLS 1.2 ``Certificate`` message (plaintext up to TLS 1.2, RFC 5246) can be read off the wire.

The chain "as sent": Python 3.13+ has ``get_unverified_chain()``; on older Pythons it is read
from a TLS 1.2 handshake's records (also of one the server then refused: its Certificate
message comes before it looks at the client's); a TLS 1.3-only server then shows its leaf only.
The probing handshakes present the client certificate the user's program would, so a server
that requires one answers them as it answers the program.

After the handshake, the doctor's own connection waits briefly for the server's first word
(:func:`handshake` with ``listen``): a TLS 1.3 server checks the client's certificate after the
client has finished its handshake (RFC 8446 §4.4.2), so a rejection arrives as an alert then
(``certificate_required``, ``unknown_ca``, ...), where a program sees it on its first read.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from ..._tls import versions

if TYPE_CHECKING:
    from .negotiate import Prelude

__all__ = [
    "LISTEN_SECONDS",
    "Chain",
    "ClientCertificate",
    "Deadline",
    "Handshake",
    "TimedOut",
    "allowed_versions",
    "certificates_from_records",
    "fetch_chain",
    "handshake",
    "lookup",
    "probe_context",
    "requested_client_certificate",
    "server_hostname",
    "server_versions",
    "tcp_connect",
]

_MAX_RECORD_BYTES = 256 * 1024  # a certificate chain beyond this is not worth reading
_READ_SIZE = 16384
#: How long the doctor's handshake waits for the server's first record after the handshake:
#: a TLS 1.3 server sends its tickets (or its rejection of the client) at once; one that sends
#: nothing in this time has accepted the client.
LISTEN_SECONDS = 0.5
# TLS handshake message types (RFC 8446 §4, RFC 5246 §7.4).
_CERTIFICATE = 11
_CERTIFICATE_REQUEST = 13


class TimedOut(socket.timeout):
    """The run's deadline passed (a ``socket.timeout``, so every timeout is handled alike)."""


class Deadline:
    """One point in time for the whole run: every wait of every step ends there."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        """The seconds left; raises :class:`TimedOut` when there are none."""
        left = self._end - self._clock()
        if left <= 0:
            raise TimedOut(f"the {self.seconds:g} s of --timeout ran out")
        return left

    @property
    def expired(self) -> bool:
        return self._end - self._clock() <= 0


def lookup(host: str, port: int, deadline: Deadline) -> list[tuple[int, int, int, tuple[str, int]]]:
    """``getaddrinfo`` for TCP, given up at the deadline (it has no timeout of its own, so it
    runs in a daemon thread that is left behind if the resolver hangs)."""
    found: list[object] = []

    def work() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            found.append(exc)

    thread = threading.Thread(target=work, name="trustresolve-connect-dns", daemon=True)
    thread.start()
    thread.join(deadline.remaining())
    if not found:
        raise TimedOut(f"the name lookup did not finish within {deadline.seconds:g} s")
    result = found[0]
    if isinstance(result, BaseException):
        raise result
    assert isinstance(result, list)
    return [
        (family, kind, proto, (str(sockaddr[0]), int(sockaddr[1])))
        for family, kind, proto, _, sockaddr in result
    ]


def tcp_connect(family: int, address: tuple[str, int], deadline: Deadline) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(deadline.remaining())
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


def _family(address: tuple[str, int]) -> int:
    return socket.AF_INET6 if ":" in address[0] else socket.AF_INET


@dataclass(frozen=True)
class ClientCertificate:
    """The client certificate the user's program presents (already loaded once, checked)."""

    certfile: str
    keyfile: str | None = None
    password: str | None = field(default=None, repr=False)


def probe_context(
    minimum: ssl.TLSVersion | None = None,
    maximum: ssl.TLSVersion | None = None,
    certificate: ClientCertificate | None = None,
    *,
    alpn: Sequence[str] = (),
) -> ssl.SSLContext:
    """A context that accepts anything: for looking, never for trusting. It presents
    ``certificate``, so a server requiring one shows itself as it does to the program;
    ``alpn``: what the server insists on (PostgreSQL's direct TLS), so that it answers at all."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if alpn:
        context.set_alpn_protocols(list(alpn))
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # Security level 0: TLS 1.0/1.1 and weak keys must not stop us from *seeing* a server.
    if "LibreSSL" not in ssl.OPENSSL_VERSION:
        context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():  # 3.10+ deprecates naming TLS 1.0/1.1; we only look
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = minimum or ssl.TLSVersion.MINIMUM_SUPPORTED
        context.maximum_version = maximum or ssl.TLSVersion.MAXIMUM_SUPPORTED
    if certificate is not None:
        context.load_cert_chain(certificate.certfile, certificate.keyfile, certificate.password)
    return context


def server_hostname(host: str) -> str | None:
    try:
        import ipaddress

        ipaddress.ip_address(host)
    except ValueError:
        return host
    return None  # no SNI for an address literal (RFC 6066 §3)


@dataclass
class Handshake:
    """A finished handshake: what was agreed and what the server sent."""

    version: str | None
    cipher: str | None
    leaf: bytes | None
    unverified_chain: list[bytes] | None  # Python 3.13+ only
    received: bytes  # the raw records read, up to _MAX_RECORD_BYTES
    alpn: str | None = None  # the application protocol the server selected
    # What the server said right after the handshake, when it was listened for: None (it
    # accepted: tickets, data, or nothing in time), an SSLError (its alert), or an EOF error
    # (it closed the connection).
    refusal: BaseException | None = None


class HandshakeError(Exception):
    """A handshake failed; ``error`` is what ``ssl`` or the socket raised."""

    def __init__(self, error: BaseException, received: int, records: bytes = b"") -> None:
        super().__init__(str(error))
        self.error = error
        self.received = received  # bytes the server sent before it failed
        self.records = records  # those bytes (up to _MAX_RECORD_BYTES): TLS 1.2's are plaintext


def handshake(
    address: tuple[str, int],
    context: ssl.SSLContext,
    hostname: str | None,
    deadline: Deadline,
    *,
    prelude: Prelude | None = None,
    listen: float = 0.0,
) -> Handshake:
    """Connect, run ``prelude`` (how the server's protocol starts TLS, :mod:`.negotiate`),
    and handshake; raises :class:`HandshakeError` wrapping what went wrong.

    ``listen`` > 0: then wait up to that long (and never past the deadline) for the server's
    first record, and keep what it said in ``refusal``.
    """
    pipe = _Pipe(deadline)
    try:
        with contextlib.closing(tcp_connect(_family(address), address, deadline)) as raw:
            if prelude is not None:
                prelude(raw, deadline)
            tls = context.wrap_bio(pipe.incoming, pipe.outgoing, server_hostname=hostname)
            try:
                pipe.drive(tls, raw)
            finally:
                # What TLS still has to say: the last flight, or the alert telling the server
                # why the client gave up.
                with contextlib.suppress(OSError):
                    pipe.send(raw)
            done = Handshake(
                tls.version(),
                (tls.cipher() or ("?",))[0],
                tls.getpeercert(binary_form=True),
                _unverified_chain(tls),
                bytes(pipe.received),
                tls.selected_alpn_protocol(),
            )
            if listen > 0:
                done.refusal = pipe.listen(tls, raw, listen)
            return done
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise HandshakeError(exc, len(pipe.received), bytes(pipe.received)) from exc


class _Pipe:
    """The memory BIOs between an ``SSLObject`` and the socket, read under the deadline."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.received = bytearray()

    def drive(self, tls: ssl.SSLObject, raw: socket.socket) -> None:
        while True:
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                self.send(raw)
                self.receive(raw)
            else:
                return

    def listen(
        self, tls: ssl.SSLObject, raw: socket.socket, seconds: float
    ) -> BaseException | None:
        """The server's first word after the handshake, read as a program's first read would
        (``SSLObject.read``): None when it accepted, else the error that read raises."""
        window = Deadline(seconds)
        fed = False
        while True:
            try:
                data = tls.read(1)
            except ssl.SSLWantReadError:
                if fed:  # a whole record came and was no alert: tickets (RFC 8446 §4.6.1)
                    return None
            except ssl.SSLError as exc:  # an alert, or the EOF written below
                return exc
            else:
                # Data: the server is talking to us. Nothing: close_notify, or (Python 3.9)
                # the EOF, which a program's recv() also returns as b"" without an error.
                return None if data else EOFError("the server closed the connection")
            try:
                raw.settimeout(min(window.remaining(), self.deadline.remaining()))
                data = raw.recv(_READ_SIZE)
            except socket.timeout:
                return None  # nothing came in time: the server accepted the client
            except OSError as exc:  # reset: a program's read would fail the same way
                return exc
            if data:
                self.incoming.write(data)
                fed = True
            else:
                self.incoming.write_eof()
            with contextlib.suppress(OSError):
                self.send(raw)

    def send(self, raw: socket.socket) -> None:
        data = self.outgoing.read()
        if data:
            raw.settimeout(self.deadline.remaining())
            raw.sendall(data)

    def receive(self, raw: socket.socket) -> None:
        raw.settimeout(self.deadline.remaining())
        data = raw.recv(_READ_SIZE)
        if not data:
            self.incoming.write_eof()  # the next do_handshake() raises SSLEOFError
            return
        if len(self.received) < _MAX_RECORD_BYTES:
            self.received += data
        self.incoming.write(data)


def _unverified_chain(tls: ssl.SSLObject) -> list[bytes] | None:
    if sys.version_info < (3, 13):
        return None
    chain = tls.get_unverified_chain() or []
    # DER bytes per the 3.13 docs; _ssl.Certificate objects in some builds.
    return [c if isinstance(c, bytes) else _der_of(c) for c in chain]


def _der_of(certificate: object) -> bytes:
    encoding = getattr(ssl, "_ssl").ENCODING_DER  # noqa: B009 - private constant, no stub
    return bytes(certificate.public_bytes(encoding))  # type: ignore[attr-defined]


# --- what the server sent ---------------------------------------------------------------------


@dataclass
class Chain:
    certificates: list[bytes]
    complete: bool  # False: only the leaf is known (TLS 1.3-only server on Python < 3.13)
    # Why the TLS 1.2 handshake that reads the chain got none (when ``complete`` is False):
    # a protocol version error (the server speaks only TLS 1.3) or the server's refusal.
    refused: BaseException | None = None


def fetch_chain(
    address: tuple[str, int],
    host: str,
    deadline: Deadline,
    certificate: ClientCertificate | None = None,
    *,
    prelude: Prelude | None = None,
    alpn: Sequence[str] = (),
) -> Chain | None:
    """The certificates the server sends, without verifying them; ``None`` if that fails."""
    sni = server_hostname(host)
    if sys.version_info >= (3, 13):
        try:
            probe = probe_context(certificate=certificate, alpn=alpn)
            done = handshake(address, probe, sni, deadline, prelude=prelude)
        except HandshakeError as failed:
            sent = certificates_from_records(failed.records)  # refused in TLS 1.2
            return Chain(sent, True) if sent else None
        return Chain(done.unverified_chain or [], True)
    tls12 = probe_context(maximum=ssl.TLSVersion.TLSv1_2, certificate=certificate, alpn=alpn)
    refused: BaseException | None = None
    try:
        done12 = handshake(address, tls12, sni, deadline, prelude=prelude)
        sent = certificates_from_records(done12.received)
    except HandshakeError as failed:
        # A server refusing the client sent its Certificate before it looked at the client's.
        sent = certificates_from_records(failed.records)
        refused = failed.error
    if sent:
        return Chain(sent, True)
    try:
        probe = probe_context(certificate=certificate, alpn=alpn)
        leaf = handshake(address, probe, sni, deadline, prelude=prelude).leaf
    except HandshakeError:
        return None
    return Chain([leaf], False, refused) if leaf else None


def _handshake_messages(data: bytes) -> list[tuple[int, bytes]]:
    """(type, body) of the plaintext handshake messages in ``data``, the records the server
    sent, up to its ChangeCipherSpec (RFC 5246 §7.4; TLS 1.3's ServerHello alone, RFC 8446)."""
    if len(data) >= _MAX_RECORD_BYTES:
        return []
    handshake_bytes = bytearray()
    pos = 0
    while pos + 5 <= len(data):
        kind, length = data[pos], int.from_bytes(data[pos + 3 : pos + 5], "big")
        if kind == 22:  # handshake records, in plaintext until ChangeCipherSpec
            handshake_bytes += data[pos + 5 : pos + 5 + length]
        elif kind == 20:
            break
        pos += 5 + length
    messages = []
    pos = 0
    while pos + 4 <= len(handshake_bytes):
        kind, length = (
            handshake_bytes[pos],
            int.from_bytes(handshake_bytes[pos + 1 : pos + 4], "big"),
        )
        messages.append((kind, bytes(handshake_bytes[pos + 4 : pos + 4 + length])))
        pos += 4 + length
    return messages


def certificates_from_records(data: bytes) -> list[bytes] | None:
    """The certificate_list of the first Certificate (type 11) handshake message (RFC 5246)."""
    for kind, body in _handshake_messages(data):
        if kind == _CERTIFICATE:
            certificates = []
            offset = 3  # certificate_list length
            while offset + 3 <= len(body):
                size = int.from_bytes(body[offset : offset + 3], "big")
                certificates.append(body[offset + 3 : offset + 3 + size])
                offset += 3 + size
            return certificates
    return None


def requested_client_certificate(data: bytes) -> bool:
    """Whether the server's plaintext records hold a CertificateRequest (TLS 1.2 and older;
    TLS 1.3 encrypts it)."""
    return any(kind == _CERTIFICATE_REQUEST for kind, _ in _handshake_messages(data))


# --- protocol versions ------------------------------------------------------------------------


def server_versions(
    address: tuple[str, int],
    host: str,
    deadline: Deadline,
    certificate: ClientCertificate | None = None,
    *,
    prelude: Prelude | None = None,
    alpn: Sequence[str] = (),
) -> list[ssl.TLSVersion]:
    """The protocol versions the server completes a handshake with (each tried alone); one it
    refused after asking for the client's certificate (TLS 1.2) agreed on the version too."""
    offered = []
    for version in versions.SPOKEN:
        try:
            context = probe_context(version, version, certificate, alpn=alpn)
        except (ValueError, ssl.SSLError):
            continue  # this library cannot even be asked for that version
        try:
            handshake(address, context, server_hostname(host), deadline, prelude=prelude)
        except HandshakeError as failed:
            if not requested_client_certificate(failed.records):
                continue
        offered.append(version)
    return offered


def allowed_versions(context: ssl.SSLContext) -> list[ssl.TLSVersion]:
    low, high = context.minimum_version, context.maximum_version
    return [
        v
        for v in versions.local_versions()
        if (low == ssl.TLSVersion.MINIMUM_SUPPORTED or v >= low)
        and (high == ssl.TLSVersion.MAXIMUM_SUPPORTED or v <= high)
    ]
