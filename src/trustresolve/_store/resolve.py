"""``resolve()``, ``where()`` and ``contents()``: run the backends in order, once per process."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from .._errors import NoTrustStoreError
from .._machine.model import Attempt, Resolution, TrustSource

if TYPE_CHECKING:
    from .._machine.facts import PlatformFacts

__all__ = ["contents", "probe_all", "resolve", "where"]

_lock = threading.Lock()
_cached: dict[str, Resolution] = {}  # "current" -> the running machine's resolution


def _reinit_after_fork() -> None:
    """A child forked while another thread was resolving would wait for it forever."""
    global _lock  # noqa: PLW0603 - the module's one lock, replaced only in a fork child
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)


def probe_all(facts: PlatformFacts) -> Resolution:
    """Run every backend in order; stop at the first source or at an authoritative failure."""
    from .._backends.order import BACKENDS

    attempts: list[Attempt] = []
    config_files: tuple[str, ...] = ()
    chosen: TrustSource | None = None
    fatal: str | None = None
    for backend in BACKENDS:
        if chosen is not None or fatal is not None:
            decided = chosen.backend if chosen else "an earlier backend"
            attempts.append(Attempt(backend.name, None, "skipped", f"not tried: {decided} decided"))
            continue
        probe = backend.probe(facts)
        attempts.extend(probe.attempts)
        config_files = config_files or probe.config_files
        chosen, fatal = probe.source, probe.fatal
    resolution = Resolution(chosen, tuple(attempts), facts.describe(), config_files)
    if chosen is None:
        raise NoTrustStoreError(_failure_message(fatal, resolution), resolution)
    return resolution


def _failure_message(fatal: str | None, resolution: Resolution) -> str:
    head = fatal or "no usable CA trust store was found"
    lines = [head, "attempts:"]
    lines += [
        f"  {a.backend}: {a.location or '-'}: {a.outcome}: {a.detail}" for a in resolution.attempts
    ]
    return "\n".join(lines)


def resolve(facts: PlatformFacts | None = None, *, refresh: bool = False) -> Resolution:
    """The trust store of this machine (or of ``facts``), with every attempt that led to it.

    Cached per process for the running machine; ``refresh=True`` probes again (after changing
    ``SSL_CERT_FILE`` or installing a CA). Thread-safe. Raises :class:`NoTrustStoreError`.
    """
    if facts is not None:
        return probe_all(facts)
    cached = _cached.get("current")
    if cached is not None and not refresh:
        return cached
    with _lock:
        cached = _cached.get("current")
        if cached is None or refresh:
            from .._backends.macos_trust import clear_cache
            from .._machine.facts import PlatformFacts

            clear_cache()  # trust settings are cached per process; re-read them too

            cached = probe_all(PlatformFacts.current())
            _cached["current"] = cached
        return cached


def where(resolution: Resolution | None = None) -> str:
    """The path of a PEM bundle holding the resolved trust set.

    The store's own file when it is one clean bundle; otherwise (a hashed directory only, a
    Windows or macOS snapshot, a bundle with damaged blocks) a bundle materialized in the user
    cache: written atomically, private to the user, keyed by content.
    """
    resolution = resolution or resolve()
    source = resolution.source.without_native() if resolution.source else None
    if source is None or not source.certificates:
        # A native source with no snapshot (certifi missing too): no file can stand for it.
        raise NoTrustStoreError(
            "the OS verifies natively but no snapshot store exists to write as a PEM file; "
            "install certifi or set SSL_CERT_FILE",
            resolution,
        )
    if source.kind == "file" and source.cafile and source.cafile_complete:
        return source.cafile
    from .cache import materialize_bundle

    return materialize_bundle(source.certificates)


def contents(resolution: Resolution | None = None) -> str:
    """The PEM text of :func:`where`."""
    with open(where(resolution), encoding="ascii") as handle:
        return handle.read()
