"""From a resolution to files OpenSSL reads: resolve() with its per-process memo, and the private
cache.
"""

from __future__ import annotations
