"""Checking one candidate bundle or directory: the validity rules of architecture §2.

A bundle is valid only if it is a regular file (after following links, both reported) holding
at least one certificate that parses; a directory only if it holds hashed ``HHHHHHHH.N``
entries. Every refusal says what the candidate is and why it was not used.
"""

from __future__ import annotations

import os
from collections import Counter

from .._machine.fs import FileSystem, Located, is_hashed_name
from .._machine.model import Attempt, TrustSource
from .._machine.pathsafety import first_unsafe_entry, who_else_can_change
from .._machine.words import counted
from .._record import record
from .._x509.der import Certificate, DERError
from .._x509.loadable import openssl_refuses
from .._x509.pem import PemScan, der_to_pem, scan_pem
from .._x509.subject_hash import name_hash, name_hash_old

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from .._machine.model import Outcome

__all__ = [
    "BundleCheck",
    "BundleNames",
    "DirCheck",
    "added_by",
    "carries_bundle",
    "check_bundle",
    "check_dir",
    "describe_added",
    "holds_bundle",
    "names_more_than",
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


@record(frozen=True)
class BundleCheck(_Verdict):
    located: Located
    outcome: Outcome
    detail: str
    certificates: tuple[Certificate, ...] = ()
    warnings: tuple[str, ...] = ()
    #: OpenSSL would not read the file as exactly ``certificates`` (garbage, TRUSTED
    #: CERTIFICATE blocks, CRLs, keys): it must get the plain certificates instead.
    flawed: bool = False
    #: Roots whose trust settings reject them for TLS / name other purposes only.
    rejected: tuple[Certificate, ...] = ()
    other_purpose: tuple[Certificate, ...] = ()


@record(frozen=True)
class DirCheck(_Verdict):
    located: Located
    outcome: Outcome
    detail: str
    hashed_entries: int = 0
    certificates: tuple[Certificate, ...] = ()  # only when parsed (directory-only stores)
    #: The ``HHHHHHHH`` subject hashes of the usable entries, one per entry.
    hashes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: Parsed entries with trust settings (TRUSTED CERTIFICATE): OpenSSL must not get the
    #: directory, only the plain certificates of its TLS anchors.
    flawed: bool = False
    rejected: tuple[Certificate, ...] = ()
    other_purpose: tuple[Certificate, ...] = ()


def _writable_warning(located: Located, fs: FileSystem | None = None) -> tuple[str, ...]:
    """architecture §2, §10: a store other users can change is flagged (and still used, as
    OpenSSL would use it): the file or directory itself, and (with ``fs``) any directory or
    link target on the way to it (:mod:`trustresolve._machine.pathsafety`)."""
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
    found = who_else_can_change(located.path, root=fs.root) if fs is not None else None
    if found is not None and not _already_flagged(located, found[0]):
        warnings.append(f"another user can change which CAs this store holds: {found[1]}")
    return tuple(warnings)


def _already_flagged(located: Located, culprit: str) -> bool:
    parent = located.target.rsplit("/", 1)[0] or "/"
    return (culprit == located.target and located.writable_by_others) or (
        culprit == parent and located.parent_replaceable
    )


def _entries_warning(fs: FileSystem, directory: Located, entries: list[str]) -> tuple[str, ...]:
    """Hashed entries (or what they link to) that another user could change."""
    if who_else_can_change(directory.path, root=fs.root) is not None:
        return ()  # the directory itself is flagged; every entry would repeat it
    count, first = first_unsafe_entry(entries, root=fs.root)
    if first is None:
        return ()
    return (
        f"{count} hashed entries of {directory.target} can be changed by another user, "
        f"so they could add a CA that you will trust; e.g. {first[1]}",
    )


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
    refused = _first_refused_by_openssl(scan.certificates)
    if refused is not None:
        return BundleCheck(located, "invalid", refused + located.link_note)
    detail = f"{counted(len(scan.certificates), 'certificate')}{located.link_note}"
    if scan.problems:
        detail += "; " + "; ".join(scan.problems)
    return BundleCheck(
        located,
        "used",
        detail,
        scan.certificates,
        _writable_warning(located, fs),
        flawed=not scan.exact,
        rejected=scan.rejected,
        other_purpose=scan.other_purpose,
    )


def _first_refused_by_openssl(certificates: tuple[Certificate, ...]) -> str | None:
    """A file OpenSSL cannot load fails as a whole (architecture §2): say which certificate."""
    for index, cert in enumerate(certificates, 1):
        if openssl_refuses(cert):
            from .._x509.certinfo import format_name  # only for the message (a first run's cost)

            return (
                f"OpenSSL cannot load certificate #{index} ({format_name(cert.subject)}), so "
                "it would refuse the whole file; remove that certificate or regenerate the bundle"
            )
    return None


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
    if os.pathsep in (located.host_path or ""):
        return DirCheck(located, "invalid", _list_separator_detail(located))
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
    scans: list[PemScan] = []
    hashes: list[str] = []
    usable_names: set[str] = set()
    usable_paths: list[str] = []
    usable = dangling = 0
    for name in hashed:
        entry_path = f"{located.target.rstrip('/')}/{name}"
        if not fs.leads_to_file(entry_path):
            dangling += 1
            continue
        usable += 1
        usable_names.add(name)
        usable_paths.append(entry_path)
        hashes.append(name.split(".", 1)[0].lower())
    if parse:
        for name in _reachable_names(usable_names):
            read = fs.read_bounded(fs.locate(f"{located.target.rstrip('/')}/{name}"))
            if read.data is not None:
                scans.append(scan_pem(read.data))
    # by_dir loads one entry at a time: an entry OpenSSL cannot decode is only a failed lookup.
    refused = {cert.der for scan in scans for cert in scan.not_for_tls}
    for scan in scans:
        certificates.extend(
            cert
            for cert in scan.certificates
            if cert.der not in refused and not openssl_refuses(cert)
        )
    if not usable:
        every = (
            "its 1 hashed entry is" if len(hashed) == 1 else f"all {len(hashed)} hashed entries are"
        )
        return DirCheck(located, "invalid", f"{every} dangling")
    count = len(certificates) if parse else usable
    detail = f"{counted(count, 'certificate' if parse else 'hashed entry')}{located.link_note}"
    if dangling:
        detail += f"; {counted(dangling, 'dangling entry')} skipped"
    for note in _trust_notes(scans):
        detail += f"; {note}"
    rejected = tuple(cert for scan in scans for cert in scan.rejected)
    other_purpose = tuple(cert for scan in scans for cert in scan.other_purpose)
    # Entries that only reject roots still matter: the rejection applies store-wide.
    if parse and not certificates and not (rejected or other_purpose):
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
        warnings=_writable_warning(located, fs) + _entries_warning(fs, located, usable_paths),
        flawed=any(scan.trusted_blocks for scan in scans),
        rejected=rejected,
        other_purpose=other_purpose,
    )


