"""Loopback servers for tests: TLS in a thread, plain TCP, a closed port, a MongoDB responder.

Everything binds 127.0.0.1 only. Every server is a context manager that closes its sockets and
joins its threads on exit, and fails the test if a thread does not stop, so tests cannot leak.

    with TLSServer(server_context) as server:           # server.port, server.address
        ...connect a client to 127.0.0.1:server.port...
    server.handshake_errors                              # what the server saw go wrong

Handlers take the server-side ``ssl.SSLSocket`` after a successful handshake:
``hold_until_closed`` (default), ``http_ok`` (answers one HTTP request with 200 "ok") and
``mongodb_responder`` (answers ``hello``/``isMaster``, ``ping`` and anything else with ok: 1).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import socket
import ssl
import struct
import threading
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType

__all__ = [
    "PlainTCPServer",
    "TLSServer",
    "closed_port",
    "hold_until_closed",
    "http_ok",
    "mongodb_responder",
    "pinned_store",
    "server_context",
]

LOOPBACK = "127.0.0.1"
IO_TIMEOUT = 10.0  # seconds a connection may sit idle before the server gives up on it
_ACCEPT_POLL = 0.05

Handler = Callable[[socket.socket], None]


def server_context(
    cert: object,
    *,
    client_ca: object | None = None,
    minimum_version: ssl.TLSVersion | None = None,
    maximum_version: ssl.TLSVersion | None = None,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    """A server context presenting a trustme ``LeafCert``; ``client_ca`` requires client certs."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)  # type: ignore[attr-defined]
    if client_ca is not None:
        client_ca.configure_trust(context)  # type: ignore[attr-defined]
        context.verify_mode = ssl.CERT_REQUIRED
    if ciphers is not None:
        context.set_ciphers(ciphers)
    if minimum_version is not None:
        context.minimum_version = minimum_version
    if maximum_version is not None:
        context.maximum_version = maximum_version
    return context


