"""The text ``--which`` prints: the chosen store first, then every attempt, readable at a glance."""

from __future__ import annotations

from .model import Resolution

__all__ = ["explain"]

_MARKS = {
    "used": "+",
    "skipped": "-",
    "missing": "x",
    "empty": "x",
    "invalid": "!",
    "unreadable": "!",
    "insecure": "!",
    "failed": "!",
}


def _not_tls_lines(subjects: tuple[str, ...], why: str) -> list[str]:
    if not subjects:
        return []
    return [f"  not used:  {len(subjects)} root(s) {why}:"] + [f"    - {s}" for s in subjects]


def explain(resolution: Resolution) -> str:
    lines = []
    source = resolution.source
    if source is None:
        lines.append("No usable CA trust store was found.")
    else:
        lines.append(
            f"Trust store: {source.backend} ({source.kind}), {source.cert_count} certificates"
        )
        if source.display_cafile or source.cafile:
            lines.append(f"  file:      {source.display_cafile or source.cafile}")
        if source.display_capath or source.capath:
            lines.append(f"  directory: {source.display_capath or source.capath}")
        if source.fallback is not None:
            fb = source.fallback
            lines.append(f"  where():   snapshot from {fb.backend}, {fb.cert_count} certificates")
        lines += _not_tls_lines(source.rejected_roots, "rejected for TLS by trust settings")
        lines += _not_tls_lines(source.other_purpose_roots, "trusted for other purposes only")
        lines += [f"  WARNING:   {w}" for w in source.warnings]
    root = resolution.platform.get("root")
    platform = resolution.platform.get("platform", "?")
    lines.append(f"Platform: {platform}" + (f" (tree {root})" if root and root != "/" else ""))
    if resolution.config_files:
        lines.append(f"Config files read: {', '.join(resolution.config_files)}")
    lines.append("")
    lines.append("Attempts, in order:")
    width = max(len(a.backend) for a in resolution.attempts) if resolution.attempts else 0
    for attempt in resolution.attempts:
        mark = _MARKS.get(attempt.outcome, "?")
        head = f" {mark} {attempt.backend:<{width}}  {attempt.outcome:<10} "
        if attempt.location:
            lines.append(head + attempt.location)
            lines.append(f"   {'':<{width}}  {'':<10} {attempt.detail}")
        else:
            lines.append(head + attempt.detail)
        lines += [f"   {'':<{width}}  {'':<10} WARNING: {w}" for w in attempt.warnings]
    return "\n".join(lines)