def _trust_notes(scans: list[PemScan]) -> list[str]:
    rejected = sum(len(scan.rejected) for scan in scans)
    other = sum(len(scan.other_purpose) for scan in scans)
    notes = []
    if rejected:
        notes.append(f"{rejected} root(s) rejected for TLS by their trust settings not counted")
    if other:
        notes.append(f"{other} root(s) trusted only for other purposes (e.g. e-mail) not counted")
    return notes


def _list_separator_detail(located: Located) -> str:
    # OpenSSL's by_dir splits a capath on the list separator (LIST_SEPARATOR_CHAR in
    # crypto/x509/by_dir.c): this one directory would become two, one relative to the working
    # directory, where anyone who controls it could add a root.
    return (
        f"its path {located.host_path!r} contains {os.pathsep!r}, which OpenSSL reads as a list "
        "separator (two directories, one relative to the working directory); move or link the "
        f"directory to a path without {os.pathsep!r}"
    )


def _reachable_names(names: set[str]) -> list[str]:
    """The entries OpenSSL's by_dir lookup opens: ``HHHHHHHH.0``, ``.1``, ... up to the first
    number missing (OpenSSL ``crypto/x509/by_dir.c`` stops there), in that order."""
    numbers: dict[str, set[int]] = {}
    for name in names:
        prefix, _, suffix = name.partition(".")
        numbers.setdefault(prefix, set()).add(int(suffix))
    reachable = []
    for prefix in sorted(numbers):
        number = 0
        while number in numbers[prefix]:
            reachable.append(f"{prefix}.{number}")
            number += 1
    return reachable


class BundleNames:
    """A bundle's subject hashes as multisets: the lookup hash (``new``) and the old MD5 one
    (:meth:`old`), computed when first asked for: only a directory holding more names than the
    lookup hashes explain (p11-kit's and ``c_rehash``'s second links) needs it."""

    __slots__ = ("_old", "_subjects", "new")

    def __init__(self, new: Counter[str], subjects: tuple[bytes, ...]) -> None:
        self.new = new
        self._subjects = subjects
        self._old: Counter[str] | None = None

    def old(self) -> Counter[str]:
        if self._old is None:
            # It cannot fail where the lookup hash did not: both read the Name as one SEQUENCE
            # first, and the MD5 takes it as it is.
            self._old = Counter(name_hash_old(subject) for subject in self._subjects)
        return self._old


def subject_hashes(bundle: BundleCheck) -> BundleNames | None:
    """The OpenSSL subject hashes of a bundle's certificates; ``None`` when a name is one
    OpenSSL might hash differently (then no directory can be shown to match)."""
    subjects = tuple(cert.subject for cert in bundle.certificates)
    try:
        new = Counter(name_hash(subject) for subject in subjects)
    except DERError:
        return None
    return BundleNames(new, subjects)


