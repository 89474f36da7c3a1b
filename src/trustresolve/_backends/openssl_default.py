"""Backend ``openssl-default``: the interpreter's compiled-in OpenSSL paths.

This is the case of portable builds that carry their own bundle (python-build-standalone,
conda, Homebrew). It comes after the distribution tables because a compiled-in path that
exists on the build machine may be stale or foreign on this one (architecture §8).
"""

from __future__ import annotations

from .._machine.facts import PlatformFacts
from .._machine.model import Attempt
from .base import Probe
from .candidates import check_bundle, check_dir, source_from_checks

__all__ = ["OpenSSLDefaultBackend"]

_APPLE_STATIC = ("/etc/ssl/cert.pem", "/private/etc/ssl/cert.pem")


class OpenSSLDefaultBackend:
    name = "openssl-default"

    def probe(self, facts: PlatformFacts) -> Probe:
        paths = facts.default_verify_paths
        if not paths.openssl_cafile and not paths.openssl_capath:
            return Probe(
                (Attempt(self.name, None, "skipped", "the interpreter names no default paths"),)
            )
        attempts: list[Attempt] = []
        bundle = None
        if paths.openssl_cafile:
            if facts.os_family == "darwin" and paths.openssl_cafile in _APPLE_STATIC:
                # Apple's static LibreSSL bundle ignores the keychain (architecture §8).
                attempts.append(
                    Attempt(
                        self.name,
                        paths.openssl_cafile,
                        "skipped",
                        "Apple's static bundle, which ignores the keychain; not the system store",
                    )
                )
            else:
                bundle = check_bundle(facts.fs, paths.openssl_cafile)
                attempts.append(bundle.attempt(self.name, note="compiled-in openssl_cafile"))
        directory = None
        if paths.openssl_capath:
            directory = check_dir(
                facts.fs, paths.openssl_capath, parse=bundle is None or not bundle.ok
            )
            attempts.append(directory.attempt(self.name, note="compiled-in openssl_capath"))
        if bundle is not None and bundle.ok:
            paired = (
                directory is not None
                and directory.ok
                and directory.hashed_entries == len(bundle.certificates)
            )
            return Probe(
                tuple(attempts),
                source_from_checks(self.name, bundle, (directory,) if paired and directory else ()),
            )
        if directory is not None and directory.ok:
            return Probe(tuple(attempts), source_from_checks(self.name, None, (directory,)))
        return Probe(tuple(attempts))
