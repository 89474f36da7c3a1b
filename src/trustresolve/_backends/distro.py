"""Backend ``distro``: the per-OS candidate tables of architecture §8.

For each OS family: bundle files in order, each with its hashed directories, then
directory-only stores. The first *valid* bundle wins (architecture §2). Its directories are of
two kinds:

- ``dirs``: the directory the OS's own OpenSSL reads beside the bundle (its default CApath).
  OpenSSL trusts the union of both, so when such a directory names every certificate of the
  bundle and more (a CA added by hand: a ``HHHHHHHH.0`` file dropped in, or ``c_rehash`` after
  copying a PEM in), trustresolve trusts the union too and ``--which`` lists what it adds. A
  directory that lacks some of the bundle's certificates is a stale one from another generation
  and is not used;
- ``additions``: the OS OpenSSL's CApath where no tool writes anything (Red Hat's
  ``/etc/pki/tls/certs`` holds only links to bundles): whatever is hashed there was added by
  hand, and OpenSSL trusts it with the bundle, so trustresolve does too;
- ``mirrors``: another copy of the bundle's trust set that the OS's OpenSSL does not read
  (Fedora's ``directory-hash``). It only stands in for the bundle, for lazy loading, when it
  names exactly the bundle's certificates; what it adds is never trusted.

Pairing understands the two links per certificate that p11-kit and ``c_rehash`` write (the
subject hash and the old MD5 one) and ``.N`` collision numbering (:mod:`.candidates`). With no
valid bundle, the first valid hashed directory is the store (Android, FreeBSD certctl, a
hashed-only ``/etc/pki/tls/certs`` or OpenBSD ``/etc/ssl/certs``). Never globbed: Fedora's
``extracted/pem/*.pem`` also holds e-mail and code-signing roots (architecture §8); certctl
input folders and bundle-only folders are not stores (rustls/openssl-probe #37, #25).
"""

from __future__ import annotations

from collections.abc import Mapping

from .._machine.facts import PlatformFacts
from .._machine.model import Attempt
from .._machine.words import counted
from .._record import record
from .base import Probe, does_not_apply
from .candidates import (
    BundleCheck,
    BundleNames,
    DirCheck,
    added_by,
    carries_bundle,
    check_bundle,
    check_dir,
    describe_added,
    holds_bundle,
    names_more_than,
    source_from_checks,
    subject_hashes,
)

__all__ = ["TABLES", "Bundle", "DistroBackend", "Table"]

_RH_HASH = "/etc/pki/ca-trust/extracted/pem/directory-hash"


@record(frozen=True)
class Bundle:
    path: str
    #: The OS OpenSSL's CApath beside this bundle: trusted with it (the union).
    dirs: tuple[str, ...] = ()
    who: str = ""  # which systems ship it, for --which
    #: Copies of the same trust set OpenSSL does not read: used only when they match exactly.
    mirrors: tuple[str, ...] = ()
    #: The OS OpenSSL's CApath that no tool fills: every hashed entry is an addition.
    additions: tuple[str, ...] = ()


@record(frozen=True)
class Table:
    bundles: tuple[Bundle, ...]
    dirs: tuple[tuple[str, str], ...] = ()  # directory-only stores: (path, who)
    ignored: tuple[tuple[str, str], ...] = ()  # look-alikes that are never stores, and why


