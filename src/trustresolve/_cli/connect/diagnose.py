"""``--connect HOST[:PORT] | URI``: connect, show what the server sent, and explain a failure.

Steps: resolve the name, open TCP, handshake with the context the user's code would get (the
resolved store, ``--cafile``/``--crlfile``, or the URI's TLS options). Whatever happens, the
server's certificates are then fetched with a second handshake that does not verify, so the
report can show them and name the cause: which store was used, the names asked and offered,
the dates, the chain's missing link, or the protocol versions each side speaks.

The chain "as sent": Python 3.13+ has ``SSLSocket.get_unverified_chain()``; on older Pythons the
TLS 1.2 ``Certificate`` handshake message is read from the wire (it is plaintext up to TLS 1.2)
through a ``MemoryBIO`` handshake; a TLS 1.3-only server then shows its leaf only.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable

from ..._errors import ConfigurationError
from ..._x509.certinfo import CertSummary, summarize
from ..._x509.der import DERError

__all__ = [
    "EXIT_FAILED",
    "EXIT_VERIFIED",
    "Target",
    "Verdict",
    "connect",
    "parse_target",
    "protocol_advice",
]

EXIT_VERIFIED = 0
EXIT_FAILED = 1
DEFAULT_PORT = 443
MONGODB_PORT = 27017
_VERSIONS = (
    ssl.TLSVersion.TLSv1,
    ssl.TLSVersion.TLSv1_1,
    ssl.TLSVersion.TLSv1_2,
    ssl.TLSVersion.TLSv1_3,
)
_VERSION_NAMES = {
    ssl.TLSVersion.TLSv1: "TLS 1.0",
    ssl.TLSVersion.TLSv1_1: "TLS 1.1",
    ssl.TLSVersion.TLSv1_2: "TLS 1.2",
    ssl.TLSVersion.TLSv1_3: "TLS 1.3",
}
# What the local library needs for each version (the advice when it is too old).
_NEEDS = {
    ssl.TLSVersion.TLSv1_1: "OpenSSL 1.0.1",
    ssl.TLSVersion.TLSv1_2: "OpenSSL 1.0.1",
    ssl.TLSVersion.TLSv1_3: "OpenSSL 1.1.1",
}
# OpenSSL reasons meaning "the versions do not overlap" (either side may say it).
_PROTOCOL_REASONS = {
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "UNSUPPORTED_PROTOCOL",
    "NO_PROTOCOLS_AVAILABLE",
    "WRONG_SSL_VERSION",
    "VERSION_TOO_LOW",
    "VERSION_TOO_HIGH",
}
# OpenSSL reasons meaning "what came back is not a TLS record".
_NOT_TLS_REASONS = {
    "WRONG_VERSION_NUMBER",
    "HTTP_REQUEST",
    "HTTPS_PROXY_REQUEST",
    "UNKNOWN_PROTOCOL",
    "PACKET_LENGTH_TOO_LONG",
    "RECORD_LAYER_FAILURE",
    "RECORD_LENGTH_MISMATCH",
}
# X509_V_ERR_* codes (openssl/x509_vfy.h) that verify_code carries.
_ISSUER_UNKNOWN = {2, 20, 21}
_NOT_YET_VALID = 9
_EXPIRED = 10
_CRL_NOT_YET_VALID = 11
_CRL_EXPIRED = 12
_UNABLE_TO_GET_CRL = 3
_SELF_SIGNED_LEAF = 18
_SELF_SIGNED_IN_CHAIN = 19
_REVOKED = 23
_HOSTNAME_MISMATCH = 62
_IP_MISMATCH = 64
_MAX_RECORD_BYTES = 256 * 1024  # a certificate chain beyond this is not worth reading

Printer = Callable[[str], None]


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    uri: str | None = None  # the MongoDB URI whose TLS options apply

    @property
    def shown(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass
class Verdict:
    verified: bool
    cause: str
    details: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)


def parse_target(text: str) -> Target:
    """``HOST``, ``HOST:PORT``, ``[IPv6]:PORT`` or a ``mongodb://`` URI (its first host)."""
    if "://" in text:
        return _uri_target(text)
    return Target(*_host_port(text, DEFAULT_PORT, "--connect"))


