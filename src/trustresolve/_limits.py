"""Every size limit on what trustresolve reads, in one table (architecture §2, §9).

A bound keeps ``/dev/zero``, a multi-GB file or a hostile store from hanging a resolve or
exhausting memory; each is far above what a real file of its kind needs.
"""

from __future__ import annotations

__all__ = [
    "CACHED_FILE_BYTES",
    "CONFIG_FILE_BYTES",
    "LAZY_BUNDLE_BYTES",
    "MIB",
    "OPTION_FILE_BYTES",
    "READ_CHUNK_BYTES",
    "STORE_FILE_BYTES",
]

MIB = 1024 * 1024

#: A candidate CA bundle, hashed entry or recorded store. Real bundles are well under 1 MiB.
STORE_FILE_BYTES = 16 * MIB
#: A ``trustresolve.ini``: a few lines.
CONFIG_FILE_BYTES = 1 * MIB
#: A file in the private cache; a bundle of every CA ever issued is ~1 MiB.
CACHED_FILE_BYTES = 16 * MIB
#: A bundle the lazy loader splits; a bigger one is loaded as given.
LAZY_BUNDLE_BYTES = 64 * MIB
#: The head of a key, certificate or CRL file a TLS option names; beyond it is not a PEM file.
OPTION_FILE_BYTES = 64 * MIB
#: How much one ``os.read`` of a bounded read asks for.
READ_CHUNK_BYTES = 1 * MIB
