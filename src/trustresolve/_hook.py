"""Where start-up hooks installed by trustresolve 0.x look for ``activate``.

A ``.pth`` file written by an earlier release runs ``from trustresolve._hook import activate``
at every interpreter start; hooks written now import :mod:`trustresolve._cli.hook` directly.
Kept so that upgrading trustresolve never silently disables an installed hook.
"""

from __future__ import annotations

from ._cli.hook import activate

__all__ = ["activate"]
