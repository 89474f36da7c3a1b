"""--connect: the connection doctor."""

from __future__ import annotations
