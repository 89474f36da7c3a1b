"""TLS options and the context builder: options, their rules, the context, loading a store into it,
injection.
"""

from __future__ import annotations
