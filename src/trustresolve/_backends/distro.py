"""Backend ``distro``: the per-OS candidate tables of architecture §8.

For each OS family: bundle files in order, each with the hashed directories that carry the same
trust set, then directory-only stores. The first *valid* bundle wins (architecture §2), paired with
the first of its directories that is hashed and holds as many entries as the bundle holds
certificates. With no valid bundle, the first valid hashed directory is the store (Android,
FreeBSD certctl). Never globbed: Fedora's ``extracted/pem/*.pem`` also holds e-mail and
code-signing roots (architecture §8); certctl input folders and bundle-only folders are
not stores (rustls/openssl-probe #37, #25).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from .._machine.facts import PlatformFacts
from .._machine.model import Attempt
from .._machine.words import counted
from .base import Probe, does_not_apply
from .candidates import (
    BundleCheck,
    DirCheck,
    carries_bundle,
    check_bundle,
    check_dir,
    source_from_checks,
    subject_hashes,
)

__all__ = ["TABLES", "Bundle", "DistroBackend", "Table"]

_RH_HASH = "/etc/pki/ca-trust/extracted/pem/directory-hash"


@dataclass(frozen=True)
class Bundle:
    path: str
    dirs: tuple[str, ...] = ()
    who: str = ""  # which systems ship it, for --which


@dataclass(frozen=True)
class Table:
    bundles: tuple[Bundle, ...]
    dirs: tuple[tuple[str, str], ...] = ()  # directory-only stores: (path, who)
    ignored: tuple[tuple[str, str], ...] = ()  # look-alikes that are never stores, and why


# Order and reasons: architecture §8 Debian's generated bundle first; Red Hat's canonical
# tls-ca-bundle.pem before its legacy aliases (openssl-probe 410ff17); the generic cert.pem only
# after the distribution-specific names; legacy and niche names last.
_LINUX = Table(
    bundles=(
        Bundle(
            "/etc/ssl/certs/ca-certificates.crt",
            ("/etc/ssl/certs",),
            "Debian, Ubuntu, Gentoo, Arch, Alpine, NixOS, Void, distroless, Wolfi",
        ),
        Bundle(
            "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
            (_RH_HASH,),
            "Fedora, RHEL/CentOS 7+, Alma, Rocky, Amazon Linux 2023",
        ),
        Bundle("/etc/pki/tls/certs/ca-bundle.crt", (_RH_HASH,), "RHEL/CentOS 6+, Fedora <= 43"),
        Bundle("/etc/ssl/ca-bundle.pem", ("/etc/ssl/certs",), "openSUSE, SLES"),
        Bundle(
            "/etc/ssl/cert.pem", ("/etc/ssl/certs", _RH_HASH), "Alpine, Arch, Fedora 34+, OpenWRT"
        ),
        Bundle("/etc/pki/tls/cert.pem", (_RH_HASH,), "RHEL/CentOS 7-9, Fedora <= 41"),
        Bundle(
            "/etc/ssl/certs/ca-bundle.crt",
            ("/etc/ssl/certs",),
            "NixOS (legacy name), Nix-built images",
        ),
        Bundle("/etc/ssl/certs.pem", ("/etc/ssl/certs",), "Void Linux"),
        Bundle("/etc/pki/tls/cacert.pem", (), "OpenELEC"),
        Bundle("/opt/etc/ssl/certs/ca-certificates.crt", ("/opt/etc/ssl/certs",), "Entware"),
        Bundle("/etc/ssl/certs/cacert.pem", ("/etc/security/certificates",), "OpenHarmony"),
        Bundle("$PREFIX/etc/tls/cert.pem", (), "Termux"),
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
    bundles=(Bundle("$PREFIX/etc/tls/cert.pem", (), "Termux"),),
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
    # Prefer the base system's certctl store over the ports paths (architecture §8).
    bundles=(
        Bundle(
            "/etc/ssl/cert.pem", ("/etc/ssl/certs",), "FreeBSD base (certctl) or ca_root_nss link"
        ),
        Bundle(
            "/usr/local/etc/ssl/cert.pem",
            ("/etc/ssl/certs", "/usr/local/etc/ssl/certs"),
            "ca_root_nss",
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

_OPENBSD = Table(bundles=(Bundle("/etc/ssl/cert.pem", (), "OpenBSD (LibreSSL)"),))

_NETBSD = Table(
    bundles=(
        Bundle("/etc/openssl/certs/ca-certificates.crt", ("/etc/openssl/certs",), "NetBSD"),
        Bundle("/etc/ssl/certs/ca-certificates.crt", ("/etc/ssl/certs",), "pkgsrc"),
    ),
    dirs=(("/etc/openssl/certs", "NetBSD"),),
)

_DRAGONFLY = Table(
    bundles=(
        Bundle("/usr/local/share/certs/ca-root-nss.crt", (), "DragonFly (ca_root_nss)"),
        Bundle("/usr/local/etc/ssl/cert.pem", (), "ca_root_nss link"),
        Bundle("/etc/ssl/cert.pem", (), "ca_root_nss link"),
    ),
)

_SOLARIS = Table(
    bundles=(
        Bundle("/etc/certs/ca-certificates.crt", ("/etc/certs/CA",), "Solaris 11.2+, OpenIndiana"),
        Bundle("/etc/ssl/certs/ca-certificates.crt", ("/etc/ssl/certs",), "Joyent SmartOS"),
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
        """The first hashed directory that carries the bundle's trust set, if any."""
        want = len(check.certificates)
        wanted: Counter[str] | None = None
        for path in bundle.dirs:
            directory = check_dir(facts.fs, path)
            if not directory.located.exists:
                continue
            if directory.ok and directory.hashed_entries == want:
                wanted = subject_hashes(check) if wanted is None else wanted
                if carries_bundle(directory, wanted):
                    note = "same trust set as the bundle"
                    attempts.append(directory.attempt(self.name, note=note))
                    return directory
                why = "not paired: its entries name other certificates than the bundle holds"
            elif directory.ok:
                why = (
                    f"not paired: {counted(directory.hashed_entries, 'hashed entry')}, "
                    f"the bundle has {counted(want, 'certificate')}"
                )
            else:
                why = "not paired with the bundle"
            attempts.append(directory.attempt(self.name, "skipped", why))
        return None

    def _note_ignored(self, facts: PlatformFacts, table: Table, attempts: list[Attempt]) -> None:
        for path, why in table.ignored:
            if facts.fs.locate(path).exists:
                attempts.append(Attempt(self.name, path, "skipped", f"not a store: {why}"))


def _not_unix(family: str) -> str:
    if family == "darwin":
        return (
            "macOS keeps its trust in the keychain; /etc/ssl/cert.pem there is Apple's static "
            "bundle that ignores it, so it is never reported as the system store"
        )
    if family == "windows":
        return "Windows keeps its trust in the certificate store"
    return f"no candidate table for {family}"
