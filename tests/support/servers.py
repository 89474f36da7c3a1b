"""Loopback servers and handshakes for tests: every server binds 127.0.0.1 only.

Two kinds of server, for two kinds of test:

* ``TLSServer``/``PlainTCPServer`` (context managers): an accept loop in a thread, every thread
  joined on exit, the test failed if one does not stop; ``server.handshake_errors`` and
  ``wait_for_handshakes()`` tell what the server saw. Handlers take the server-side socket after a
  successful handshake: ``hold_until_closed`` (default), ``http_ok`` (answers HTTP with 200 "ok")
  and ``mongodb_responder`` (answers ``hello``/``isMaster``, ``ping`` and the rest with ok: 1).

      with TLSServer(server_context(leaf)) as server:    # server.port, server.address
          ...connect a client to 127.0.0.1:server.port...

* ``serve(handler)`` (yields a port) and ``tls_server(context)`` (yields ``(host, port)``): light
  daemon-thread servers for the ``--connect`` diagnoses and the lazy-loading tests, where a
  server misbehaves on purpose (``plain_handler``, ``silent_handler``) or only the client's side
  matters.

``memory_handshake`` runs a handshake between two contexts in memory, no sockets at all.
``pinned_store`` makes the real backends resolve to a test CA for the length of a block.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import socket
import ssl
import struct
import tempfile
import threading
import time
import warnings
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType

    import trustme

__all__ = [
    "PlainTCPServer",
    "TLSServer",
    "closed_port",
    "handshake",
    "hold_until_closed",
    "http_ok",
    "leaf_context",
    "leaf_only_context",
    "memory_handshake",
    "mongodb_responder",
    "pem_server_context",
    "pinned_store",
    "plain_handler",
    "serve",
    "server_context",
    "silent_handler",
    "tls_handler",
    "tls_server",
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


# --- in memory ---------------------------------------------------------------------------------


def memory_handshake(
    client: ssl.SSLContext, server: ssl.SSLContext, hostname: str
) -> ssl.SSLError | None:
    """``None`` when the handshake completes, else the client's or server's ``SSLError``."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client_side = client.wrap_bio(c_in, c_out, server_hostname=hostname)
    server_side = server.wrap_bio(s_in, s_out, server_side=True)
    try:
        for _ in range(10):
            finished = 0
            for side in (client_side, server_side):
                try:
                    side.do_handshake()
                    finished += 1
                except ssl.SSLWantReadError:
                    pass
            s_in.write(c_out.read())
            c_in.write(s_out.read())
            if finished == 2:
                return None
    except ssl.SSLError as exc:
        return exc
    raise AssertionError("handshake neither finished nor failed")


# --- light servers: a handler per connection, daemon threads -----------------------------------


@contextlib.contextmanager
def serve(handler: Handler) -> Iterator[int]:
    """Run ``handler(conn)`` for every connection to 127.0.0.1:PORT; yields PORT."""
    listener = socket.create_server((LOOPBACK, 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def run(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            handler(conn)

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.settimeout(5)
            threading.Thread(target=run, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def tls_handler(context: ssl.SSLContext) -> Handler:
    """Handshake with ``context``, then wait for the client to close."""

    def handle(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls, contextlib.suppress(OSError):
            tls.recv(1)

    return handle


def plain_handler(conn: socket.socket) -> None:
    """A plain-text service that greets first (like SMTP, or HTTP answering garbage)."""
    conn.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    with contextlib.suppress(OSError):
        conn.recv(1024)


def silent_handler(conn: socket.socket) -> None:
    """Accepts and never answers (until the client gives up)."""
    with contextlib.suppress(OSError):
        while conn.recv(1024):
            pass


@contextlib.contextmanager
def tls_server(context: ssl.SSLContext) -> Iterator[tuple[str, int]]:
    """Serve TLS handshakes on 127.0.0.1 until the block ends; yields ``(host, port)``.

    Each connection is handshaken and then closed; failed handshakes are ignored (the tests look
    at the client side).
    """
    listener = socket.create_server((LOOPBACK, 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(10)
            with context.wrap_socket(conn, server_side=True) as tls, contextlib.suppress(OSError):
                tls.recv(1)  # wait for the client to close

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        stop.set()
        thread.join()
        listener.close()


def handshake(context: ssl.SSLContext, address: tuple[str, int], hostname: str) -> None:
    """Connect, complete a verified handshake as ``hostname``, close."""
    sock = socket.create_connection(address, timeout=10)
    try:
        context.wrap_socket(sock, server_hostname=hostname).close()
    finally:
        sock.close()


# --- server contexts from PEM bytes (any chain, old protocol versions) -------------------------


def pem_server_context(
    chain_pem: bytes,
    key_pem: bytes,
    *,
    maximum: ssl.TLSVersion | None = None,
    minimum: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    """A server context presenting ``chain_pem`` (leaf first) with ``key_pem``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if maximum is not None and maximum < ssl.TLSVersion.TLSv1_2:
        # OpenSSL 3 needs security level 0 for TLS 1.0/1.1 (SHA-1 handshake signatures).
        context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():  # naming TLS 1.0/1.1 is deprecated (3.10+); on purpose here
        warnings.simplefilter("ignore", DeprecationWarning)
        if minimum is not None:
            context.minimum_version = minimum
        if maximum is not None:
            context.maximum_version = maximum
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "server.pem")
        with open(path, "wb") as out:
            out.write(chain_pem + key_pem)
        context.load_cert_chain(path)
    return context


def leaf_context(leaf: trustme.LeafCert, **kwargs: ssl.TLSVersion) -> ssl.SSLContext:
    """The server sends its whole chain (leaf and any intermediates)."""
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    return pem_server_context(chain, leaf.private_key_pem.bytes(), **kwargs)


def leaf_only_context(leaf: trustme.LeafCert) -> ssl.SSLContext:
    """The server sends only its own certificate (the misconfiguration)."""
    return pem_server_context(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())


def trickling_handler(interval: float, *, lasting: float = 30.0) -> Handler:
    """Reads the client's hello, then answers with the start of a TLS record, one byte every
    ``interval`` seconds (so a per-read socket timeout never fires), for ``lasting`` seconds
    or until the client leaves; then closes. A client without an overall deadline therefore
    ends late and with another verdict, instead of hanging the test."""

    def handle(conn: socket.socket) -> None:
        conn.recv(16384)
        record = b"\x16\x03\x03\x40\x00" + b"\x02" + b"\x00" * 0x3FFF
        for sent, byte in enumerate(record):
            if sent * interval >= lasting:
                return
            conn.sendall(bytes([byte]))
            time.sleep(interval)

    return handle


def first_then(first: Handler, rest: Handler, *, count: int = 1) -> Handler:
    """``first`` for the first ``count`` connections, ``rest`` for every later one."""
    lock = threading.Lock()
    seen = [0]

    def handle(conn: socket.socket) -> None:
        with lock:
            seen[0] += 1
            number = seen[0]
        (first if number <= count else rest)(conn)

    return handle
