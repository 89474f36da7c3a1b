"""What TLS options settle into: the one value the context builder reads (architecture §4).

``TLSOptions`` parses, merges and checks; the result is a :class:`ContextSettings`, and the
builder (``context.py``) needs nothing else, so it never imports the options module.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["ContextSettings"]


@dataclass(frozen=True)
class ContextSettings:
    """The merged options as a context needs them (the defaults are the secure side).

    ``spellings`` maps a ``tls*`` setting to the name the caller used, for messages; it does not
    take part in comparisons. The passphrase is kept out of the ``repr``.
    """

    tls: bool
    verify_mode: ssl.VerifyMode
    check_hostname: bool
    ca_file: str | None
    certificate_key_file: str | None
    key_file: str | None
    passphrase: str | None = field(repr=False)
    crl_file: str | None
    disable_ocsp_endpoint_check: bool
    disable_certificate_revocation_check: bool
    spellings: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    # What the other driver families can ask for (architecture §4); the defaults are what the
    # MongoDB options settle into, so those contexts are unchanged.
    ca_path: str | None = None
    ca_data: str | bytes | None = field(default=None, repr=False)
    crl_path: str | None = None
    crl_check_chain: bool = False  # libpq and MySQL check every certificate of the chain
    minimum_version: ssl.TLSVersion | None = None
    maximum_version: ssl.TLSVersion | None = None
    alpn_protocols: tuple[str, ...] = ()
    # Why the context does not verify, for the InsecureContextWarning (e.g. "sslmode=require").
    insecure_reason: str | None = None

    def spelling(self, setting: str) -> str:
        """The name the caller used for ``setting`` (a tls* name), for messages."""
        return self.spellings.get(setting, setting)