# Order and reasons: architecture §8.5. Debian's generated bundle first; Red Hat's canonical
# tls-ca-bundle.pem before its legacy aliases (openssl-probe 410ff17); the generic cert.pem only
# after the distribution-specific names; legacy and niche names last.
# A bundle's ``dirs`` are the CApath its OS's OpenSSL reads beside it: /etc/ssl/certs where
# OPENSSLDIR is /etc/ssl or /usr/lib/ssl (Debian, Alpine, Arch, openSUSE, Void, NixOS),
# /etc/pki/tls/certs on Red Hat (OPENSSLDIR /etc/pki/tls; /etc/ssl/certs links there). Go
# (crypto/x509 root_linux.go) and openssl-probe read both directories too.
_RH_TLS_CERTS = "/etc/pki/tls/certs"
_TERMUX_BUNDLE = "/data/data/com.termux/files/usr/etc/tls/cert.pem"
_LINUX = Table(
    bundles=(
        Bundle(
            "/etc/ssl/certs/ca-certificates.crt",
            ("/etc/ssl/certs",),
            "Debian, Ubuntu, Gentoo, Arch, Alpine, NixOS, Void, distroless, Wolfi",
        ),
        Bundle(
            "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
            (),
            "Fedora, RHEL/CentOS 7+, Alma, Rocky, Amazon Linux 2023",
            (_RH_HASH,),
            (_RH_TLS_CERTS,),
        ),
        Bundle(
            "/etc/pki/tls/certs/ca-bundle.crt",
            (),
            "RHEL/CentOS 6+, Fedora <= 43",
            (_RH_HASH,),
            (_RH_TLS_CERTS,),
        ),
        Bundle("/etc/ssl/ca-bundle.pem", ("/etc/ssl/certs",), "openSUSE, SLES"),
        Bundle(
            "/etc/ssl/cert.pem",
            ("/etc/ssl/certs",),
            "Alpine, Arch, Fedora 34+, OpenWRT",
            (_RH_HASH,),
        ),
        Bundle(
            "/etc/pki/tls/cert.pem",
            (),
            "RHEL/CentOS 7-9, Fedora <= 41",
            (_RH_HASH,),
            (_RH_TLS_CERTS,),
        ),
        Bundle(
            "/etc/ssl/certs/ca-bundle.crt",
            ("/etc/ssl/certs",),
            "NixOS (legacy name), Nix-built images",
        ),
        Bundle("/etc/ssl/certs.pem", ("/etc/ssl/certs",), "Void Linux"),
        Bundle("/etc/pki/tls/cacert.pem", (), "OpenELEC"),
        Bundle("/opt/etc/ssl/certs/ca-certificates.crt", ("/opt/etc/ssl/certs",), "Entware"),
        Bundle("/etc/ssl/certs/cacert.pem", (), "OpenHarmony", ("/etc/security/certificates",)),
        Bundle("$PREFIX/etc/tls/cert.pem", (), "Termux"),
        # A Linux-built interpreter under Termux with a cleared environment: Termux's OpenSSL
        # has this path compiled in (its OPENSSLDIR), openssl-probe lists it literally.
        Bundle(_TERMUX_BUNDLE, (), "Termux (literal path)"),
        Bundle("$NIX_SSL_CERT_FILE", (), "Nix profile"),
        Bundle("$HOME/.nix-profile/etc/ssl/certs/ca-bundle.crt", (), "Nix on another distribution"),
        Bundle(
            "/nix/var/nix/profiles/default/etc/ssl/certs/ca-bundle.crt",
            (),
            "Nix multi-user profile",
        ),
        Bundle("/usr/share/ssl/certs/ca-bundle.crt", (), "very old Red Hat"),
    ),
    dirs=(
        ("/etc/ssl/certs", "hashed directory (c_rehash / update-ca-certificates)"),
        (_RH_HASH, "Fedora/RHEL hashed directory"),
        # Red Hat OpenSSL's CApath; Go root_linux.go and openssl-probe read it, hashed or not
        # (only hashed names count here: OpenSSL looks nothing else up).
        (_RH_TLS_CERTS, "Red Hat OpenSSL's CApath, hashed"),
        ("/etc/security/certificates", "OpenHarmony"),
    ),
    ignored=(
        (
            "/etc/pki/ca-trust/extracted/pem",
            "also holds e-mail and code-signing roots; never globbed",
        ),
        ("/usr/local/share/ca-certificates", "input folder of update-ca-certificates, not a store"),
    ),
)

