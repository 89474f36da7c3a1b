"""The backends, one module each, their base protocol, the candidate checks and the one ordered
tuple.
"""

from __future__ import annotations
