"""Re-exports ``support.servers`` (``tls_server``, ``handshake``) for tests not yet switched."""

from __future__ import annotations

from support.servers import handshake, tls_server

__all__ = ["handshake", "tls_server"]