_ANDROID = Table(
    bundles=(
        Bundle("$PREFIX/etc/tls/cert.pem", (), "Termux"),
        # $PREFIX unset (a cleared environment, a service): Termux's OpenSSL still reads its
        # compiled-in OPENSSLDIR; openssl-probe 0.1 and 0.2 list the literal path.
        Bundle(_TERMUX_BUNDLE, (), "Termux (literal path)"),
    ),
    dirs=(
        ("/apex/com.android.conscrypt/cacerts", "Android 14+ updatable store"),
        ("/system/etc/security/cacerts", "Android system store"),
    ),
    ignored=(
        (
            "/data/misc/user/0/cacerts-added",
            "user-added CAs: apps trust them only when they opt in; add them with SSL_CERT_DIR",
        ),
        (
            "/data/misc/keychain/certs-added",
            "user-added CAs: apps trust them only when they opt in; add them with SSL_CERT_DIR",
        ),
    ),
)

_FREEBSD = Table(
    # Prefer the base system's certctl store over the ports paths (architecture §8). Base
    # OpenSSL's OPENSSLDIR is /etc/ssl: /etc/ssl/certs is read beside either bundle.
    bundles=(
        Bundle(
            "/etc/ssl/cert.pem", ("/etc/ssl/certs",), "FreeBSD base (certctl) or ca_root_nss link"
        ),
        Bundle(
            "/usr/local/etc/ssl/cert.pem",
            ("/etc/ssl/certs",),
            "ca_root_nss",
            ("/usr/local/etc/ssl/certs",),
        ),
        Bundle("/usr/local/share/certs/ca-root-nss.crt", (), "ca_root_nss"),
    ),
    dirs=(
        ("/etc/ssl/certs", "certctl store (FreeBSD 12.2+)"),
        ("/usr/local/etc/ssl/certs", "certctl store under LOCALBASE"),
    ),
    ignored=(
        ("/usr/share/certs/trusted", "certctl input folder, not a store"),
        ("/usr/local/share/certs", "certctl input folder, not a store (openssl-probe #37)"),
    ),
)

# LibreSSL's defaults are /etc/ssl/cert.pem and the CApath /etc/ssl/certs (its OPENSSLDIR is
# /etc/ssl), and Go's BSD table reads /etc/ssl/certs first: a hashed-only /etc/ssl/certs is the
# store the OS's own library uses.
_OPENBSD = Table(
    bundles=(Bundle("/etc/ssl/cert.pem", ("/etc/ssl/certs",), "OpenBSD (LibreSSL)"),),
    dirs=(("/etc/ssl/certs", "LibreSSL's CApath, hashed"),),
)

_NETBSD = Table(
    bundles=(
        Bundle("/etc/openssl/certs/ca-certificates.crt", ("/etc/openssl/certs",), "NetBSD"),
        Bundle("/etc/ssl/certs/ca-certificates.crt", (), "pkgsrc", ("/etc/ssl/certs",)),
        # Not read by NetBSD's OpenSSL (OPENSSLDIR /etc/openssl), but Go's BSD table, shared by
        # every BSD, reads it: an administrator's bundle is closer to this machine than certifi,
        # which is what would be used instead. Last, after NetBSD's own store.
        Bundle("/etc/ssl/cert.pem", (), "placed by hand (Go's BSD table reads it)"),
    ),
    dirs=(("/etc/openssl/certs", "NetBSD"),),
)

# DragonFly's base is LibreSSL (OPENSSLDIR /etc/ssl): a hashed /etc/ssl/certs is its CApath, as
# Go's BSD table has it.
_DRAGONFLY = Table(
    bundles=(
        Bundle(
            "/usr/local/share/certs/ca-root-nss.crt",
            ("/etc/ssl/certs",),
            "DragonFly (ca_root_nss)",
        ),
        Bundle("/usr/local/etc/ssl/cert.pem", ("/etc/ssl/certs",), "ca_root_nss link"),
        Bundle("/etc/ssl/cert.pem", ("/etc/ssl/certs",), "ca_root_nss link"),
    ),
    dirs=(("/etc/ssl/certs", "LibreSSL's CApath, hashed"),),
)

