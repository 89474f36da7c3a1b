"""What ``--connect`` was asked to reach: ``HOST[:PORT]``, ``[IPv6]:PORT`` or a database URI.

URIs: ``mongodb://``, ``postgresql://``/``postgres://``, ``mysql://``/``mariadb://``,
``rediss://``/``redis://`` (their first host; the default port of the scheme). A URI may carry a
username and password; they are cut off here, before anything else sees the URI, and no message
of this module quotes the URI or its credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from ..._errors import ConfigurationError

__all__ = [
    "DEFAULT_PORT",
    "MONGODB_PORT",
    "STARTTLS",
    "Target",
    "parse_target",
]

DEFAULT_PORT = 443
MONGODB_PORT = 27017
# The URI schemes --connect reads, the family of TLS options each one names, its default port.
_SCHEMES = {
    "mongodb": ("mongodb", MONGODB_PORT),
    "postgresql": ("postgresql", 5432),
    "postgres": ("postgresql", 5432),
    "mysql": ("mysql", 3306),
    "mariadb": ("mysql", 3306),
    "rediss": ("redis", 6379),
    "redis": ("redis", 6379),
}
#: ``--starttls`` names (``openssl s_client -starttls``'s), the family and its default port.
STARTTLS = {"postgres": ("postgresql", 5432), "mysql": ("mysql", 3306)}
_TITLES = {"mongodb": "MongoDB", "postgresql": "PostgreSQL", "mysql": "MySQL", "redis": "Redis"}
# The credentials advice: the connection string spec requires these percent-encoded.
_ENCODE_CREDENTIALS = (
    "percent-encode '@', ':', '/' and '?' in a username or password (%40, %3A, %2F, %3F)"
)


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    uri: str | None = None  # the URI whose TLS options apply, without its credentials
    # The server's family: "mongodb", "postgresql", "mysql", "redis" (a URI's scheme or
    # --starttls), None for a bare HOST:PORT.
    dialect: str | None = None
    starttls: bool = False  # --starttls: the family came from the flag, not from a URI

    @property
    def shown(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def title(self) -> str:
        """The family as the report names it ("PostgreSQL"), or "" for a bare host."""
        return _TITLES.get(self.dialect or "", "")


def parse_target(text: str, starttls: str | None = None) -> Target:
    """``HOST``, ``HOST:PORT``, ``[IPv6]:PORT`` or a database URI (its first host).

    ``starttls`` (``postgres`` or ``mysql``) goes with a bare host only: a URI's scheme already
    says how TLS starts.
    """
    if "://" in text:
        if starttls is not None:
            raise ConfigurationError(
                "--starttls goes with a HOST[:PORT] target; a URI's scheme already says how "
                "TLS starts (postgresql://, mysql://)"
            )
        return _uri_target(text)
    if starttls is None:
        return Target(*_host_port(text, DEFAULT_PORT, "--connect", quote=True))
    if starttls not in STARTTLS:
        raise ConfigurationError(
            f"--starttls {starttls[:20]!r} is not supported: use one of {', '.join(STARTTLS)}"
        )
    dialect, port = STARTTLS[starttls]
    host, port = _host_port(text, port, "--connect", quote=True)
    return Target(host, port, dialect=dialect, starttls=True)


def _host_port(text: str, default_port: int, what: str, *, quote: bool) -> tuple[str, int]:
    """Split ``text``; a message quotes it only when ``quote`` (never a URI's part: a
    malformed URI may have its password where the host or port should be)."""
    shown = repr(text) if quote else "it"
    hint = "" if quote else f" (with credentials in the URI, {_ENCODE_CREDENTIALS})"
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ConfigurationError(f"{what}: {shown} is not [IPv6 address]:PORT{hint}")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:  # no port, or a bare IPv6 address
        host, port_text = text, ""
    if not host:
        raise ConfigurationError(f"{what}: {shown} names no host; give HOST[:PORT]{hint}")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        port = repr(port_text) if quote else "(not shown)"
        raise ConfigurationError(f"{what}: port {port} is not a number from 1 to 65535{hint}")
    return host, int(port_text)


def _uri_target(uri: str) -> Target:
    scheme, _, rest = uri.partition("://")
    if scheme.lower() == "mongodb+srv":
        raise ConfigurationError(
            "--connect: a mongodb+srv:// URI names a DNS SRV record, not a host; give one of "
            "the hosts it lists (`dig SRV _mongodb._tcp.HOST`) as mongodb://HOST:PORT/?..."
        )
    if scheme.lower() not in _SCHEMES:
        raise ConfigurationError(
            f"--connect: {scheme[:20]!r} URIs are not supported; give HOST[:PORT] or a "
            "mongodb://, postgresql://, mysql://, mariadb://, rediss:// or redis:// URI"
        )
    dialect, default_port = _SCHEMES[scheme.lower()]
    authority, tail = _without_credentials(rest)
    first = unquote(authority.split(",")[0])
    if not first:
        raise ConfigurationError(
            "--connect: the URI names no host (without one, a driver uses the local UNIX "
            "socket, which has no TLS to diagnose); give postgresql://HOST:PORT/..."
            if dialect == "postgresql"
            else "--connect: the URI names no host"
        )
    if first.endswith(".sock") or first.startswith(("/", "(")):
        raise ConfigurationError("--connect: a UNIX domain socket has no TLS to diagnose")
    what = "--connect: the URI's first host"
    host, port = _host_port(first, default_port, what, quote=False)
    return Target(host, port, f"{scheme}://{authority}{tail}", dialect)


def _without_credentials(rest: str) -> tuple[str, str]:
    """The host list and what follows it (``/db?options``), the credentials dropped.

    scheme://[user:pass@]host1[:port1][,host2...][/[db]][?options]: the connection string
    specs forbid an unescaped '@', '/' or '?' in the credentials, but people write passwords
    with '/' in them, so the credentials run to the last '@' before the options. An '@' among
    the options could be the end of a password holding '?' or part of an option value: which
    one cannot be told, and guessing wrong would print a piece of the password, so it is
    refused.
    """
    head, question, options = rest.partition("?")
    if "@" in options:
        raise ConfigurationError(
            "--connect: the URI has an '@' after its '?', so where its credentials end is "
            f"ambiguous: {_ENCODE_CREDENTIALS}, and '@' in an option value (%40)"
        )
    hosts_and_path = head.rpartition("@")[2]
    authority, slash, path = hosts_and_path.partition("/")
    return authority, f"{slash}{path}{question}{options}"