def _host_port(text: str, default_port: int, what: str) -> tuple[str, int]:
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ConfigurationError(f"{what}: {text!r} is not [IPv6 address]:PORT")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:  # no port, or a bare IPv6 address
        host, port_text = text, ""
    if not host:
        raise ConfigurationError(f"{what}: {text!r} names no host; give HOST[:PORT]")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigurationError(f"{what}: port {port_text!r} is not a number from 1 to 65535")
    return host, int(port_text)


def _uri_target(uri: str) -> Target:
    scheme, _, rest = uri.partition("://")
    if scheme.lower() == "mongodb+srv":
        raise ConfigurationError(
            "--connect: a mongodb+srv:// URI names a DNS SRV record, not a host; give one of "
            "the hosts it lists (`dig SRV _mongodb._tcp.HOST`) as mongodb://HOST:PORT/?..."
        )
    if scheme.lower() != "mongodb":
        raise ConfigurationError(
            f"--connect: {scheme}:// URIs are not supported; give HOST[:PORT] or a mongodb:// URI"
        )
    # mongodb://[user:pass@]host1[:port1][,host2...][/[db]][?options]; '/' and '?' may not
    # appear unescaped in credentials (connection string spec), '@' may appear only once.
    hosts = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    first = hosts.split(",")[0]
    if not first:
        raise ConfigurationError("--connect: the URI names no host")
    if first.endswith(".sock"):
        raise ConfigurationError("--connect: a UNIX domain socket has no TLS to diagnose")
    from urllib.parse import unquote

    host, port = _host_port(unquote(first), MONGODB_PORT, "--connect")
    return Target(host, port, uri)


# --- the context the user's code would get ----------------------------------------------------


@dataclass
class _Client:
    context: ssl.SSLContext
    store: str  # which CA certificates were used, for the verdicts
    store_backend: str | None = None  # the resolved backend, when the resolved store was used
    notes: list[str] = field(default_factory=list)


def _client(target: Target, cafile: str | None, crlfile: str | None) -> _Client:
    from ..._tls.context import create_default_context
    from ..._tls.options import TLSOptions

    with warnings.catch_warnings():
        # An insecure URI warns (InsecureContextWarning); the report says so itself.
        warnings.simplefilter("ignore")
        if target.uri is not None or crlfile:
            overrides: dict[str, object] = {}
            if cafile:
                overrides["tlsCAFile"] = cafile
            if crlfile:
                overrides["tlsCRLFile"] = crlfile
            if target.uri is not None:
                options = TLSOptions.from_uri(target.uri, **overrides)
            else:
                options = TLSOptions.from_kwargs(tls=True, **overrides)
            context = options.create_context()
            if context is None:
                raise ConfigurationError(
                    "--connect: TLS is off in this URI; add tls=true to diagnose its TLS"
                )
            client = _describe_store(context, options.ca_file)
            if options.crl_file:
                client.notes.append(f"CRL checked (leaf): {options.crl_file}")
            if context.verify_mode == ssl.CERT_NONE:
                client.notes.append(
                    f"the options turn certificate verification off "
                    f"({options.spelling('tlsAllowInvalidCertificates')}/tlsInsecure)"
                )
            elif not context.check_hostname:
                client.notes.append(
                    f"the options turn hostname checking off "
                    f"({options.spelling('tlsAllowInvalidHostnames')})"
                )
            return client
        if cafile:
            try:
                context = create_default_context(cafile=cafile)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(
                    f"--cafile {cafile!r} could not be loaded ({exc}); it must be a PEM file "
                    "of CA certificates"
                ) from exc
            return _describe_store(context, cafile)
        return _describe_store(create_default_context(), None)


def _describe_store(context: ssl.SSLContext, cafile: str | None) -> _Client:
    if cafile:
        return _Client(context, f"the CA file {cafile}")
    from ..._store.resolve import resolve

    source = resolve().source
    if source is None:  # pragma: no cover - resolve() raises instead
        return _Client(context, "no store")
    where = source.display_cafile or source.cafile or source.display_capath or source.capath
    kind = "verified by the operating system" if source.kind == "native" else source.kind
    text = f"the {source.backend} store ({kind}{', ' + where if where else ''})"
    return _Client(context, text, source.backend)


# --- fetching what the server sent ------------------------------------------------------------


@dataclass
class _Chain:
    certificates: list[bytes]
    complete: bool  # False: only the leaf is known (TLS 1.3-only server on Python < 3.13)


