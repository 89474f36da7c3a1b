"""How fresh the chosen store is: how many of its certificates have expired, and when its file
last changed (``--which``; the connection doctor's out-of-date verdicts say why it matters).

A store is updated by rewriting its file (Debian's ``update-ca-certificates``, Red Hat's
``update-ca-trust``, a certifi upgrade), so the file's mtime is when its roots last changed.
Every certificate is parsed here, which is why only ``--which`` asks: ``resolve()`` and the
context builders never import this module (architecture §6).
"""

from __future__ import annotations

import datetime
import os

from .._machine.model import TrustSource
from .._machine.words import counted
from .._record import record
from .._x509.der import DERError, parse_certificate

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from typing import Any

__all__ = ["StoreAge", "store_age"]


@record(frozen=True)
class StoreAge:
    cert_count: int
    expired_count: int  # notAfter before now
    store_file: str | None  # the file (or directory) whose mtime is shown, as the platform names it
    mtime: datetime.datetime | None  # None: the store is not a file (a snapshot in memory)
    now: datetime.datetime

    @property
    def age_days(self) -> int | None:
        return None if self.mtime is None else (self.now - self.mtime).days

    def lines(self) -> list[str]:
        """The lines ``--which`` prints."""
        lines = [
            "Store freshness:",
            f"  expired:   {self.expired_count} of {counted(self.cert_count, 'certificate')} "
            "(notAfter before now)",
        ]
        if self.mtime is not None and self.age_days is not None:
            when = (
                f"{counted(self.age_days, 'day')} ago"
                if self.age_days >= 0
                else "in the future by this machine's clock"
            )
            lines.append(f"  updated:   {when} ({self.mtime:%Y-%m-%d}), {self.store_file}")
        return lines

    def as_dict(self) -> dict[str, Any]:
        """The keys ``--which --json`` adds."""
        return {
            "expired_count": self.expired_count,
            "store_mtime": None if self.mtime is None else f"{self.mtime:%Y-%m-%dT%H:%M:%SZ}",
            "store_age_days": self.age_days,
        }


def store_age(source: TrustSource, now: datetime.datetime) -> StoreAge:
    """The freshness of ``source`` (for a source the OS verifies: of its snapshot)."""
    plain = source.without_native() or source
    # The DER reader's times are "YYYY-MM-DDTHH:MM:SSZ", which sort as the times they name.
    stamp = f"{now:%Y-%m-%dT%H:%M:%SZ}"
    expired = 0
    for der in plain.certificates:
        try:
            expired += parse_certificate(der).not_after < stamp
        except DERError:
            continue  # counted by the store, so it parsed once; never fail --which over it
    path, shown = _store_path(plain)
    mtime = None
    if path is not None:
        try:
            seconds = os.stat(path).st_mtime
        except OSError:
            pass
        else:
            mtime = datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc)
    return StoreAge(plain.cert_count, expired, shown, mtime, now)


def _store_path(source: TrustSource) -> tuple[str | None, str | None]:
    """The real path to stat and the path as the platform names it: the bundle, else the
    directory."""
    if source.cafile:
        return source.cafile, source.display_cafile or source.cafile
    if source.capath:
        return source.capath, source.display_capath or source.capath
    return None, None
