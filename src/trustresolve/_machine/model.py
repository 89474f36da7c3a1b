"""What a resolution is made of: sources, attempts and their outcomes (architecture §1, §3).

Explaining a resolution (the text ``--which`` prints) belongs here too, next to the outcome words
it marks: :meth:`Resolution.explain` is its one owner.
"""

from __future__ import annotations

from .._record import field, record
from .words import counted

# Outcome and SourceKind exist for type checkers only: a first run imports no typing
# (architecture §9.2), so other modules import them under TYPE_CHECKING too.
__all__ = ["OUTCOMES", "Attempt", "Resolution", "TrustSource"]

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from typing import Any, Literal

    Outcome = Literal[
        "used", "skipped", "missing", "empty", "invalid", "unreadable", "insecure", "failed"
    ]
    SourceKind = Literal["file", "dir", "data", "native"]

#: The outcome words of architecture §3, in the order ``--which`` documents them, each with the
#: mark ``--which`` prints before it.
_MARKS: dict[Outcome, str] = {
    "used": "+",
    "skipped": "-",
    "missing": "x",
    "empty": "x",
    "invalid": "!",
    "unreadable": "!",
    "insecure": "!",
    "failed": "!",
}
OUTCOMES: tuple[Outcome, ...] = tuple(_MARKS)


@record(frozen=True)
class TrustSource:
    """A usable trust store: where the CA certificates are and how many there are.

    ``cafile`` and ``capath`` are paths on this machine (for ``--root`` trees: the real path
    inside the tree), ready for ``ssl.SSLContext.load_verify_locations``. ``cadata`` holds PEM
    text for stores that exist only in memory (Windows, macOS snapshots) until they are written
    to the cache. ``display_cafile``/``display_capath`` are the paths as the platform names them.
    """

    #: The backend that found it (``env``, ``config``, ``distro``, ``windows``...).
    backend: str
    #: ``file``, ``dir``, ``data`` (PEM in memory) or ``native`` (the OS verifies).
    kind: SourceKind
    #: A PEM bundle path for ``load_verify_locations(cafile=...)``, or ``None``.
    cafile: str | None = None
    #: A hashed (``c_rehash``) directory for ``load_verify_locations(capath=...)``, or ``None``.
    capath: str | None = None
    #: PEM text of a store that exists only in memory (Windows, macOS snapshots), or ``None``.
    cadata: str | None = None
    #: How many distinct certificates the store holds.
    cert_count: int = 0
    #: ``cafile`` as the platform names it (inside a ``--root`` tree: the path in the tree).
    display_cafile: str | None = None
    #: ``capath`` as the platform names it.
    display_capath: str | None = None
    #: Problems worth knowing that did not stop the store from being used.
    warnings: tuple[str, ...] = ()
    #: For a ``native`` source, the snapshot :func:`where` and :func:`contents` use
    #: (architecture §2 #3); else ``None``.
    fallback: TrustSource | None = field(default=None, compare=False)
    #: ``cafile`` alone holds every certificate of the store (no directory adds any).
    cafile_complete: bool = field(default=True, compare=False)
    #: The DER encoding of every certificate counted in ``cert_count``, in store order.
    certificates: tuple[bytes, ...] = field(default=(), compare=False, repr=False)
    #: Subjects of roots the store holds but whose trust settings (OpenSSL ``TRUSTED
    #: CERTIFICATE`` blocks) reject them for TLS servers; none of them is in ``certificates``.
    rejected_roots: tuple[str, ...] = field(default=(), compare=False)
    #: Subjects of roots whose trust settings trust them for other purposes only (e-mail, code
    #: signing); none of them is in ``certificates``.
    other_purpose_roots: tuple[str, ...] = field(default=(), compare=False)

    @property
    def verified_by_os(self) -> bool:
        """The OS verifies each chain itself (truststore): nothing is loaded into OpenSSL."""
        return self.kind == "native"

    def without_native(self) -> TrustSource | None:
        """The source a plain file or a plain ``ssl.SSLContext`` stands for (architecture §7).

        Itself, unless the OS verifies: then its snapshot ``fallback``, and ``None`` when it
        has none (no file can stand for the OS's own verification).
        """
        return self.fallback if self.verified_by_os else self

    def as_dict(self) -> dict[str, Any]:
        """The source as JSON-ready data (``--which --json``): paths as the platform names them."""
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