def _probe_context(
    minimum: ssl.TLSVersion | None = None, maximum: ssl.TLSVersion | None = None
) -> ssl.SSLContext:
    """A context that accepts anything: for looking, never for trusting."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # Security level 0: TLS 1.0/1.1 and weak keys must not stop us from *seeing* a server.
    if "LibreSSL" not in ssl.OPENSSL_VERSION:
        context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():  # 3.10+ deprecates naming TLS 1.0/1.1; we only look
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = minimum or ssl.TLSVersion.MINIMUM_SUPPORTED
        context.maximum_version = maximum or ssl.TLSVersion.MAXIMUM_SUPPORTED
    return context


def _server_hostname(host: str) -> str | None:
    try:
        import ipaddress

        ipaddress.ip_address(host)
    except ValueError:
        return host
    return None  # no SNI for an address literal (RFC 6066 §3)


def _fetch_chain(address: tuple[str, int], host: str, timeout: float) -> _Chain | None:
    """The certificates the server sends, without verifying them; ``None`` if that fails."""
    if sys.version_info >= (3, 13):
        try:
            with (
                socket.create_connection(address, timeout) as raw,
                _probe_context().wrap_socket(raw, server_hostname=_server_hostname(host)) as tls,
            ):
                chain = tls.get_unverified_chain() or []
            # DER bytes per the 3.13 docs; _ssl.Certificate objects in some builds.
            return _Chain([c if isinstance(c, bytes) else _der_of(c) for c in chain], True)
        except (OSError, ssl.SSLError):
            return None
    try:
        sent = _tls12_certificate_message(address, host, timeout)
    except (OSError, ssl.SSLError, ValueError):
        sent = None
    if sent:
        return _Chain(sent, True)
    try:
        with (
            socket.create_connection(address, timeout) as raw,
            _probe_context().wrap_socket(raw, server_hostname=_server_hostname(host)) as tls,
        ):
            leaf = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    return _Chain([leaf], False) if leaf else None


def _der_of(certificate: object) -> bytes:
    encoding = getattr(ssl, "_ssl").ENCODING_DER  # noqa: B009 - private constant, no stub
    return bytes(certificate.public_bytes(encoding))  # type: ignore[attr-defined]


def _tls12_certificate_message(
    address: tuple[str, int], host: str, timeout: float
) -> list[bytes] | None:
    """Handshake at TLS <= 1.2 through memory BIOs and read the Certificate message off the wire."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    context = _probe_context(maximum=ssl.TLSVersion.TLSv1_2)
    tls = context.wrap_bio(incoming, outgoing, server_hostname=_server_hostname(host))
    received = bytearray()
    with socket.create_connection(address, timeout) as raw:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                raw.sendall(outgoing.read())
                data = raw.recv(16384)
                if not data or len(received) > _MAX_RECORD_BYTES:
                    return None
                received += data
                incoming.write(data)
        raw.sendall(outgoing.read())
    return _certificates_from_records(bytes(received))


def _certificates_from_records(data: bytes) -> list[bytes] | None:
    """The certificate_list of the first Certificate (type 11) handshake message (RFC 5246)."""
    handshake = bytearray()
    pos = 0
    while pos + 5 <= len(data):
        kind, length = data[pos], int.from_bytes(data[pos + 3 : pos + 5], "big")
        if kind == 22:  # handshake records, in plaintext until ChangeCipherSpec
            handshake += data[pos + 5 : pos + 5 + length]
        elif kind == 20:
            break
        pos += 5 + length
    pos = 0
    while pos + 4 <= len(handshake):
        kind, length = handshake[pos], int.from_bytes(handshake[pos + 1 : pos + 4], "big")
        body = bytes(handshake[pos + 4 : pos + 4 + length])
        if kind == 11:
            certificates = []
            offset = 3  # certificate_list length
            while offset + 3 <= len(body):
                size = int.from_bytes(body[offset : offset + 3], "big")
                certificates.append(body[offset + 3 : offset + 3 + size])
                offset += 3 + size
            return certificates
        pos += 4 + length
    return None


def _server_versions(address: tuple[str, int], host: str, timeout: float) -> list[ssl.TLSVersion]:
    """The protocol versions the server completes a handshake with (each tried alone)."""
    offered = []
    for version in _VERSIONS:
        try:
            context = _probe_context(version, version)
        except (ValueError, ssl.SSLError):
            continue  # this library cannot even be asked for that version
        try:
            with (
                socket.create_connection(address, timeout) as raw,
                context.wrap_socket(raw, server_hostname=_server_hostname(host)),
            ):
                offered.append(version)
        except (OSError, ssl.SSLError):
            continue
    return offered


