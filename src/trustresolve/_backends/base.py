"""The backend protocol and what a probe returns (architecture §1)."""

from __future__ import annotations

from .._machine.model import Attempt, TrustSource
from .._record import record

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from typing import Protocol

    from .._machine.facts import PlatformFacts

__all__ = ["Probe", "does_not_apply", "wrong_os"]  # and Backend, for type checkers


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


# The backends that apply on some OS families only, and what they say elsewhere. Stated once,
# here, for two readers: each backend's own probe, and its row in order.py, which answers with
# it before importing the backend's module (architecture §9.2: a Linux first run does not
# import the Windows and macOS backends to learn that they do not apply).
_ONLY_ON: dict[str, tuple[frozenset[str], str]] = {
    "native": (
        frozenset({"darwin", "windows"}),
        "native verification is for macOS and Windows; on this platform truststore only "
        "reloads OpenSSL's bundle on every handshake",
    ),
    "windows": (frozenset({"windows"}), "not Windows"),
    "wincertstore": (frozenset({"windows"}), "not Windows"),
    "macos-keychain": (frozenset({"darwin"}), "not macOS"),
    "macos-python-org": (frozenset({"darwin"}), "not macOS"),
}


def wrong_os(name: str, facts: PlatformFacts) -> Probe | None:
    """Backend ``name``'s answer on an OS family it is not for; ``None`` where it may apply."""
    rule = _ONLY_ON.get(name)
    if rule is None or facts.os_family in rule[0]:
        return None
    return does_not_apply(name, rule[1])
