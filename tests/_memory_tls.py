"""A TLS handshake between two contexts in memory: proof that a context verifies, no sockets."""

from __future__ import annotations

import ssl


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
