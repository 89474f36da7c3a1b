"""The text ``--which`` prints: the chosen store first, then every attempt, readable at a glance."""

from __future__ import annotations

from .model import Resolution
from .words import counted

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


def explain(resolution: Resolution) -> str:
    lines = []
    source = resolution.source
    if source is None:
        lines.append("No usable CA trust store was found.")
    else:
        lines.append(
            f"Trust store: {source.backend} ({source.kind}), "
            f"{counted(source.cert_count, 'certificate')}"
        )
        if source.display_cafile or source.cafile:
            lines.append(f"  file:      {source.display_cafile or source.cafile}")
        if source.display_capath or source.capath:
            lines.append(f"  directory: {source.display_capath or source.capath}")
        if source.fallback is not None:
            fb = source.fallback
            where = f"snapshot from {fb.backend}, {counted(fb.cert_count, 'certificate')}"
            lines.append(f"  where():   {where}")
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
