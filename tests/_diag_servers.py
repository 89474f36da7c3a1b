"""Re-exports ``support.servers`` and ``support.ca`` under the names tests/test_connect.py uses."""

from __future__ import annotations

import trustme

from support.ca import crafted_leaf, leaf_with_aia, signed_crl
from support.servers import (
    Handler,
    closed_port,
    first_then,
    leaf_context,
    leaf_only_context,
    plain_handler,
    serve,
    silent_handler,
    tls_handler,
    trickling_handler,
)
from support.servers import pem_server_context as server_context

__all__ = [
    "Handler",
    "closed_port",
    "crafted_leaf",
    "crl_revoking",
    "first_then",
    "leaf_context",
    "leaf_only_context",
    "leaf_with_aia",
    "plain_handler",
    "serve",
    "server_context",
    "silent_handler",
    "tls_handler",
    "trickling_handler",
]


def crl_revoking(ca: trustme.CA, leaf: trustme.LeafCert) -> bytes:
    """A PEM CRL from ``ca`` that revokes ``leaf``."""
    return signed_crl(ca, [leaf])
