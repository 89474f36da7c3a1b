"""Every size limit on what trustresolve reads, in one table (architecture §2, §9).

A bound keeps ``/dev/zero``, a multi-GB file or a hostile store from hanging a resolve or
exhausting memory; each is far above what a real file of its kind needs.
"""

from __future__ import annotations

__all__ = [
    "CACHED_FILE_BYTES",
    "CONFIG_FILE_BYTES",
    "LAZY_BUNDLE_BYTES",
    "MEMO_ENTRIES",
    "MIB",
    "OPTION_FILE_BYTES",
    "READ_CHUNK_BYTES",
    "STORE_FILE_BYTES",
]

MIB = 1024 * 1024

#: A candidate CA bundle, hashed entry or recorded store. Distribution bundles are under 1 MiB,
#: but a corporate store of 20,000 CAs is 25-60 MiB and ``ssl`` loads it, so the bound sits far
#: above any real store (about 100,000 certificates) and only keeps a multi-GB file from
#: exhausting memory; ``/dev/zero`` and other devices are refused by kind before any read.
STORE_FILE_BYTES = 256 * MIB
#: A ``trustresolve.ini``: a few lines.
CONFIG_FILE_BYTES = 1 * MIB
#: A file in the private cache: it holds what a store held.
CACHED_FILE_BYTES = STORE_FILE_BYTES
#: A bundle the lazy loader splits (the bound the probe read it under).
LAZY_BUNDLE_BYTES = STORE_FILE_BYTES
#: The head of a key, certificate or CRL file a TLS option names; beyond it is not a PEM file.
OPTION_FILE_BYTES = 64 * MIB
#: How much one ``os.read`` of a bounded read asks for.
READ_CHUNK_BYTES = 1 * MIB
#: Entries in each per-certificate memo (parsed certificates, decoded PEM bodies, subject
#: hashes, per-RDN verdicts): the roots of a few stores. A full memo is emptied whole, so a
#: long-lived process that meets store after store (tests, ``cadata`` snapshots) stays bounded.
MEMO_ENTRIES = 4096