def _local_versions() -> list[ssl.TLSVersion]:
    flags = (ssl.HAS_TLSv1, ssl.HAS_TLSv1_1, ssl.HAS_TLSv1_2, ssl.HAS_TLSv1_3)
    return [version for version, has in zip(_VERSIONS, flags) if has]


def _allowed(context: ssl.SSLContext) -> list[ssl.TLSVersion]:
    low, high = context.minimum_version, context.maximum_version
    return [
        v
        for v in _local_versions()
        if (low == ssl.TLSVersion.MINIMUM_SUPPORTED or v >= low)
        and (high == ssl.TLSVersion.MAXIMUM_SUPPORTED or v <= high)
    ]


def _names(versions: Sequence[ssl.TLSVersion]) -> str:
    return ", ".join(_VERSION_NAMES[v] for v in versions) or "none"


def protocol_advice(
    server: Sequence[ssl.TLSVersion],
    client: Sequence[ssl.TLSVersion],
    local: Sequence[ssl.TLSVersion],
    library: str,
) -> list[str]:
    """The fixes for a protocol version mismatch (pure, so every branch is testable)."""
    fixes = []
    if not server:
        fixes.append(
            f"The server completed no handshake with any version this library ({library}) "
            f"can speak ({_names(local)}); it may need a newer TLS library on this side, or it "
            "is not a TLS server."
        )
    if server and max(server) < ssl.TLSVersion.TLSv1_2:
        fixes.append(
            "The server only speaks TLS 1.0/1.1, which RFC 8996 deprecates: upgrade the server "
            "to TLS 1.2 or later. If you cannot, and accept the risk, a client can lower its "
            "floor: TLSOptions(...).create_context(minimum_version=ssl.TLSVersion.TLSv1_1) "
            "(trustresolve then sets @SECLEVEL=0, which OpenSSL 3 needs for TLS 1.0/1.1)."
        )
    beyond = [v for v in server if v not in local]
    if beyond or (server and not any(v in local for v in server)):
        need = max((_NEEDS.get(v, "a newer TLS library") for v in beyond), default="")
        fixes.append(
            f"This interpreter's TLS library ({library}) cannot speak {_names(beyond)}: "
            f"use a Python linked against {need} or newer (on a portable interpreter, "
            "upgrade the interpreter build)."
        )
    if server and client and min(server) > max(client):
        fixes.append(
            f"The client allows at most {_VERSION_NAMES[max(client)]}: remove the "
            "maximum_version limit."
        )
    return fixes


# --- the verdicts -----------------------------------------------------------------------------


def _add_ca_fixes(verdict: Verdict, client: _Client) -> None:
    verdict.fixes += [
        "If you trust this CA, give its certificate to the client: --cafile CA.pem here, "
        "tlsCAFile=CA.pem in a MongoDB URI or TLSOptions, "
        "trustresolve.create_default_context(cafile=CA.pem) in code,",
        "or for every program: SSL_CERT_FILE=/path/bundle.pem (a bundle holding the system "
        "roots plus this CA; see --export), or add it to the OS store "
        "(Debian/Ubuntu: /usr/local/share/ca-certificates/ + update-ca-certificates; RHEL/Fedora: "
        "/etc/pki/ca-trust/source/anchors/ + update-ca-trust; macOS: Keychain Access; "
        "Windows: certlm.msc, Trusted Root Certification Authorities).",
    ]
    if client.store_backend == "macos-python-org" or _python_org_macos():
        verdict.fixes.append(
            "This is a python.org macOS build with its own OpenSSL: run "
            '"/Applications/Python 3.x/Install Certificates.command" once.'
        )


def _python_org_macos() -> bool:
    return sys.platform == "darwin" and "/Library/Frameworks/Python.framework/" in sys.executable