# MidnightBSD (FreeBSD-derived): mports' ca_root_nss installs ca-root-nss.crt, which curl's
# CURL_CHECK_CA_BUNDLE finds; base OpenSSL reads /etc/ssl/cert.pem and /etc/ssl/certs, first.
_MIDNIGHTBSD = Table(
    bundles=(
        Bundle("/etc/ssl/cert.pem", ("/etc/ssl/certs",), "MidnightBSD base or ca_root_nss link"),
        Bundle(
            "/usr/local/share/certs/ca-root-nss.crt", ("/etc/ssl/certs",), "ca_root_nss (mports)"
        ),
        Bundle("/usr/local/etc/ssl/cert.pem", ("/etc/ssl/certs",), "ca_root_nss link"),
    ),
    dirs=(("/etc/ssl/certs", "base OpenSSL's CApath, hashed"),),
)

_SOLARIS = Table(
    bundles=(
        Bundle("/etc/certs/ca-certificates.crt", ("/etc/certs/CA",), "Solaris 11.2+, OpenIndiana"),
        Bundle("/etc/ssl/certs/ca-certificates.crt", (), "Joyent SmartOS", ("/etc/ssl/certs",)),
        Bundle(
            "/opt/local/etc/openssl/certs/ca-certificates.crt",
            ("/opt/local/etc/openssl/certs",),
            "pkgsrc on illumos",
        ),
        Bundle("/etc/ssl/cacert.pem", (), "OmniOS"),
    ),
    dirs=(("/etc/certs/CA", "Solaris/illumos"), ("/opt/local/etc/openssl/certs", "pkgsrc")),
)

_AIX = Table(
    bundles=(Bundle("/var/ssl/certs/ca-bundle.crt", ("/var/ssl/certs",), "AIX"),),
    dirs=(("/var/ssl/certs", "AIX"), ("/opt/freeware/etc/ssl/certs", "AIX Toolbox")),
)

_HAIKU = Table(bundles=(Bundle("/boot/system/data/ssl/CARootCertificates.pem", (), "Haiku"),))

#: os family (PlatformFacts.os_family) -> candidate table. Unknown Unix-likes use Linux's.
TABLES: Mapping[str, Table] = {
    "linux": _LINUX,
    "unix": _LINUX,
    "android": _ANDROID,
    "freebsd": _FREEBSD,
    "openbsd": _OPENBSD,
    "netbsd": _NETBSD,
    "dragonfly": _DRAGONFLY,
    "midnightbsd": _MIDNIGHTBSD,
    "solaris": _SOLARIS,
    "aix": _AIX,
    "haiku": _HAIKU,
}


def _expand(path: str, facts: PlatformFacts) -> str | None:
    """``$VAR/rest`` from the facts' environment; ``None`` when the variable is unset."""
    if not path.startswith("$"):
        return path
    name, _, rest = path[1:].partition("/")
    value = facts.getenv(name)
    if value is None:
        return None
    return f"{value.rstrip('/')}/{rest}" if rest else value


