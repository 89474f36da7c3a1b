"""Where the fixture trees are, and the two ways tests use them: facts and the CLI."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from typing import Any

from trustresolve._machine.facts import PlatformFacts

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "platform_fixtures")
SRC = os.path.join(REPO, "src")


def tree(name: str) -> str:
    return os.path.join(FIXTURES, name)


def facts_for(name: str, **changes: Any) -> PlatformFacts:
    """The facts of ``platform_fixtures/NAME``, with ``changes`` applied on top."""
    facts = PlatformFacts.from_root(tree(name))
    return dataclasses.replace(facts, **changes) if changes else facts


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m trustresolve ARGS`` from this checkout's sources."""
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-m", "trustresolve", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
