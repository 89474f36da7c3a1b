"""Running the command line: ``python -m trustresolve`` in a child, or ``main()`` in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

import pytest

from support.trees import SRC
from trustresolve._cli.main import main

__all__ = ["clean_env", "run_cli", "run_main"]

#: seconds a child may run: a hang fails the test instead of stalling the suite
CHILD_TIMEOUT = 120.0


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the variables that steer trust or Python, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SSL_CERT_", "TRUSTRESOLVE_", "PYTHON"))
        and key not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NIX_SSL_CERT_FILE")
    }
    env["PYTHONPATH"] = SRC
    env.update(extra)
    return env


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = CHILD_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """``python -m trustresolve ARGS`` from this checkout's sources, output captured as text.

    ``env`` defaults to this process's environment with ``PYTHONPATH`` at ``src``; pass
    ``clean_env()`` where the caller's trust variables must not leak into the child.
    """
    return subprocess.run(
        [sys.executable, "-m", "trustresolve", *args],
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else {**os.environ, "PYTHONPATH": SRC},
        timeout=timeout,
        check=False,
    )


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``main(ARGV)`` in this process: the exit code, stdout and stderr."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err
