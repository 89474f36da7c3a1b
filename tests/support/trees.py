"""The fixture trees under ``platform_fixtures/``: where they are, what ``expected.json`` says
each resolves to, and the facts tests resolve them with (architecture §5)."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from typing import Any

import trustresolve
from trustresolve import NoTrustStoreError, Resolution
from trustresolve._machine.facts import PlatformFacts

__all__ = [
    "EXPECTED",
    "FIXTURES",
    "REPO",
    "SRC",
    "facts_for",
    "linux_facts",
    "probe_tree",
    "tree",
    "tree_names",
]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "platform_fixtures")
SRC = os.path.join(REPO, "src")

with open(os.path.join(FIXTURES, "expected.json"), encoding="utf-8") as _handle:
    #: tree name -> what it resolves to (written by platform_fixtures/make_unix_fixtures.py)
    EXPECTED: dict[str, dict[str, Any]] = json.load(_handle)


def tree(name: str) -> str:
    """The host path of ``platform_fixtures/NAME``."""
    return os.path.join(FIXTURES, name)


def tree_names(prefixes: Sequence[str] | None = None, exclude: Sequence[str] = ()) -> list[str]:
    """The Unix trees of ``expected.json`` (in its order) starting with ``prefixes``, if given."""
    return [
        name
        for name in EXPECTED
        if (prefixes is None or name.startswith(tuple(prefixes)))
        and not name.startswith(tuple(exclude))
    ]


def facts_for(name: str, **changes: Any) -> PlatformFacts:
    """The facts of ``platform_fixtures/NAME``, with ``changes`` applied on top."""
    facts = PlatformFacts.from_root(tree(name))
    return dataclasses.replace(facts, **changes) if changes else facts


def linux_facts(environ: dict[str, str] | None = None, *, root: str = "/") -> PlatformFacts:
    """A Linux machine at ``root`` with only ``environ`` set and no config directories."""
    return PlatformFacts(platform="linux", environ=environ or {}, root=root, config_dirs=())


def probe_tree(root: str) -> tuple[Resolution | None, NoTrustStoreError | None]:
    """Resolve the tree at ``root``: the resolution, or the error when it has no store."""
    facts = PlatformFacts.from_root(root)
    try:
        return trustresolve.resolve(facts), None
    except NoTrustStoreError as exc:
        return None, exc
