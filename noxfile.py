"""nox sessions: tests on every supported interpreter, lint, mypy for three platforms, docs.

Outside CI, ``tests`` runs on the interpreters this machine has and skips the others (nox
prints which). CI (``CI=true``, see ``.ci/run``) insists on all six: a missing one fails the run.
"""

from __future__ import annotations

import os

import nox

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
nox.options.error_on_missing_interpreters = IN_CI
nox.options.sessions = ["tests", "lint", "mypy", "docs"]

# CPython from pyenv (PYENV_VERSION lists them) or the system, PyPy from Debian's pypy3.
PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13", "pypy3"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    # PyPy 3.9 has no wheel of current cryptography and building it needs crates.io:
    # --only-binary makes pip take the newest release that ships one.
    session.install(
        "--prefer-binary", "--only-binary", "cryptography", "-r", "requirements/tests.txt"
    )
    session.install("-e", ".")
    session.run("pytest", *(session.posargs or ["-q"]))


# The checks below need one interpreter, not a particular one: the one running nox.
@nox.session(python=None)
def lint(session: nox.Session) -> None:
    session.install("-r", "requirements/lint.txt")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=None)
def mypy(session: nox.Session) -> None:
    # urllib3 is typed: _inject imports it when present, and mypy checks that code too.
    session.install("-r", "requirements/lint.txt", "certifi", "platformdirs", "urllib3")
    for platform in ("linux", "darwin", "win32"):
        session.run("mypy", "--strict", "--platform", platform, "src/trustresolve")


@nox.session(python=None)
def docs(session: nox.Session) -> None:
    session.install("-r", "requirements/docs.txt", "-e", ".")
    session.run("sphinx-build", "-W", "-n", "--keep-going", "-b", "html", "docs", "docs/_build")
