"""A tiny threaded TLS server on loopback for the lazy-loading tests and the benchmark."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def tls_server(context: ssl.SSLContext) -> Iterator[tuple[str, int]]:
    """Serve TLS handshakes on 127.0.0.1 until the block ends; yields ``(host, port)``.

    Each connection is handshaken and then closed; failed handshakes are ignored (the tests look
    at the client side).
    """
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(10)
            with context.wrap_socket(conn, server_side=True) as tls, contextlib.suppress(OSError):
                tls.recv(1)  # wait for the client to close

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
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