@record(frozen=True)
class Attempt:
    """One backend's (or one candidate's) answer: what was looked at, what happened and why."""

    #: The backend that made the attempt.
    backend: str
    #: The path (or store name) looked at; ``None`` for an attempt about the backend as a whole.
    location: str | None
    #: One of ``used``, ``skipped``, ``missing``, ``empty``, ``invalid``, ``unreadable``,
    #: ``insecure``, ``failed`` (architecture §3).
    outcome: Outcome
    #: Why, in words: what was found, or why it was not used.
    detail: str
    #: Problems noticed along the way.
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The attempt as JSON-ready data (one entry of ``attempts`` in ``--which --json``)."""
        return {
            "backend": self.backend,
            "location": self.location,
            "outcome": self.outcome,
            "detail": self.detail,
            "warnings": list(self.warnings),
        }


@record(frozen=True)
class Resolution:
    """The chosen source (``None`` when nothing was usable) and every attempt, in order."""

    #: The store to use, or ``None`` when no backend found a usable one.
    source: TrustSource | None
    #: Every backend's answer, in the order they were tried.
    attempts: tuple[Attempt, ...]
    #: What was known about the machine (platform, interpreter, root, compiled-in paths).
    platform: dict[str, Any] = field(default_factory=dict)
    #: Every ``trustresolve.ini`` read, user file first.
    config_files: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The resolution as JSON-ready data: what ``--which --json`` prints."""
        return {
            "source": self.source.as_dict() if self.source else None,
            "attempts": [attempt.as_dict() for attempt in self.attempts],
            "platform": dict(self.platform),
            "config_files": list(self.config_files),
        }

    def explain(self) -> str:
        """The text ``--which`` prints: the chosen store first, then every attempt."""
        lines = [*_explain_source(self.source), *self._explain_platform(), ""]
        lines.append("Attempts, in order:")
        width = max((len(a.backend) for a in self.attempts), default=0)
        for attempt in self.attempts:
            lines += _explain_attempt(attempt, width)
        return "\n".join(lines)

    def _explain_platform(self) -> list[str]:
        root = self.platform.get("root")
        platform = self.platform.get("platform", "?")
        lines = [f"Platform: {platform}" + (f" (tree {root})" if root and root != "/" else "")]
        if self.config_files:
            lines.append(f"Config files read: {', '.join(self.config_files)}")
        return lines


def _explain_source(source: TrustSource | None) -> list[str]:
    if source is None:
        return ["No usable CA trust store was found."]
    lines = [
        f"Trust store: {source.backend} ({source.kind}), "
        f"{counted(source.cert_count, 'certificate')}"
    ]
    if source.display_cafile or source.cafile:
        lines.append(f"  file:      {source.display_cafile or source.cafile}")
    if source.display_capath or source.capath:
        lines.append(f"  directory: {source.display_capath or source.capath}")
    if source.fallback is not None:
        fb = source.fallback
        where = f"snapshot from {fb.backend}, {counted(fb.cert_count, 'certificate')}"
        lines.append(f"  where():   {where}")
    lines += _not_tls_lines(source.rejected_roots, "rejected for TLS by trust settings")
    lines += _not_tls_lines(source.other_purpose_roots, "trusted for other purposes only")
    lines += [f"  WARNING:   {w}" for w in source.warnings]
    return lines


def _not_tls_lines(subjects: tuple[str, ...], why: str) -> list[str]:
    if not subjects:
        return []
    return [f"  not used:  {len(subjects)} root(s) {why}:"] + [f"    - {s}" for s in subjects]


def _explain_attempt(attempt: Attempt, width: int) -> list[str]:
    mark = _MARKS.get(attempt.outcome, "?")
    head = f" {mark} {attempt.backend:<{width}}  {attempt.outcome:<10} "
    indent = f"   {'':<{width}}  {'':<10} "
    if attempt.location:
        lines = [head + attempt.location, indent + attempt.detail]
    else:
        lines = [head + attempt.detail]
    return lines + [f"{indent}WARNING: {w}" for w in attempt.warnings]