class DistroBackend:
    name = "distro"

    def probe(self, facts: PlatformFacts) -> Probe:
        table = TABLES.get(facts.os_family)
        if table is None:
            return does_not_apply(self.name, _not_unix(facts.os_family))
        attempts: list[Attempt] = []
        seen: dict[str, str] = {}  # resolved target -> first candidate that led there
        for bundle in table.bundles:
            path = _expand(bundle.path, facts)
            if path is None:
                continue
            check = check_bundle(facts.fs, path)
            target = check.located.target
            if check.located.exists and target in seen and not check.ok:
                attempts.append(check.attempt(self.name, note=f"same file as {seen[target]}"))
                continue
            seen.setdefault(target, path)
            attempts.append(check.attempt(self.name, note=bundle.who))
            if check.ok:
                directory = self._paired_dir(facts, bundle, check, attempts)
                source = source_from_checks(self.name, check, (directory,) if directory else ())
                return Probe(tuple(attempts), source)
        for path, who in table.dirs:
            directory = check_dir(facts.fs, path, parse=True)
            attempts.append(directory.attempt(self.name, note=f"directory-only store: {who}"))
            if directory.ok:
                self._note_ignored(facts, table, attempts)
                return Probe(tuple(attempts), source_from_checks(self.name, None, (directory,)))
        self._note_ignored(facts, table, attempts)
        return Probe(tuple(attempts))

    def _paired_dir(
        self, facts: PlatformFacts, bundle: Bundle, check: BundleCheck, attempts: list[Attempt]
    ) -> DirCheck | None:
        """The first directory trusted with the bundle: OpenSSL's CApath (the union), or a
        mirror that names exactly the bundle's certificates."""
        wanted: list[BundleNames | None] = []  # computed once, on the first hashed directory
        for path in bundle.additions:
            added = self._additions(facts, path, check, attempts)
            if added is not None:
                return added
        roles = [(path, True) for path in bundle.dirs] + [(path, False) for path in bundle.mirrors]
        for path, read_by_openssl in roles:
            directory = check_dir(facts.fs, path)
            if not directory.located.exists:
                continue
            if not directory.ok:
                attempts.append(
                    directory.attempt(self.name, "skipped", "not paired with the bundle")
                )
                continue
            if not wanted:
                wanted.append(subject_hashes(check))
            names = wanted[0]
            if carries_bundle(directory, names):
                attempts.append(directory.attempt(self.name, note="same trust set as the bundle"))
                return directory
            if read_by_openssl and names_more_than(directory, names):
                parsed = check_dir(facts.fs, path, parse=True)
                if parsed.ok and holds_bundle(parsed, check):
                    attempts.append(parsed.attempt(self.name, note=_union_note(parsed, check)))
                    return parsed
            why = _unpaired_reason(directory, names, read_by_openssl, len(check.certificates))
            attempts.append(directory.attempt(self.name, "skipped", why))
        return None

    def _additions(
        self, facts: PlatformFacts, path: str, check: BundleCheck, attempts: list[Attempt]
    ) -> DirCheck | None:
        """A CApath no tool fills: trusted with the bundle when it holds hashed certificates."""
        directory = check_dir(facts.fs, path, parse=True)
        if directory.ok:
            attempts.append(directory.attempt(self.name, note=_union_note(directory, check)))
            return directory
        if directory.located.exists and directory.outcome != "invalid":
            attempts.append(directory.attempt(self.name, "skipped", "adds nothing to the bundle"))
        return None

    def _note_ignored(self, facts: PlatformFacts, table: Table, attempts: list[Attempt]) -> None:
        for path, why in table.ignored:
            if facts.fs.locate(path).exists:
                attempts.append(Attempt(self.name, path, "skipped", f"not a store: {why}"))


def _union_note(directory: DirCheck, bundle: BundleCheck) -> str:
    added = added_by(directory, bundle)
    if not added:
        return "same certificates as the bundle"
    return (
        f"{describe_added(added)}; OpenSSL reads this directory beside the bundle and trusts "
        "both, so trustresolve does too"
    )


def _unpaired_reason(
    directory: DirCheck, names: BundleNames | None, read_by_openssl: bool, want: int
) -> str:
    if names is None:
        return "not paired: a subject in the bundle is one OpenSSL might hash differently"
    if not read_by_openssl and names_more_than(directory, names):
        return (
            "not paired: it names certificates the bundle lacks, and the OS's OpenSSL does not "
            "read this directory, so they are not trusted"
        )
    return (
        f"not paired: its {counted(directory.hashed_entries, 'hashed entry')} do not name the "
        f"bundle's {counted(want, 'certificate')} (a stale directory from other roots)"
    )


def _not_unix(family: str) -> str:
    if family == "darwin":
        return (
            "macOS keeps its trust in the keychain; /etc/ssl/cert.pem there is Apple's static "
            "bundle that ignores it, so it is never reported as the system store"
        )
    if family == "windows":
        return "Windows keeps its trust in the certificate store"
    return f"no candidate table for {family}"
