"""The machine seam and the model: the facts a resolution reads (PlatformFacts, the confined file
system) and what it produces (TrustSource, Attempt, Resolution).
"""

from __future__ import annotations