def _issuer_verdict(
    code: int, chain: _Chain | None, client: _Client, now: datetime.datetime
) -> Verdict:
    summaries = _summaries(chain)
    store = f"Store used: {client.store}."
    if code == _SELF_SIGNED_LEAF and summaries:
        leaf = summaries[0]
        verdict = Verdict(
            False,
            "self-signed certificate",
            [f"The server's certificate {leaf.subject} is signed by itself.", store],
            [
                "Give the server a certificate issued by a CA, or trust exactly this "
                "certificate: save it (see the chain above) and pass it as --cafile/tlsCAFile.",
            ],
        )
        return verdict
    top = summaries[-1] if summaries else None
    if code == _SELF_SIGNED_IN_CHAIN and top is not None:
        verdict = Verdict(
            False,
            "unknown issuer",
            [f"The chain ends at the root {top.subject}, which is not in the store.", store],
        )
        _add_ca_fixes(verdict, client)
        return verdict
    if top is not None and chain is not None and not top.is_ca and top.ca_issuers:
        return Verdict(
            False,
            "missing intermediate",
            [
                f"The server sent {_count(len(summaries))} ending at {top.subject}; its issuer "
                f"{top.issuer} was not sent and is not in the store.",
                f"The certificate names where that intermediate CA can be downloaded: "
                f"{', '.join(top.ca_issuers)} (browsers fetch it; OpenSSL does not).",
                store,
            ],
            [
                "Fix the server: configure it to send its full chain (leaf first, then each "
                "intermediate: e.g. nginx ssl_certificate fullchain.pem, MongoDB "
                "net.tls.certificateKeyFile with the intermediates appended).",
                "A client-side stopgap: add the intermediate to the CA file you pass "
                "(--cafile/tlsCAFile).",
            ],
        )
    details = [store]
    if top is not None:
        sent = "" if chain is None or chain.complete else " (only the leaf could be read)"
        details.insert(
            0,
            f"The server sent {_count(len(summaries))}{sent} ending at {top.subject}, issued by "
            f"{top.issuer}, which is not in the store.",
        )
    verdict = Verdict(False, "unknown issuer", details)
    _add_ca_fixes(verdict, client)
    if top is not None and not top.is_ca:
        verdict.fixes.append(
            f"If {top.issuer} is an intermediate CA, the server must send it too (missing "
            "intermediate)."
        )
    return verdict


def _count(n: int) -> str:
    return f"{n} certificate" + ("" if n == 1 else "s")


def _summaries(chain: _Chain | None) -> list[CertSummary]:
    out = []
    for der in chain.certificates if chain else []:
        try:
            out.append(summarize(der))
        except DERError:
            continue
    return out


def _verify_verdict(
    exc: ssl.SSLCertVerificationError,
    target: Target,
    chain: _Chain | None,
    client: _Client,
    now: datetime.datetime,
) -> Verdict:
    code = exc.verify_code
    summaries = _summaries(chain)
    leaf = summaries[0] if summaries else None
    if code in _ISSUER_UNKNOWN or code in (_SELF_SIGNED_LEAF, _SELF_SIGNED_IN_CHAIN):
        return _issuer_verdict(code, chain, client, now)
    if code in (_HOSTNAME_MISMATCH, _IP_MISMATCH):
        offered = ", ".join(leaf.names) if leaf and leaf.names else "none"
        subject = f" (subject {leaf.subject})" if leaf else ""
        return Verdict(
            False,
            "hostname mismatch",
            [
                f"Name asked: {target.host}",
                f"Names in the certificate (subjectAltName): {offered}{subject}",
                "The subject's CN is not used for matching (RFC 6125; Python 3.7+).",
            ],
            [
                f"Connect with a name the certificate holds, or reissue the certificate with "
                f"{target.host} in its subjectAltName.",
                "tlsAllowInvalidHostnames=true turns the check off: anyone with any valid "
                "certificate can then impersonate the server.",
            ],
        )
    if code in (_EXPIRED, _NOT_YET_VALID):
        dated = [(s, s.validity_problem(now)) for s in summaries]
        lines = [f"{s.subject}: {problem}" for s, problem in dated if problem]
        lines.append(f"Now: {now:%Y-%m-%d %H:%M:%S} UTC.")
        if code == _EXPIRED:
            return Verdict(
                False,
                "certificate expired",
                lines,
                ["Renew the certificate on the server (and restart or reload it)."],
            )
        return Verdict(
            False,
            "certificate not yet valid",
            lines,
            [
                "Check this machine's clock (and time zone); if it is right, the certificate "
                "was issued with a future start date: reissue it or wait.",
            ],
        )
    if code == _REVOKED:
        serial = f" (serial {leaf.serial:#x})" if leaf else ""
        return Verdict(
            False,
            "certificate revoked",
            [f"The CRL lists the server's certificate{serial} as revoked.", *client.notes],
            ["The server must get a new certificate; a revoked one must not be trusted."],
        )
    if code == _UNABLE_TO_GET_CRL:
        issuer = leaf.issuer if leaf else "the issuer"
        return Verdict(
            False,
            "no CRL for the issuer",
            [f"CRL checking is on, but no CRL of {issuer} is loaded."],
            ["Use the CRL the server's CA publishes (tlsCRLFile/--crlfile), or drop the option."],
        )
    if code in (_CRL_EXPIRED, _CRL_NOT_YET_VALID):
        return Verdict(
            False,
            "CRL out of date",
            [f"{exc.verify_message}."],
            ["Download the current CRL from the CA."],
        )
    return Verdict(
        False,
        "certificate verification failed",
        [f"OpenSSL: {exc.verify_message} (X509_V_ERR {code})"],
        ["See the chain above; `openssl verify -CAfile STORE chain.pem` gives more detail."],
    )


