"""What a resolution is made of: sources, attempts and their outcomes (architecture §1, §3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["OUTCOMES", "Attempt", "Outcome", "Resolution", "SourceKind", "TrustSource"]

Outcome = Literal[
    "used", "skipped", "missing", "empty", "invalid", "unreadable", "insecure", "failed"
]
#: The outcome words of architecture §3, in the order ``--which`` documents them.
OUTCOMES: tuple[Outcome, ...] = (
    "used",
    "skipped",
    "missing",
    "empty",
    "invalid",
    "unreadable",
    "insecure",
    "failed",
)

SourceKind = Literal["file", "dir", "data", "native"]


@dataclass(frozen=True)
class TrustSource:
    """A usable trust store: where the CA certificates are and how many there are.

    ``cafile`` and ``capath`` are paths on this machine (for ``--root`` trees: the real path
    inside the tree), ready for ``ssl.SSLContext.load_verify_locations``. ``cadata`` holds PEM
    text for stores that exist only in memory (Windows, macOS snapshots) until they are written
    to the cache. ``display_cafile``/``display_capath`` are the paths as the platform names them.
    """

    backend: str
    kind: SourceKind
    cafile: str | None = None
    capath: str | None = None
    cadata: str | None = None
    cert_count: int = 0
    display_cafile: str | None = None
    display_capath: str | None = None
    warnings: tuple[str, ...] = ()
    # A snapshot for where()/contents() when the source verifies natively (architecture §2 #3).
    fallback: TrustSource | None = field(default=None, compare=False)
    #: ``cafile`` alone holds every certificate of the store (no directory adds any).
    cafile_complete: bool = field(default=True, compare=False)
    #: The DER encoding of every certificate counted in ``cert_count``, in store order.
    certificates: tuple[bytes, ...] = field(default=(), compare=False, repr=False)
    #: Subjects of roots the store holds but whose trust settings (OpenSSL ``TRUSTED
    #: CERTIFICATE`` blocks) reject them for TLS servers, or trust them for other purposes only
    #: (e-mail, code signing); none of them is in ``certificates``.
    rejected_roots: tuple[str, ...] = field(default=(), compare=False)
    other_purpose_roots: tuple[str, ...] = field(default=(), compare=False)

    def as_dict(self) -> dict[str, Any]:
        document = self._as_dict()
        if self.rejected_roots or self.other_purpose_roots:  # the key only where it says something
            document["not_tls_roots"] = {
                "rejected": list(self.rejected_roots),
                "other_purpose": list(self.other_purpose_roots),
            }
        return document

    def _as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "kind": self.kind,
            "cafile": self.display_cafile or self.cafile,
            "capath": self.display_capath or self.capath,
            "cert_count": self.cert_count,
            "warnings": list(self.warnings),
            # What where()/contents() give when the OS verifies (kind "native").
            "snapshot": (
                {"backend": self.fallback.backend, "cert_count": self.fallback.cert_count}
                if self.fallback is not None
                else None
            ),
        }


@dataclass(frozen=True)
class Attempt:
    """One backend's (or one candidate's) answer: what was looked at, what happened and why."""

    backend: str
    location: str | None
    outcome: Outcome
    detail: str
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "location": self.location,
            "outcome": self.outcome,
            "detail": self.detail,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Resolution:
    """The chosen source (``None`` when nothing was usable) and every attempt, in order."""

    source: TrustSource | None
    attempts: tuple[Attempt, ...]
    platform: dict[str, Any] = field(default_factory=dict)
    config_files: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.as_dict() if self.source else None,
            "attempts": [attempt.as_dict() for attempt in self.attempts],
            "platform": dict(self.platform),
            "config_files": list(self.config_files),
        }

    def explain(self) -> str:
        from .explain import explain

        return explain(self)
