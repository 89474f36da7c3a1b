"""Shared test set-up: a private cache directory and a fresh resolution for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "platform_fixtures"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Nothing a test materializes lands in the real user cache."""
    if "TRUSTRESOLVE_CACHE_DIR" in os.environ:
        yield
        return
    cache = tmp_path_factory.mktemp("trustresolve-cache")
    cache.chmod(0o700)
    os.environ["TRUSTRESOLVE_CACHE_DIR"] = str(cache)
    yield
    del os.environ["TRUSTRESOLVE_CACHE_DIR"]


@pytest.fixture(autouse=True)
def _fresh_resolution() -> Iterator[None]:
    """resolve() caches per process; every test starts from a clean probe."""
    from trustresolve._store import resolve as _resolve

    _resolve._cached.clear()
    yield
    _resolve._cached.clear()