class _ThreadedServer:
    """Accept loop in a thread, one thread per connection, all joined on exit."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._guard = threading.Lock()
        self.errors: list[BaseException] = []
        self.connections_accepted = 0

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def address(self) -> tuple[str, int]:
        return (LOOPBACK, self.port)

    def __enter__(self) -> _ThreadedServer:
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(16)
        self._listener.settimeout(_ACCEPT_POLL)
        self._accept_thread = self._start(self._accept_loop, "accept")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Stop accepting first: a client still retrying (PyMongo's monitor after close())
        # must not slip a connection in after the others were shut down.
        self._stop.set()
        self._accept_thread.join(IO_TIMEOUT)
        self._listener.close()
        with self._guard:
            for connection in self._connections:
                _shut(connection)
            threads = list(self._threads)
        for thread in threads:
            thread.join(IO_TIMEOUT + 5)
        alive = [t.name for t in threads if t.is_alive()]
        if alive:
            raise AssertionError(f"server threads did not stop: {alive}")

    def _start(self, target: Callable[..., None], name: str, *args: object) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=f"test-server-{name}")
        thread.daemon = True  # belt and braces: __exit__ joins and asserts anyway
        with self._guard:
            self._threads.append(thread)
        thread.start()
        return thread

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            connection.settimeout(IO_TIMEOUT)
            # wrap_socket() detaches the socket it wraps, so shutting down the accepted object
            # would do nothing mid-handshake; a dup shares the connection and stays usable.
            control = connection.dup()
            with self._guard:
                self._connections.append(control)
                self.connections_accepted += 1
            self._start(self._serve_guarded, "conn", connection, control)

    def _serve_guarded(self, connection: socket.socket, control: socket.socket) -> None:
        try:
            self._serve(connection)
        except Exception as exc:  # recorded for the test to inspect
            if not self._stop.is_set():
                self.errors.append(exc)
        finally:
            connection.close()
            with self._guard:
                self._connections.remove(control)
            control.close()

    def _serve(self, connection: socket.socket) -> None:
        raise NotImplementedError


class TLSServer(_ThreadedServer):
    """A TLS server on 127.0.0.1 with the given context; ``handler`` runs after the handshake."""

    def __init__(self, context: ssl.SSLContext, handler: Handler | None = None) -> None:
        super().__init__()
        self.context = context
        self.handler = handler or hold_until_closed
        self.handshake_errors: list[BaseException] = []
        self.completed_handshakes = 0
        # The client may see its side of a handshake end before this thread has recorded the
        # server's side: tests wait on this instead of reading the counters at once.
        self._finished = threading.Condition()

    def __enter__(self) -> TLSServer:
        super().__enter__()
        return self

    def wait_for_handshakes(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``count`` handshakes (completed or failed) have been recorded."""
        with self._finished:
            self._finished.wait_for(
                lambda: self.completed_handshakes + len(self.handshake_errors) >= count, timeout
            )

    def _serve(self, connection: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(connection, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            with self._finished:
                self.handshake_errors.append(exc)
                self._finished.notify_all()
            return
        with self._guard, self._finished:
            self.completed_handshakes += 1
            self._finished.notify_all()
        try:
            self.handler(tls)
        finally:
            tls.close()


class PlainTCPServer(_ThreadedServer):
    """Accepts TCP connections, sends ``greeting`` (maybe nothing) and closes them."""

    def __init__(self, greeting: bytes = b"") -> None:
        super().__init__()
        self.greeting = greeting

    def __enter__(self) -> PlainTCPServer:
        super().__enter__()
        return self

    def _serve(self, connection: socket.socket) -> None:
        if self.greeting:
            connection.sendall(self.greeting)
        hold_until_closed(connection)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released: connecting is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _shut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


# Variables that make programs (and OpenSSL) trust something else than the store under test.
_TRUST_VARIABLES = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "TRUSTRESOLVE_CONFIG",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


@contextlib.contextmanager
def pinned_store(variables: dict[str, str]) -> Iterator[None]:
    """Resolve with only ``variables`` among the trust variables set, then restore and re-resolve.

    ``pinned_store({"SSL_CERT_FILE": ca_pem})`` makes the real ``env`` backend resolve to a test
    CA; ``{"TRUSTRESOLVE_CONFIG": ini}`` does it through the ``config`` backend, leaving OpenSSL's
    own defaults (which read SSL_CERT_FILE) on the system store.
    """
    from trustresolve import NoTrustStoreError, resolve

    saved = {name: os.environ.get(name) for name in _TRUST_VARIABLES}
    try:
        for name in _TRUST_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(variables)
        resolve(refresh=True)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        with contextlib.suppress(NoTrustStoreError):
            resolve(refresh=True)


# --- handlers ----------------------------------------------------------------------------------


def hold_until_closed(connection: socket.socket) -> None:
    """Read and discard until the client closes (or the server stops)."""
    with contextlib.suppress(OSError):
        while connection.recv(4096):
            pass


def http_ok(connection: socket.socket) -> None:
    """Answer every HTTP/1.1 request on the connection with ``200 ok``."""
    buffer = b""
    while True:
        try:
            chunk = connection.recv(4096)
        except OSError:
            return
        if not chunk:
            return
        buffer += chunk
        while b"\r\n\r\n" in buffer:
            _, buffer = buffer.split(b"\r\n\r\n", 1)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
            )


# --- a minimal MongoDB wire-protocol server ----------------------------------------------------
# mockupdb 1.8 wraps its socket with ssl.wrap_socket (gone in Python 3.12) and its own bundled
# certificate, so it cannot present a trustme certificate; this answers just enough for PyMongo
# 4.x: the OP_QUERY or OP_MSG handshake, monitoring hellos, ping and endSessions.

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
_HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode
_MORE_TO_COME = 1 << 1


def _hello_reply() -> dict[str, object]:
    return {
        "ok": 1.0,
        "helloOk": True,
        "isWritablePrimary": True,
        "ismaster": True,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "maxMessageSizeBytes": 48_000_000,
        "maxWriteBatchSize": 100_000,
        "localTime": datetime.datetime.now(datetime.timezone.utc),
        "minWireVersion": 0,
        "maxWireVersion": 21,
        "connectionId": 1,
        "readOnly": False,
    }


def _reply_to(command: dict[str, object]) -> dict[str, object]:
    name = next(iter(command), "").lower()
    if name in ("hello", "ismaster"):
        return _hello_reply()
    return {"ok": 1.0}


def _recv_exact(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def mongodb_responder(connection: socket.socket) -> None:
    """Serve MongoDB wire-protocol requests until the client hangs up."""
    import bson

    request_id = 0
    while True:
        try:
            length, incoming_id, _, op_code = _HEADER.unpack(_recv_exact(connection, 16))
            body = _recv_exact(connection, length - 16)
        except (EOFError, OSError):
            return
        request_id += 1
        if op_code == OP_QUERY:
            # flags, cstring collection, skip, limit, then the command document
            offset = body.index(b"\0", 4) + 1 + 8
            reply = bson.encode(_reply_to(bson.decode(body[offset:])))
            payload = struct.pack("<iqii", 0, 0, 0, 1) + reply
            opcode = OP_REPLY
        elif op_code == OP_MSG:
            (flags,) = struct.unpack_from("<I", body)
            # section kind 0 at offset 4; document sequences (kind 1) are not needed here
            command = bson.decode(body[5 : 5 + struct.unpack_from("<i", body, 5)[0]])
            if flags & _MORE_TO_COME:
                continue
            payload = struct.pack("<IB", 0, 0) + bson.encode(_reply_to(command))
            opcode = OP_MSG
        else:
            return
        header = _HEADER.pack(16 + len(payload), request_id, incoming_id, opcode)
        connection.sendall(header + payload)
