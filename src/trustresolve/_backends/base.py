"""The backend protocol and what a probe returns (architecture §1)."""

from __future__ import annotations

from .._machine.model import Attempt, TrustSource
from .._record import record

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from typing import Protocol

    from .._machine.facts import PlatformFacts

__all__ = ["Probe", "does_not_apply"]  # and Backend, for type checkers


@record(frozen=True)
class Probe:
    """A backend's answer: its attempts in order, and the source it found, if any.

    ``fatal`` is set when the backend is authoritative and its store is bad (``SSL_CERT_FILE``
    set but missing): resolution stops there with that message instead of falling through.
    """

    attempts: tuple[Attempt, ...]
    source: TrustSource | None = None
    fatal: str | None = None
    config_files: tuple[str, ...] = ()


if TYPE_CHECKING:  # a protocol for type checkers: backends do not subclass it

    class Backend(Protocol):
        """One way of finding a trust store; expected misses are attempts, never exceptions."""

        name: str

        def probe(self, facts: PlatformFacts) -> Probe: ...


def does_not_apply(name: str, why: str) -> Probe:
    return Probe((Attempt(name, None, "skipped", f"does not apply: {why}"),))
