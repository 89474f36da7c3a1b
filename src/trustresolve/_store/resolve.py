"""``resolve()``, ``where()`` and ``contents()``: run the backends in order, once per process."""

from __future__ import annotations

import _thread
import os
import sys

from .._errors import NoTrustStoreError
from . import memo

TYPE_CHECKING = False  # not typing's: where() is on the warm path (architecture §9.1)
if TYPE_CHECKING:
    from .._machine.facts import PlatformFacts
    from .._machine.journal import Entry
    from .._machine.model import Attempt, Resolution, TrustSource

__all__ = ["contents", "current_journal", "probe_all", "resolve", "where"]

# _thread, not threading: a lock without importing threading (architecture §9.1).
_lock = _thread.allocate_lock()
_cached: dict[str, Resolution] = {}  # "current" -> the running machine's resolution
# "current" -> what its probe looked at, and the environment variables it read.
_journals: dict[str, tuple[Resolution, tuple[Entry, ...], dict[str, str | None]]] = {}


def _reinit_after_fork() -> None:
    """A child forked while another thread was resolving would wait for it forever."""
    global _lock  # noqa: PLW0603 - the module's one lock, replaced only in a fork child
    _lock = _thread.allocate_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)


def probe_all(facts: PlatformFacts) -> Resolution:
    """Run every backend in order; stop at the first source or at an authoritative failure."""
    from .._backends.order import BACKENDS
    from .._machine.model import Attempt, Resolution

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
            # Trust settings are cached per process; re-read them too. Only a module that was
            # imported has a cache (it is imported on macOS only).
            trust = sys.modules.get(f"{__name__.rsplit('.', 2)[0]}._backends.macos_trust")
            if trust is not None:
                trust.clear_cache()
            memo.forget()
            cached = _probe_current()
        return cached


def _probe_current() -> Resolution:
    """Probe the running machine, keeping the journal a memo needs (architecture §9.1)."""
    from .._machine.facts import PlatformFacts
    from .._machine.journal import ReadEnviron, recording
    from .._record import replace

    with recording() as journal:
        facts = PlatformFacts.current()
        environ = ReadEnviron(dict(facts.environ))
        try:
            resolution = probe_all(replace(facts, environ=environ))
        finally:
            _journals.pop("current", None)
    # The values as the probe saw them: the process may change its environment later.
    names = sorted(environ.read | set(memo.ALWAYS_READ))
    read = {name: dict.get(environ, name) for name in names}
    _cached["current"] = resolution
    _journals["current"] = (resolution, tuple(journal), read)
    return resolution


def current_journal() -> tuple[tuple[Entry, ...], dict[str, str | None]] | None:
    """What the running machine's cached resolution looked at, or ``None`` if none."""
    known = _journals.get("current")
    # Only the journal of the resolution in use: one put in place by other means (a test)
    # has none, and a memo must never pair one probe's journal with another's answer.
    if known is None or known[0] is not _cached.get("current"):
        return None
    return known[1], known[2]


def where(resolution: Resolution | None = None) -> str:
    """The path of a PEM bundle holding the resolved trust set.

    The store's own file when it is one clean bundle; otherwise (a hashed directory only, a
    Windows or macOS snapshot, a bundle with damaged blocks) a bundle materialized in the user
    cache: written atomically, private to the user, keyed by content.
    """
    if resolution is None:
        remembered = memo.recall(memo.WHERE)
        if remembered is not None:
            return remembered[0]
        resolution = resolve()
        path = _where(resolution)
        _remember_where(path)
        return path
    return _where(resolution)


def _remember_where(path: str) -> None:
    """Write the memo of ``where()``: the probe's journal, and the file handed out."""
    from .._machine.journal import STAT, current

    known = current_journal()
    if known is None:
        return
    journal, environ_read = known
    # Stat'ed after the probe: if the file changed since it was read, the journal holds its
    # identity from before and the two disagree, so no memo is written (memo._entries).
    memo.remember(memo.WHERE, [*journal, (STAT, path, current(path, STAT))], environ_read, [path])


def written_source(resolution: Resolution, form: str) -> TrustSource:
    """The source a file can stand for (a native one's snapshot), or ``NoTrustStoreError``
    naming ``form`` ("a PEM file", "a hashed directory"): a native source with no snapshot
    (certifi missing too) has no certificates to write."""
    source = resolution.source.without_native() if resolution.source else None
    if source is None or not source.certificates:
        raise NoTrustStoreError(
            f"the OS verifies natively but no snapshot store exists to write as {form}; "
            "install certifi or set SSL_CERT_FILE",
            resolution,
        )
    return source


def _where(resolution: Resolution) -> str:
    source = written_source(resolution, "a PEM file")
    if source.kind == "file" and source.cafile and source.cafile_complete:
        return source.cafile
    from .cache import materialize_bundle

    return materialize_bundle(source.certificates)


def contents(resolution: Resolution | None = None) -> str:
    """The PEM text of :func:`where`."""
    with open(where(resolution), encoding="ascii") as handle:
        return handle.read()
