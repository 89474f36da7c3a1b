from __future__ import annotations

#: The installed version, e.g. ``"0.1.0"``.
__version__ = "0.1.0"
