"""Loading a resolved trust source into an ``ssl.SSLContext`` (DESIGN §4, "load the CA source")."""

from __future__ import annotations

import ssl

from ._errors import TrustSourceLoadError
from ._model import TrustSource

__all__ = ["load_source"]


def load_source(context: ssl.SSLContext, source: TrustSource) -> None:
    """Load ``source``'s CA certificates into ``context``.

    A ``native`` source verifies through the OS and has nothing to load here; its snapshot
    ``fallback`` is what a plain ``ssl.SSLContext`` gets.
    """
    if source.kind == "native":
        if source.fallback is None:
            return
        source = source.fallback
    try:
        if source.cafile or source.capath:
            context.load_verify_locations(cafile=source.cafile, capath=source.capath)
        if source.cadata:
            context.load_verify_locations(cadata=source.cadata)
    except (OSError, ssl.SSLError, ValueError) as exc:
        path = source.cafile or source.capath
        raise TrustSourceLoadError(
            f"could not load the {source.backend} store {path or '(in memory)'}: {exc}; "
            "run `python -m trustresolve --which` to see what was resolved",
            backend=source.backend,
            path=path,
        ) from exc