def _handshake_verdict(
    exc: BaseException,
    address: tuple[str, int],
    target: Target,
    client: _Client,
    timeout: float,
) -> Verdict:
    reason = getattr(exc, "reason", None) or ""
    if reason in _PROTOCOL_REASONS:
        server = _server_versions(address, target.host, timeout)
        client_versions = _allowed(client.context)
        return Verdict(
            False,
            "protocol version mismatch",
            [
                f"Server offers: {_names(server)}",
                f"Client allows: {_names(client_versions)} ({ssl.OPENSSL_VERSION})",
                f"OpenSSL said: {reason}",
            ],
            protocol_advice(server, client_versions, _local_versions(), ssl.OPENSSL_VERSION),
        )
    if reason in _NOT_TLS_REASONS:
        return Verdict(
            False,
            "not a TLS server",
            [f"The server answered with something that is not TLS (OpenSSL: {reason})."],
            [
                "Check the port: it may be a plain-text service (HTTP, a database without "
                "TLS), or a server that expects STARTTLS. For MongoDB, enable net.tls on the "
                "server or connect without tls=true.",
            ],
        )
    if isinstance(exc, (ssl.SSLEOFError, ConnectionResetError, BrokenPipeError)) or (
        isinstance(exc, ssl.SSLError) and "EOF" in str(exc)
    ):
        return Verdict(
            False,
            "not a TLS server (connection closed during the handshake)",
            [f"The server closed the connection instead of answering the TLS hello ({exc})."],
            [
                "It is not a TLS server on this port, or it refused this client: a server "
                "requiring a client certificate (tlsCertificateKeyFile) or a known SNI name "
                "may do this; check its log.",
            ],
        )
    if isinstance(exc, socket.timeout):
        return Verdict(
            False,
            "timeout",
            [f"Connected, but no TLS answer within {timeout:g} s."],
            [
                "The service may not speak TLS and wait for the client to talk first, or be "
                "overloaded; check the port and the server, or raise --timeout.",
            ],
        )
    return Verdict(
        False,
        "handshake failed",
        [f"{type(exc).__name__}: {exc}"],
        ["See the server's log for why it refused the handshake."],
    )


# --- the report -------------------------------------------------------------------------------


def _print_chain(out: Printer, chain: _Chain | None, now: datetime.datetime) -> None:
    if chain is None:
        out("Certificates: the server's certificates could not be fetched.")
        return
    note = "" if chain.complete else " (only the leaf: the chain needs TLS 1.2 or Python 3.13+)"
    out(f"Certificates the server sent{note}:")
    for index, der in enumerate(chain.certificates):
        try:
            cert = summarize(der)
        except DERError as exc:
            out(f"  [{index}] not a parsable certificate ({exc})")
            continue
        problem = cert.validity_problem(now)
        out(f"  [{index}] subject: {cert.subject}")
        out(f"      issuer:  {cert.issuer}")
        out(
            f"      valid:   {cert.not_before:%Y-%m-%d %H:%M:%S} to "
            f"{cert.not_after:%Y-%m-%d %H:%M:%S} UTC" + (f"  ** {problem} **" if problem else "")
        )
        if cert.names:
            out(f"      names:   {', '.join(cert.names)}")


