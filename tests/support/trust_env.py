"""A test's own trust settings: none of this machine's variables or config files."""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["unpin_trust"]


def unpin_trust(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Unset the trust variables, and point the cache and config directories into ``tmp_path``
    (a test that wants a variable sets it afterwards)."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "TRUSTRESOLVE_CONFIG", "SSLKEYLOGFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRUSTRESOLVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
