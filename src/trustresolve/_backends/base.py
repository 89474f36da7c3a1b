"""The backend protocol and what a probe returns (architecture §1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .._machine.model import Attempt, TrustSource

if TYPE_CHECKING:
    from .._machine.facts import PlatformFacts

__all__ = ["Backend", "Probe", "does_not_apply"]


@dataclass(frozen=True)
class Probe:
    """A backend's answer: its attempts in order, and the source it found, if any.

    ``fatal`` is set when the backend is authoritative and its store is bad (``SSL_CERT_FILE``
    set but missing): resolution stops there with that message instead of falling through.
    """

    attempts: tuple[Attempt, ...]
    source: TrustSource | None = None
    fatal: str | None = None
    config_files: tuple[str, ...] = ()


class Backend(Protocol):
    """One way of finding a trust store; expected misses are attempts, never exceptions."""

    name: str

    def probe(self, facts: PlatformFacts) -> Probe: ...


def does_not_apply(name: str, why: str) -> Probe:
    return Probe((Attempt(name, None, "skipped", f"does not apply: {why}"),))