def carries_bundle(directory: DirCheck, wanted: BundleNames | None) -> bool:
    """Whether a hashed directory names the bundle's subjects and nothing else.

    Every certificate of the bundle has an entry under its subject hash, and every entry is
    one of them: under its subject hash (``.N`` numbering collisions), or under its old MD5
    hash, the second link p11-kit's ``trust extract`` and ``c_rehash`` write (p11-kit
    ``trust/extract-openssl.c``). A stale directory hashed from other roots must not stand in
    for the bundle, or OpenSSL would trust what the bundle no longer holds. Names are what can
    be checked cheaply here; loading checks the certificates themselves once per store
    (:mod:`trustresolve._tls.load`).
    """
    if wanted is None or not directory.ok:
        return False
    present = Counter(directory.hashes)
    new = wanted.new
    if any(count > new[p] and count > new[p] + wanted.old()[p] for p, count in present.items()):
        return False
    return all(present[prefix] >= count for prefix, count in wanted.new.items())


def names_more_than(directory: DirCheck, wanted: BundleNames | None) -> bool:
    """Whether a hashed directory names every certificate of the bundle and more (a CA added
    by hand: a ``HHHHHHHH.0`` file dropped in, or ``c_rehash`` after copying a PEM in)."""
    if wanted is None or not directory.ok:
        return False
    present = Counter(directory.hashes)
    return all(present[prefix] >= count for prefix, count in wanted.new.items())


def holds_bundle(directory: DirCheck, bundle: BundleCheck) -> bool:
    """Whether a parsed directory holds every certificate of the bundle, byte for byte."""
    have = {cert.der for cert in directory.certificates}
    return all(cert.der in have for cert in bundle.certificates)


def added_by(directory: DirCheck, bundle: BundleCheck) -> tuple[Certificate, ...]:
    """The certificates a parsed directory holds that the bundle does not, in directory order."""
    have = {cert.der for cert in bundle.certificates}
    added: list[Certificate] = []
    for cert in directory.certificates:
        if cert.der not in have:
            have.add(cert.der)
            added.append(cert)
    return tuple(added)


def describe_added(added: tuple[Certificate, ...], limit: int = 5) -> str:
    """``N certificates the bundle lacks: subject; subject; ...`` for ``--which``."""
    from .._x509.certinfo import format_name

    shown = [format_name(cert.subject) or "(empty subject)" for cert in added[:limit]]
    more = f"; and {len(added) - limit} more" if len(added) > limit else ""
    noun = "certificate" if len(added) == 1 else "certificates"
    return f"adds {len(added)} {noun} the bundle lacks: " + "; ".join(shown) + more


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
    checks = [check for check in (bundle, *dirs) if check is not None]
    certificates = list(bundle.certificates) if bundle else []
    for directory in dirs:
        certificates.extend(directory.certificates)
    # Rejection wins store-wide: a root one file rejects is not trusted from another file.
    refused = {cert.der for check in checks for cert in (*check.rejected, *check.other_purpose)}
    der = tuple(d for d in unique_der(certificates) if d not in refused)
    warnings = tuple(w for check in checks for w in check.warnings)
    capath = ":".join(d.located.host_path or "" for d in dirs) or None
    display_capath = ":".join(d.located.path for d in dirs) or None
    rejected_roots, other_purpose_roots = _not_tls_subjects(checks)
    as_given = not refused and not any(d.flawed for d in dirs)
    if bundle is None and as_given:
        return TrustSource(
            backend,
            "dir",
            capath=capath,
            cert_count=len(der),
            display_capath=display_capath,
            warnings=warnings,
            certificates=der,
            rejected_roots=rejected_roots,
            other_purpose_roots=other_purpose_roots,
        )
    if bundle is None or bundle.flawed or not as_given:
        # Only plain DER of the anchors reaches OpenSSL: no trust settings, no duplicate, can
        # undo a rejection, and nothing it would read differently is handed over.
        return TrustSource(
            backend,
            "data",
            cadata="".join(der_to_pem(d) for d in der),
            cert_count=len(der),
            display_cafile=bundle.located.path if bundle else None,
            display_capath=None if bundle else display_capath,
            warnings=warnings,
            certificates=der,
            rejected_roots=rejected_roots,
            other_purpose_roots=other_purpose_roots,
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


def _not_tls_subjects(
    checks: list[BundleCheck | DirCheck],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The subjects of the roots trust settings keep out, for ``--which`` (one per root)."""
    rejected = unique_der([c for check in checks for c in check.rejected])
    other = unique_der([c for check in checks for c in check.other_purpose])
    other = tuple(d for d in other if d not in set(rejected))
    if not rejected and not other:
        return (), ()  # the usual store: no need to import the name formatter
    from .._x509.certinfo import format_name

    by_der = {c.der: c for check in checks for c in (*check.rejected, *check.other_purpose)}
    return (
        tuple(format_name(by_der[d].subject) for d in rejected),
        tuple(format_name(by_der[d].subject) for d in other),
    )
