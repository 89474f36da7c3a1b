"""Re-exports ``support.servers`` (the loopback servers) for tests not yet switched to it."""

from __future__ import annotations

from support.servers import (
    IO_TIMEOUT,
    LOOPBACK,
    Handler,
    PlainTCPServer,
    TLSServer,
    closed_port,
    hold_until_closed,
    http_ok,
    mongodb_responder,
    pinned_store,
    server_context,
)

__all__ = [
    "IO_TIMEOUT",
    "LOOPBACK",
    "Handler",
    "PlainTCPServer",
    "TLSServer",
    "closed_port",
    "hold_until_closed",
    "http_ok",
    "mongodb_responder",
    "pinned_store",
    "server_context",
]
