"""Checking one candidate bundle or directory: the validity rules of architecture §2.

A bundle is valid only if it is a regular file (after following links, both reported) holding
at least one certificate that parses; a directory only if it holds hashed ``HHHHHHHH.N``
entries. Every refusal says what the candidate is and why it was not used.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .._machine.fs import FileSystem, Located, is_hashed_name
from .._machine.model import Attempt, Outcome, TrustSource
from .._machine.words import counted
from .._x509.der import Certificate, DERError
from .._x509.pem import der_to_pem, scan_pem
from .._x509.subject_hash import name_hash

__all__ = [
    "BundleCheck",
    "DirCheck",
    "carries_bundle",
    "check_bundle",
    "check_dir",
    "source_from_checks",
    "subject_hashes",
    "unique_der",
]

_DER_SEQUENCE = 0x30


class _Verdict:
    """What both kinds of check share: a verdict on one candidate, as an attempt."""

    located: Located
    outcome: Outcome
    detail: str
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.outcome == "used"

    def attempt(self, backend: str, outcome: Outcome | None = None, note: str = "") -> Attempt:
        detail = self.detail + (f"; {note}" if note else "")
        return Attempt(backend, self.located.path, outcome or self.outcome, detail, self.warnings)


@dataclass(frozen=True)
class BundleCheck(_Verdict):
    located: Located
    outcome: Outcome
    detail: str
    certificates: tuple[Certificate, ...] = ()
    warnings: tuple[str, ...] = ()
    #: Some blocks were skipped (garbage, TRUSTED CERTIFICATE): OpenSSL must not get the file.
    flawed: bool = False


@dataclass(frozen=True)
class DirCheck(_Verdict):
    located: Located
    outcome: Outcome
    detail: str
    hashed_entries: int = 0
    certificates: tuple[Certificate, ...] = ()  # only when parsed (directory-only stores)
    #: The ``HHHHHHHH`` subject hashes of the usable entries, one per entry.
    hashes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _writable_warning(located: Located) -> tuple[str, ...]:
    """architecture §2: a store other users can write to is flagged (and still used)."""
    warnings = []
    if located.writable_by_others:
        warnings.append(
            f"{located.target} is writable by every user (mode {located.mode & 0o7777:04o}): "
            "anyone on this machine can add a CA that you will trust; "
            f"fix it with `chmod o-w {located.target}`"
        )
    if located.parent_replaceable:
        parent = located.target.rsplit("/", 1)[0] or "/"
        warnings.append(
            f"{parent} is writable by every user without the sticky bit: anyone can replace "
            f"{located.target}; fix it with `chmod o-w {parent}`"
        )
    return tuple(warnings)


def _absent_outcome(located: Located) -> Outcome:
    if located.problem in ("missing", "dangling"):
        return "missing"
    if located.problem and "ermission denied" in located.problem:
        return "unreadable"
    return "invalid"


def _missing_detail(located: Located) -> str:
    if located.problem == "dangling":
        return f"dangling symlink{located.link_note}: {located.target} does not exist"
    if located.problem == "symlink loop":
        return f"symlink loop{located.link_note}"
    if located.problem in (None, "missing"):
        return "does not exist"
    return f"cannot be reached: {located.problem}{located.link_note}"


def check_bundle(fs: FileSystem, path: str) -> BundleCheck:
    located = fs.locate(path)
    if not located.exists:
        return BundleCheck(located, _absent_outcome(located), _missing_detail(located))
    if not located.is_file:
        detail = f"is a {located.kind}, not a bundle file{located.link_note}"
        return BundleCheck(located, "invalid", detail)
    read = fs.read_bounded(located)
    if read.data is None:
        outcome: Outcome = "unreadable" if "cannot" in (read.problem or "") else "invalid"
        return BundleCheck(located, outcome, f"{read.problem}{located.link_note}")
    if not read.data.strip():
        return BundleCheck(located, "empty", f"is empty (0 certificates){located.link_note}")
    scan = scan_pem(read.data)
    if not scan.certificates:
        return BundleCheck(located, "invalid", _no_certificate_detail(read.data, scan.problems))
    detail = f"{counted(len(scan.certificates), 'certificate')}{located.link_note}"
    if scan.problems:
        detail += "; " + "; ".join(scan.problems)
    return BundleCheck(
        located, "used", detail, scan.certificates, _writable_warning(located), bool(scan.problems)
    )


def _no_certificate_detail(data: bytes, problems: list[str]) -> str:
    if data[:1] == bytes([_DER_SEQUENCE]):
        return (
            "holds binary (DER) data, not PEM; convert it with "
            "`openssl x509 -inform der -in FILE -out FILE.pem`"
        )
    if problems:
        return "no certificate that parses: " + "; ".join(problems)
    if b"-----BEGIN CERTIFICATE-----" in data:
        return "truncated: a BEGIN CERTIFICATE line has no matching END line"
    return "holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)"


def check_dir(fs: FileSystem, path: str, *, parse: bool = False) -> DirCheck:
    """Classify a directory; with ``parse`` read every hashed entry (directory-only stores)."""
    located = fs.locate(path)
    if not located.exists:
        return DirCheck(located, _absent_outcome(located), _missing_detail(located))
    if not located.is_dir:
        return DirCheck(located, "invalid", f"is a {located.kind}, not a directory")
    names = fs.list_dir(located)
    if names is None:
        return DirCheck(located, "unreadable", f"cannot be listed{located.link_note}")
    hashed = [name for name in names if is_hashed_name(name)]
    if not hashed:
        if not names:
            return DirCheck(located, "empty", f"is an empty directory{located.link_note}")
        return DirCheck(
            located,
            "invalid",
            f"holds {counted(len(names), 'entry')} but no hashed HHHHHHHH.N names, so OpenSSL "
            f"cannot look certificates up in it (not a CA directory; `openssl rehash` makes one)",
        )
    certificates: list[Certificate] = []
    hashes: list[str] = []
    usable = dangling = 0
    for name in hashed:
        entry_path = f"{located.target.rstrip('/')}/{name}"
        if not fs.leads_to_file(entry_path):
            dangling += 1
            continue
        usable += 1
        hashes.append(name.split(".", 1)[0].lower())
        if parse:
            read = fs.read_bounded(fs.locate(entry_path))
            if read.data is not None:
                certificates.extend(scan_pem(read.data).certificates)
    if not usable:
        every = (
            "its 1 hashed entry is" if len(hashed) == 1 else f"all {len(hashed)} hashed entries are"
        )
        return DirCheck(located, "invalid", f"{every} dangling")
    count = len(certificates) if parse else usable
    detail = f"{counted(count, 'certificate' if parse else 'hashed entry')}{located.link_note}"
    if dangling:
        detail += f"; {counted(dangling, 'dangling entry')} skipped"
    if parse and not certificates:
        return DirCheck(
            located, "invalid", f"{counted(usable, 'hashed entry')} but none holds a certificate"
        )
    return DirCheck(
        located,
        "used",
        detail,
        hashed_entries=usable,
        certificates=tuple(certificates),
        hashes=tuple(hashes),
        warnings=_writable_warning(located),
    )


def subject_hashes(bundle: BundleCheck) -> Counter[str] | None:
    """The OpenSSL subject hashes of a bundle's certificates, as a multiset; ``None`` when a
    name is one OpenSSL might hash differently (then no directory can be shown to match)."""
    try:
        return Counter(name_hash(cert.subject) for cert in bundle.certificates)
    except DERError:
        return None


def carries_bundle(directory: DirCheck, wanted: Counter[str] | None) -> bool:
    """Whether a hashed directory names the bundle's subjects, entry for entry.

    A stale directory hashed from other roots must not stand in for the bundle, or OpenSSL
    would trust what the bundle no longer holds. Names are what can be checked cheaply here;
    loading checks the certificates themselves once per store (:mod:`trustresolve._tls.load`).
    """
    return wanted is not None and directory.ok and Counter(directory.hashes) == wanted


def unique_der(certificates: tuple[Certificate, ...] | list[Certificate]) -> tuple[bytes, ...]:
    """DER encodings in store order, each certificate once (a root in two stores counts once)."""
    seen: set[bytes] = set()
    ordered = []
    for cert in certificates:
        if cert.der not in seen:
            seen.add(cert.der)
            ordered.append(cert.der)
    return tuple(ordered)


def source_from_checks(
    backend: str,
    bundle: BundleCheck | None,
    dirs: tuple[DirCheck, ...] = (),
) -> TrustSource:
    """A TrustSource from a valid bundle and/or hashed directories (already checked ``ok``).

    A bundle with unparsable blocks is handed to OpenSSL as clean PEM data instead of the
    file, because OpenSSL refuses a whole file for one bad block.
    """
    certificates = list(bundle.certificates) if bundle else []
    for directory in dirs:
        certificates.extend(directory.certificates)
    der = unique_der(certificates)
    warnings = tuple(w for check in (bundle, *dirs) if check for w in check.warnings)
    capath = ":".join(d.located.host_path or "" for d in dirs) or None
    display_capath = ":".join(d.located.path for d in dirs) or None
    if bundle is None:
        return TrustSource(
            backend,
            "dir",
            capath=capath,
            cert_count=len(der),
            display_capath=display_capath,
            warnings=warnings,
            certificates=der,
        )
    if bundle.flawed:
        return TrustSource(
            backend,
            "data",
            cadata="".join(der_to_pem(d) for d in der),
            cert_count=len(der),
            display_cafile=bundle.located.path,
            warnings=warnings,
            certificates=der,
        )
    bundle_der = unique_der(bundle.certificates)
    return TrustSource(
        backend,
        "file",
        cafile=bundle.located.host_path,
        capath=capath,
        cert_count=len(der),
        display_cafile=bundle.located.path,
        display_capath=display_capath,
        warnings=warnings,
        cafile_complete=len(der) == len(bundle_der),
        certificates=der,
    )
