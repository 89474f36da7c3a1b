"""Re-exports ``support.servers.memory_handshake`` for tests not yet switched to it."""

from __future__ import annotations

from support.servers import memory_handshake

__all__ = ["memory_handshake"]
