"""X.509 helpers: DER, PEM, OpenSSL's subject hash and certificate summaries. Pure functions of
bytes.
"""

from __future__ import annotations
