"""Backend ``native``: verification by the OS through truststore (architecture §2 #3, §7).

On macOS and Windows with Python >= 3.10 and truststore importable, the context builder returns
a ``truststore.SSLContext``: the OS verifies each chain, with the trust settings, on-demand
roots, Disallowed store and enterprise policy that a snapshot loses. ``where()`` and
``contents()`` still need a PEM file, so the source carries a snapshot ``fallback``: exactly the
source the backends after ``native`` would have chosen. Those backends are handed to
:class:`NativeBackend` by ``order.py``, which alone states the order.

Turning it off (the snapshot is then the source): ``TRUSTRESOLVE_NATIVE=0`` in the environment,
``native = false`` in ``trustresolve.ini``; the environment wins over the config file. An API
caller that wants a plain OpenSSL context uses ``TrustSource.without_native()``.

On Linux and the BSDs native does not apply: truststore there only reloads OpenSSL's bundle on
every handshake (truststore #212), which the distro backend already finds.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._machine.facts import PlatformFacts
from .._machine.model import Attempt, TrustSource
from .._machine.words import counted
from .._switches import switch_value
from .base import Probe, does_not_apply, wrong_os
from .config import read_config

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from .base import Backend

__all__ = ["NATIVE_ENV_VAR", "NativeBackend", "native_disabled"]

NATIVE_ENV_VAR = "TRUSTRESOLVE_NATIVE"
_OS = {"darwin": "macOS", "windows": "Windows"}
_WHAT_VERIFIES = {
    "windows": (
        "verification by Windows (CertGetCertificateChain) through truststore: roots "
        "Windows fetches on demand, the Disallowed store and enterprise policy apply, so "
        "the snapshot gap of the windows backend does not"
    ),
    "darwin": (
        "verification by macOS (SecTrustEvaluateWithError) through truststore: keychain "
        "trust settings, Apple's constraints on its roots and configuration profiles apply"
    ),
}
_HOW_TO_TURN_OFF = (
    f"turn it off with {NATIVE_ENV_VAR}=0, native = false in trustresolve.ini, "
    "or native=False in the API"
)


def _env_choice(facts: PlatformFacts) -> tuple[bool | None, str | None]:
    """(on/off from the environment or ``None``, a warning about a value that is neither)."""
    value = facts.getenv(NATIVE_ENV_VAR)
    if value is None:
        return None, None
    choice = switch_value(value)
    if choice is None:
        return None, f"{NATIVE_ENV_VAR}={value!r} is neither 0 nor 1 and was ignored"
    return choice, None


def native_disabled(facts: PlatformFacts) -> str | None:
    """Why native verification is turned off for ``facts`` (``None``: it is not)."""
    choice, _ = _env_choice(facts)
    if choice is not None:
        return None if choice else f"turned off by {NATIVE_ENV_VAR}={facts.getenv(NATIVE_ENV_VAR)}"
    config = read_config(facts)
    if config.error is None and config.boolean("native") is False:
        where = config.values["native"][1]
        return f"turned off by native = false in {where}"
    return None


class NativeBackend:
    """Handed the backends after it (``order.py``): they make the snapshot, in their order."""

    name = "native"

    def __init__(self, snapshot_backends: Sequence[Backend]) -> None:
        self.snapshot_backends = tuple(snapshot_backends)

    def snapshot_probe(self, facts: PlatformFacts) -> Probe:
        """Run the snapshot backends in their order: what resolution is without native.

        The attempts are relabelled ``native`` ("snapshot via windows: ...") because in a
        resolution they belong to the native source; those of backends that do not apply are
        left out.
        """
        attempts: list[Attempt] = []
        for backend in self.snapshot_backends:
            probe = backend.probe(facts)
            attempts += [_relabelled(a) for a in probe.attempts if not _does_not_apply(a)]
            if probe.source is not None or probe.fatal is not None:
                return Probe(tuple(attempts), probe.source)
        return Probe(tuple(attempts))

    def snapshot_source(self, facts: PlatformFacts) -> TrustSource | None:
        """The snapshot store the ``native`` source falls back to (``None``: there is none)."""
        return self.snapshot_probe(facts).source

    def probe(self, facts: PlatformFacts) -> Probe:
        elsewhere = wrong_os(self.name, facts)
        if elsewhere is not None:
            return elsewhere
        family = facts.os_family
        if facts.python_version_info < (3, 10):
            return does_not_apply(
                self.name,
                f"truststore needs Python >= 3.10 and this is {facts.implementation} "
                f"{facts.python_version}; the {_OS[family]} snapshot below is used",
            )
        _, env_warning = _env_choice(facts)
        warnings: tuple[str, ...] = (env_warning,) if env_warning else ()
        disabled = native_disabled(facts)
        if disabled:
            detail = f"{disabled}; the {_OS[family]} snapshot below is used instead"
            return Probe((Attempt(self.name, None, "skipped", detail, warnings),))
        if not facts.truststore:
            detail = (
                "truststore is not installed (`pip install trustresolve[native]`), so "
                f"{_OS[family]} cannot verify chains itself; the snapshot below is used"
            )
            return Probe((Attempt(self.name, None, "skipped", detail, warnings),))
        snapshot = self.snapshot_probe(facts)
        fallback = snapshot.source
        tail, missing = _snapshot_note(fallback)
        warnings += missing
        detail = f"{_WHAT_VERIFIES[family]}; {tail}; {_HOW_TO_TURN_OFF}"
        source = TrustSource(
            self.name,
            "native",
            cert_count=fallback.cert_count if fallback else 0,
            warnings=warnings,
            fallback=fallback,
        )
        attempt = Attempt(self.name, None, "used", detail, warnings)
        return Probe((attempt, *snapshot.attempts), source)


def _snapshot_note(fallback: TrustSource | None) -> tuple[str, tuple[str, ...]]:
    """What the attempt says about where()/contents(), and the warning when there is no file."""
    if fallback is None:
        warning = (
            "no snapshot store was found, so where() and contents() have no file to give; "
            "verification through the OS still works"
        )
        return "where()/contents(): no snapshot store was found", (warning,)
    tail = (
        f"where()/contents() get a snapshot from {fallback.backend} "
        f"({counted(fallback.cert_count, 'certificate')})"
    )
    return tail, ()


def _does_not_apply(attempt: Attempt) -> bool:
    return attempt.outcome == "skipped" and attempt.detail.startswith("does not apply")


def _relabelled(attempt: Attempt) -> Attempt:
    detail = f"snapshot via {attempt.backend}: {attempt.detail}"
    return Attempt(NativeBackend.name, attempt.location, attempt.outcome, detail, attempt.warnings)
