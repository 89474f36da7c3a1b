"""Re-exports ``support.trees`` and ``support.cli.run_cli`` for tests not yet switched to them."""

from __future__ import annotations

from support.cli import run_cli
from support.trees import FIXTURES, REPO, SRC, facts_for, tree

__all__ = ["FIXTURES", "REPO", "SRC", "facts_for", "run_cli", "tree"]
