"""Backend ``env``: ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``, authoritative as in OpenSSL.

OpenSSL replaces its default file with ``SSL_CERT_FILE`` and never falls back
(architecture §8.2 #5), so a variable that is set but names a missing, empty or non-PEM
store is an error naming the variable — never a silent fall-through to another store. An empty
value counts as unset (as in Go). ``SSL_CERT_DIR`` is a list (``:`` on POSIX, ``;`` on Windows)
whose empty parts are dropped (rustls-native-certs #241).

Either variable replaces the *whole* store, as in rustls-native-certs: with only
``SSL_CERT_FILE`` set, the default directory is not added (OpenSSL would still consult it).
One variable then says everything that is trusted, which is what ``--which`` can explain;
set ``SSL_CERT_DIR`` as well to add a directory.

``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE`` are requests' and curl's own overrides: those
tools apply them above whatever context they are given, so trustresolve does not read them as a
source (that would make our contexts disagree with every OpenSSL-based program). When one is
set, ``--which`` says so, because it explains why requests may trust something else.
"""

from __future__ import annotations

from .._machine.facts import PlatformFacts
from .._machine.model import Attempt
from .base import Probe
from .candidates import (
    BundleCheck,
    DirCheck,
    carries_bundle,
    check_bundle,
    check_dir,
    source_from_checks,
    subject_hashes,
)

__all__ = ["EnvBackend", "split_dir_list"]

_DIR = "SSL_CERT_DIR"
_TOOL_USERS = {"REQUESTS_CA_BUNDLE": "requests and pip", "CURL_CA_BUNDLE": "requests and curl"}
_TOOL_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def split_dir_list(value: str, family: str) -> list[str]:
    separator = ";" if family == "windows" else ":"
    return [part for part in value.split(separator) if part]


def _fix_hint(variable: str) -> str:
    what = "a hashed CA directory" if variable.endswith("DIR") else "a PEM CA bundle"
    return f"point {variable} at {what}, or unset it to use the system store"


def _fatal(variable: str, value: str, check: BundleCheck | DirCheck) -> str:
    return (
        f"{variable}={value!r} is set, so it is authoritative, but {check.located.path} "
        f"{_as_clause(check.detail)}: {_fix_hint(variable)}"
    )


def _as_clause(detail: str) -> str:
    # Details read as predicates ("does not exist", "is empty"); a few start with a noun.
    if detail.split(" ", 1)[0] in ("is", "does", "holds", "cannot", "all"):
        return detail
    return f"is unusable ({detail})"


class EnvBackend:
    name = "env"

    def probe(self, facts: PlatformFacts) -> Probe:
        attempts: list[Attempt] = [*self._tool_variables(facts)]
        cafile = facts.getenv("SSL_CERT_FILE")
        capath = facts.getenv("SSL_CERT_DIR")
        if cafile is None and capath is None:
            attempts.append(
                Attempt(self.name, None, "skipped", "neither SSL_CERT_FILE nor SSL_CERT_DIR is set")
            )
            return Probe(tuple(attempts))
        for variable, value in (("SSL_CERT_FILE", cafile), (_DIR, capath)):
            if value is not None and "\0" in value:
                # Only a fixture's environ can hold a NUL; os.lstat would raise ValueError.
                fatal = f"{variable} contains a NUL character: {_fix_hint(variable)}"
                attempts.append(Attempt(self.name, None, "invalid", fatal))
                return Probe(tuple(attempts), fatal=fatal)
        bundle = None
        if cafile is not None:
            bundle = check_bundle(facts.fs, cafile)
            attempts.append(bundle.attempt(self.name, note="from SSL_CERT_FILE"))
            if not bundle.ok:
                return Probe(tuple(attempts), fatal=_fatal("SSL_CERT_FILE", cafile, bundle))
        dirs = []
        if capath is not None:
            parts = split_dir_list(capath, facts.os_family)
            if not parts:
                attempts.append(
                    Attempt(self.name, capath, "empty", "SSL_CERT_DIR lists no directory")
                )
                return Probe(
                    tuple(attempts),
                    fatal=f"SSL_CERT_DIR={capath!r} lists no directory: {_fix_hint(_DIR)}",
                )
            wanted = subject_hashes(bundle) if bundle is not None else None
            for part in parts:
                directory = check_dir(facts.fs, part)
                note = "from SSL_CERT_DIR"
                if carries_bundle(directory, wanted):
                    # The bundle's own hashed directory (Debian's pair): it adds nothing to
                    # count, so its files need not be read.
                    note += "; same trust set as SSL_CERT_FILE"
                else:
                    directory = check_dir(facts.fs, part, parse=True)
                attempts.append(directory.attempt(self.name, note=note))
                if not directory.ok:
                    return Probe(tuple(attempts), fatal=_fatal("SSL_CERT_DIR", capath, directory))
                dirs.append(directory)
        source = source_from_checks(self.name, bundle, tuple(dirs))
        return Probe(tuple(attempts), source)

    def _tool_variables(self, facts: PlatformFacts) -> list[Attempt]:
        return [
            Attempt(
                self.name,
                value,
                "skipped",
                f"{variable} is set: {_TOOL_USERS[variable]} use it instead of any context "
                "they are given; trustresolve follows OpenSSL's SSL_CERT_FILE/SSL_CERT_DIR",
            )
            for variable in _TOOL_VARIABLES
            if (value := facts.getenv(variable)) is not None
        ]