def _print_verdict(out: Printer, verdict: Verdict) -> None:
    head = "VERIFIED" if verdict.verified else "FAILED"
    out(f"Verdict: {head}: {verdict.cause}")
    for line in verdict.details:
        out(f"  {line}")
    if verdict.fixes:
        out("Fix:")
        for line in verdict.fixes:
            out(f"  - {line}")


def connect(
    target_text: str,
    *,
    cafile: str | None = None,
    crlfile: str | None = None,
    timeout: float = 10.0,
    out: Printer = print,
) -> int:
    """Run the diagnosis; print the report through ``out``; 0 when verified, 1 otherwise.

    Raises :class:`ConfigurationError` for a bad target or option (the CLI's exit 2) and
    :class:`~trustresolve.TrustResolveError` when no store can be resolved.
    """
    target = parse_target(target_text)
    client = _client(target, cafile, crlfile)
    now = datetime.datetime.now(datetime.timezone.utc)
    out(f"Connecting to {target.shown}" + (" (from the MongoDB URI)" if target.uri else ""))
    out(f"Trust: {client.store}")
    for note in client.notes:
        out(f"Note: {note}")
    verdict, address = _reach(target, timeout)
    if verdict is None:
        assert address is not None
        verdict = _handshake(
            target, address=address, client=client, timeout=timeout, out=out, now=now
        )
    _print_verdict(out, verdict)
    return EXIT_VERIFIED if verdict.verified else EXIT_FAILED


def _reach(target: Target, timeout: float) -> tuple[Verdict | None, tuple[str, int] | None]:
    """Resolve and connect; a verdict when that already fails."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return Verdict(
            False,
            "DNS failure",
            [f"{target.host!r} does not resolve: {exc.strerror or exc}."],
            ["Check the name for typos, and this machine's DNS (resolv.conf, VPN, /etc/hosts)."],
        ), None
    refused = None
    for family, kind, proto, _, sockaddr in infos:
        address = (str(sockaddr[0]), int(sockaddr[1]))
        try:
            with socket.socket(family, kind, proto) as probe:
                probe.settimeout(timeout)
                probe.connect(sockaddr)
        except ConnectionRefusedError as exc:
            refused = Verdict(
                False,
                "connection refused",
                [f"Nothing listens on {target.shown} ({address[0]}): {exc.strerror}."],
                [
                    "Check the port and that the server is running; a firewall may also "
                    "reject the connection.",
                ],
            )
        except socket.timeout:
            refused = refused or Verdict(
                False,
                "timeout",
                [f"No TCP answer from {address[0]} port {target.port} within {timeout:g} s."],
                ["A firewall may drop the packets, or the host is down; check the route."],
            )
        except OSError as exc:
            refused = refused or Verdict(
                False,
                "connection failed",
                [f"{address[0]} port {target.port}: {exc.strerror or exc}."],
                ["Check the network route to the host."],
            )
        else:
            return None, address
    return refused, None


def _handshake(
    target: Target,
    *,
    address: tuple[str, int],
    client: _Client,
    timeout: float,
    out: Printer,
    now: datetime.datetime,
) -> Verdict:
    hostname = target.host if client.context.check_hostname else _server_hostname(target.host)
    failure: BaseException | None = None
    try:
        with (
            socket.create_connection(address, timeout) as raw,
            client.context.wrap_socket(raw, server_hostname=hostname) as tls,
        ):
            out(f"TLS: {tls.version()}, cipher {(tls.cipher() or ('?',))[0]}")
    except ssl.SSLCertVerificationError as exc:
        failure = exc
    except (OSError, ssl.SSLError) as exc:
        return _handshake_verdict(exc, address, target, client, timeout)
    chain = _fetch_chain(address, target.host, timeout)
    _print_chain(out, chain, now)
    if isinstance(failure, ssl.SSLCertVerificationError):
        return _verify_verdict(failure, target, chain, client, now)
    if client.context.verify_mode != ssl.CERT_REQUIRED or not client.context.check_hostname:
        return Verdict(
            False,
            "connected WITHOUT full verification",
            [*client.notes, f"Store: {client.store}."],
            ["Remove tlsInsecure/tlsAllowInvalidCertificates/tlsAllowInvalidHostnames."],
        )
    return Verdict(True, f"the chain and the name {target.host} verify against {client.store}")
