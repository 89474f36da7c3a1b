"""The verdicts: what went wrong (a :class:`Cause`), the evidence for it, and the fixes.

A verdict is a value; :mod:`.report` turns it into text. Every verdict that comes from an
``ssl`` error also carries ``openssl``: ``str()`` of that exception, the line the user's program
shows in its traceback (``[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ...``),
so the user can match one to the other. The evidence keys of each cause:

====================== =====================================================================
cause                  evidence
====================== =====================================================================
VERIFIED               host, store, certificate (the client certificate presented, if any)
NOT_FULLY_VERIFIED     notes, store
SELF_SIGNED            subject, store
UNKNOWN_ISSUER         store; root (a self-signed root was sent) or sent, complete, top,
                       top_issuer (the last certificate sent and its issuer), if any was read
STORE_OUT_OF_DATE      root, reference (``certifi 2025.1.31 (Mozilla's roots)``), matched, store,
                       openssl
ROOT_EXPIRED           root, expired_on, renewed_until (if the reference has a valid copy),
                       reference, store, openssl
MISSING_INTERMEDIATE   sent, top, top_issuer, urls (AIA caIssuers), store
HOSTNAME_MISMATCH      asked, offered (the subjectAltName entries), subject
EXPIRED/NOT_YET_VALID  problems ("subject: problem" of each certificate), now
REVOKED                serial (0 when unknown), notes
NO_CRL                 issuer
CRL_OUT_OF_DATE        message (OpenSSL's)
VERIFY_FAILED          message, code (X509_V_ERR_*)
PROTOCOL_MISMATCH      server_versions, client_versions, library, reason (OpenSSL's),
                       complete (every version was probed in time)
NOT_TLS                reason
CLOSED                 error
IN_PROTOCOL_TLS        protocol ("PostgreSQL", "MySQL"), sign (what gave it away), server
                       (MySQL's version string, if sent), openssl (after a plain TLS hello)
TLS_NOT_OFFERED        protocol, answer ('N', or no CLIENT_SSL in the greeting), server
                       (MySQL's version string)
REFUSED_BEFORE_TLS     protocol, message (the server's words, escaped, bounded), code
                       (SQLSTATE, or MySQL's "error N (STATE)")
UNEXPECTED_ANSWER      protocol (what was asked for), data (the answer's first bytes, escaped)
NO_DIRECT_TLS          openssl
NO_ALPN                selected (the protocol the server chose, "" for none)
TIMEOUT                step ("name lookup", "TCP connect", "TLS handshake"), seconds,
                       address (when known), received (bytes the server sent in the handshake)
HANDSHAKE_FAILED       error
CLIENT_CERT_REQUIRED   alert (OpenSSL's reason), when ("during the handshake" (TLS 1.2) or
                       "after the handshake" (TLS 1.3)), dialect (the URI's, if any)
CLIENT_CERT_REJECTED   alert, when, certificate (the file presented)
CLOSED_AFTER_HANDSHAKE error, certificate (if one was presented)
DNS_FAILURE            host, error
CONNECTION_REFUSED     target, address, error
CONNECTION_FAILED      address, port, error
====================== =====================================================================
"""

from __future__ import annotations

import datetime
import enum
import shlex
import socket
import ssl
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Union

from ..._tls import versions
from ..._x509.certinfo import CertSummary, summarize
from ..._x509.der import DERError
from . import stale
from .client import Client
from .target import Target
from .wire import Chain, server_hostname

__all__ = ["Cause", "Evidence", "Verdict", "protocol_advice"]

Evidence = Union[str, int, float, tuple[str, ...], tuple[ssl.TLSVersion, ...]]


class Cause(enum.Enum):
    """Why the connection did (not) verify; the value is the report's wording."""

    VERIFIED = "verified"
    NOT_FULLY_VERIFIED = "connected WITHOUT full verification"
    SELF_SIGNED = "self-signed certificate"
    UNKNOWN_ISSUER = "unknown issuer"
    STORE_OUT_OF_DATE = "trust store out of date"
    ROOT_EXPIRED = "expired root in the trust store"
    MISSING_INTERMEDIATE = "missing intermediate"
    HOSTNAME_MISMATCH = "hostname mismatch"
    EXPIRED = "certificate expired"
    NOT_YET_VALID = "certificate not yet valid"
    REVOKED = "certificate revoked"
    NO_CRL = "no CRL for the issuer"
    CRL_OUT_OF_DATE = "CRL out of date"
    VERIFY_FAILED = "certificate verification failed"
    PROTOCOL_MISMATCH = "protocol version mismatch"
    NOT_TLS = "not a TLS server"
    CLOSED = "not a TLS server (connection closed during the handshake)"
    IN_PROTOCOL_TLS = "not a TLS server: TLS starts inside the database protocol"
    TLS_NOT_OFFERED = "the server does not offer TLS"
    REFUSED_BEFORE_TLS = "the server refused before TLS"
    UNEXPECTED_ANSWER = "unexpected answer to the TLS request"
    NO_DIRECT_TLS = "the server does not accept direct TLS"
    NO_ALPN = 'direct TLS without ALPN "postgresql"'
    TIMEOUT = "timeout"
    HANDSHAKE_FAILED = "handshake failed"
    CLIENT_CERT_REQUIRED = "the server requires a client certificate"
    CLIENT_CERT_REJECTED = "the server rejected the client certificate"
    CLOSED_AFTER_HANDSHAKE = "the server closed the connection right after the handshake"
    DNS_FAILURE = "DNS failure"
    CONNECTION_REFUSED = "connection refused"
    CONNECTION_FAILED = "connection failed"


@dataclass(frozen=True)
class Verdict:
    cause: Cause
    evidence: Mapping[str, Evidence] = field(default_factory=dict)
    fixes: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return self.cause is Cause.VERIFIED


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


# --- after a handshake ------------------------------------------------------------------------


def connected(target: Target, client: Client) -> Verdict:
    """The handshake succeeded: verified, or only because checks were off."""
    if not client.verifies_fully:
        return Verdict(
            Cause.NOT_FULLY_VERIFIED,
            {"notes": tuple(client.notes), "store": client.store},
            (_FULL_VERIFICATION.get(target.dialect or "", _FULL_VERIFICATION["mongodb"]),),
        )
    evidence: dict[str, Evidence] = {"host": target.host, "store": client.store}
    if client.certificate is not None:
        evidence["certificate"] = client.certificate.certfile
    return Verdict(Cause.VERIFIED, evidence)


# The options that verify the chain and the name, per family (the dialects' words).
_FULL_VERIFICATION = {
    "mongodb": "Remove tlsInsecure/tlsAllowInvalidCertificates/tlsAllowInvalidHostnames.",
    "postgresql": "Use sslmode=verify-full (with sslrootcert=CA.pem if the CA is not in the "
    "store): libpq checks nothing below verify-ca, and no host name below verify-full.",
    "mysql": "Use ssl-mode=VERIFY_IDENTITY (with ssl-ca=CA.pem if the CA is not in the store).",
    "redis": "Remove ssl_cert_reqs=none and ssl_check_hostname=false (redis-py verifies both "
    "by default).",
}


def verification_failed(
    exc: ssl.SSLCertVerificationError,
    target: Target,
    chain: Chain | None,
    client: Client,
    now: datetime.datetime,
) -> Verdict:
    return quoting(exc, _verification_verdict(exc, target, chain, client, now))


def quoting(exc: BaseException, verdict: Verdict) -> Verdict:
    """``verdict`` with OpenSSL's own words for ``exc`` (evidence ``openssl``), when ``exc``
    is an ``ssl`` error: ``str(exc)`` is exactly what the program's exception says."""
    if not isinstance(exc, ssl.SSLError):
        return verdict
    return replace(verdict, evidence={**verdict.evidence, "openssl": str(exc)})


def _verification_verdict(
    exc: ssl.SSLCertVerificationError,
    target: Target,
    chain: Chain | None,
    client: Client,
    now: datetime.datetime,
) -> Verdict:
    code = exc.verify_code
    outdated = _stale_verdict(exc, chain, client, now)
    if outdated is not None:
        return outdated
    summaries = summaries_of(chain)
    leaf = summaries[0] if summaries else None
    if code in _ISSUER_UNKNOWN or code in (_SELF_SIGNED_LEAF, _SELF_SIGNED_IN_CHAIN):
        return _issuer_verdict(code, chain, summaries, client)
    if code in (_HOSTNAME_MISMATCH, _IP_MISMATCH):
        return _hostname_verdict(target, leaf)
    if code in (_EXPIRED, _NOT_YET_VALID):
        return _dates_verdict(code, summaries, now)
    if code == _REVOKED:
        return Verdict(
            Cause.REVOKED,
            {"serial": leaf.serial if leaf else 0, "notes": tuple(client.notes)},
            ("The server must get a new certificate; a revoked one must not be trusted.",),
        )
    if code == _UNABLE_TO_GET_CRL:
        return Verdict(
            Cause.NO_CRL,
            {"issuer": leaf.issuer if leaf else "the issuer"},
            ("Use the CRL the server's CA publishes (tlsCRLFile/--crlfile), or drop the option.",),
        )
    if code in (_CRL_EXPIRED, _CRL_NOT_YET_VALID):
        return Verdict(
            Cause.CRL_OUT_OF_DATE,
            {"message": exc.verify_message},
            ("Download the current CRL from the CA.",),
        )
    return Verdict(
        Cause.VERIFY_FAILED,
        {"message": exc.verify_message, "code": code},
        (
            f"See the chain above; `{_s_client_command(target, client)}` shows OpenSSL's check "
            "of each certificate (depth, subject, error).",
        ),
    )


def _s_client_command(target: Target, client: Client) -> str:
    """``openssl s_client`` verifying this server, with the run's CA file when it had one
    (without one, s_client trusts OpenSSL's default paths, usually the same system store)."""
    command = f"openssl s_client -connect {shlex.quote(target.shown)} -verify_return_error"
    server_name = server_hostname(target.host)
    if server_name:
        command += f" -servername {shlex.quote(server_name)}"
    if client.cafile:
        command += f" -CAfile {shlex.quote(client.cafile)}"
    return command + (" <NUL" if sys.platform == "win32" else " </dev/null")


def summaries_of(chain: Chain | None) -> list[CertSummary]:
    out = []
    for der in chain.certificates if chain else []:
        try:
            out.append(summarize(der))
        except DERError:
            continue
    return out


def _hostname_verdict(target: Target, leaf: CertSummary | None) -> Verdict:
    return Verdict(
        Cause.HOSTNAME_MISMATCH,
        {
            "asked": target.host,
            "offered": tuple(leaf.names) if leaf else (),
            "subject": leaf.subject if leaf else "",
        },
        (
            f"Connect with a name the certificate holds, or reissue the certificate with "
            f"{target.host} in its subjectAltName.",
            "tlsAllowInvalidHostnames=true turns the check off: anyone with any valid "
            "certificate can then impersonate the server.",
        ),
    )


def _stale_verdict(
    exc: ssl.SSLCertVerificationError,
    chain: Chain | None,
    client: Client,
    now: datetime.datetime,
) -> Verdict | None:
    """A store out of date, or holding an expired root (:mod:`.stale`); ``None`` otherwise."""
    found = stale.find_stale_root(exc.verify_code, chain.certificates if chain else (), client, now)
    if found is None:
        return None
    evidence: dict[str, Evidence] = {
        "root": found.root,
        "reference": found.reference,
        "matched": found.matched,
        "store": client.store,
        "openssl": str(exc),
    }
    fixes = tuple(stale.advice_for(client))
    if found.kind == "missing":
        return Verdict(Cause.STORE_OUT_OF_DATE, evidence, fixes)
    assert found.expired_on is not None
    evidence["expired_on"] = f"{found.expired_on:%Y-%m-%d}"
    if found.renewed_until is not None:
        evidence["renewed_until"] = f"{found.renewed_until:%Y-%m-%d}"
    return Verdict(Cause.ROOT_EXPIRED, evidence, fixes)


def _dates_verdict(code: int, summaries: list[CertSummary], now: datetime.datetime) -> Verdict:
    dated = [(s, s.validity_problem(now)) for s in summaries]
    evidence: dict[str, Evidence] = {
        "problems": tuple(f"{s.subject}: {problem}" for s, problem in dated if problem),
        "now": f"{now:%Y-%m-%d %H:%M:%S}",
    }
    if code == _EXPIRED:
        fix = "Renew the certificate on the server (and restart or reload it)."
        return Verdict(Cause.EXPIRED, evidence, (fix,))
    fix = (
        "Check this machine's clock (and time zone); if it is right, the certificate "
        "was issued with a future start date: reissue it or wait."
    )
    return Verdict(Cause.NOT_YET_VALID, evidence, (fix,))


def _issuer_verdict(
    code: int, chain: Chain | None, summaries: list[CertSummary], client: Client
) -> Verdict:
    if code == _SELF_SIGNED_LEAF and summaries:
        return Verdict(
            Cause.SELF_SIGNED,
            {"subject": summaries[0].subject, "store": client.store},
            (
                "Give the server a certificate issued by a CA, or trust exactly this "
                "certificate: save it (see the chain above) and pass it as --cafile/tlsCAFile.",
            ),
        )
    top = summaries[-1] if summaries else None
    if code == _SELF_SIGNED_IN_CHAIN and top is not None:
        return Verdict(
            Cause.UNKNOWN_ISSUER,
            {"root": top.subject, "store": client.store},
            _ca_fixes(client),
        )
    if top is not None and chain is not None and not top.is_ca and top.ca_issuers:
        return Verdict(
            Cause.MISSING_INTERMEDIATE,
            {
                "sent": len(summaries),
                "top": top.subject,
                "top_issuer": top.issuer,
                "urls": top.ca_issuers,
                "store": client.store,
            },
            (
                "Fix the server: configure it to send its full chain (leaf first, then each "
                "intermediate: e.g. nginx ssl_certificate fullchain.pem, MongoDB "
                "net.tls.certificateKeyFile with the intermediates appended).",
                "A client-side stopgap: add the intermediate to the CA file you pass "
                "(--cafile/tlsCAFile).",
            ),
        )
    evidence: dict[str, Evidence] = {"store": client.store}
    fixes: tuple[str, ...] = _ca_fixes(client)
    if top is not None:
        evidence.update(
            sent=len(summaries),
            complete=int(chain is None or chain.complete),
            top=top.subject,
            top_issuer=top.issuer,
        )
        if not top.is_ca:
            fixes += (
                f"If {top.issuer} is an intermediate CA, the server must send it too (missing "
                "intermediate).",
            )
    return Verdict(Cause.UNKNOWN_ISSUER, evidence, fixes)


def _ca_fixes(client: Client) -> tuple[str, ...]:
    fixes: tuple[str, ...] = (
        "If you trust this CA, give its certificate to the client: `--cafile CA.pem` here, "
        "`tlsCAFile=CA.pem` in a MongoDB URI or TLSOptions, "
        '`trustresolve.create_default_context(cafile="CA.pem")` in code,',
        "or for every program: a bundle of the system roots plus this CA "
        "(`python -m trustresolve --export bundle.pem && cat CA.pem >> bundle.pem`) "
        "named by `SSL_CERT_FILE=bundle.pem`, or add it to the OS store "
        "(Debian/Ubuntu: /usr/local/share/ca-certificates/ + update-ca-certificates; RHEL/Fedora: "
        "/etc/pki/ca-trust/source/anchors/ + update-ca-trust; macOS: Keychain Access; "
        "Windows: certlm.msc, Trusted Root Certification Authorities).",
    )
    if client.store_backend == "macos-python-org" or _python_org_macos():
        fixes += (
            "This is a python.org macOS build with its own OpenSSL: run "
            '"/Applications/Python 3.x/Install Certificates.command" once.',
        )
    return fixes


def _python_org_macos() -> bool:
    return sys.platform == "darwin" and "/Library/Frameworks/Python.framework/" in sys.executable


# --- a handshake that failed before verification ----------------------------------------------


def is_protocol_mismatch(exc: BaseException) -> bool:
    return (getattr(exc, "reason", None) or "") in _PROTOCOL_REASONS


def protocol_mismatch(
    exc: BaseException,
    server: Sequence[ssl.TLSVersion],
    client: Sequence[ssl.TLSVersion],
    *,
    complete: bool,
    program: Client | None = None,
) -> Verdict:
    """``complete``: every version was tried before the deadline; ``program``: the client
    under test, whose options the fix repeats."""
    fixes = protocol_advice(
        server,
        client,
        versions.local_versions(),
        ssl.OPENSSL_VERSION,
        options_call=_options_call(program),
    )
    verdict = Verdict(
        Cause.PROTOCOL_MISMATCH,
        {
            "complete": int(complete),
            "server_versions": tuple(server),
            "client_versions": tuple(client),
            "library": ssl.OPENSSL_VERSION,
            "reason": str(getattr(exc, "reason", "")),
        },
        tuple(fixes),
    )
    return quoting(exc, verdict)


def _options_call(program: Client | None) -> str:
    """The TLSOptions that build the program's context, as code (the fix lowers its floor)."""
    if program is not None and program.dialect is not None:
        return "trustresolve.TLSOptions.from_uri(uri)"
    arguments = ["tls=True"]
    if program is not None and program.cafile:
        arguments.append(f"tlsCAFile={program.cafile!r}")
    certificate = program.certificate if program is not None else None
    if certificate is not None:
        arguments.append(f"tlsCertificateKeyFile={certificate.certfile!r}")
        if certificate.keyfile:
            arguments.append(f"ssl_keyfile={certificate.keyfile!r}")
    return f"trustresolve.TLSOptions.from_kwargs({', '.join(arguments)})"


def handshake_failed(
    exc: BaseException, seconds: float, received: int, dialect: str | None = None
) -> Verdict:
    """Every other way a handshake fails (the protocol mismatch needs probing: see above)."""
    return quoting(exc, _failure_verdict(exc, seconds, received, dialect))


def _failure_verdict(
    exc: BaseException, seconds: float, received: int, dialect: str | None
) -> Verdict:
    reason = getattr(exc, "reason", None) or ""
    if reason in _NOT_TLS_REASONS:
        return Verdict(Cause.NOT_TLS, {"reason": reason}, (_not_tls_fix(dialect),))
    if isinstance(exc, socket.timeout):
        return timed_out("TLS handshake", seconds, received=received)
    if isinstance(exc, (ssl.SSLEOFError, ConnectionResetError, BrokenPipeError)) or (
        isinstance(exc, ssl.SSLError) and "EOF" in str(exc)
    ):
        return Verdict(
            Cause.CLOSED,
            {"error": str(exc)},
            (
                "It is not a TLS server on this port, or it refused this client: a server "
                "requiring a client certificate (--cert/--key here, tlsCertificateKeyFile) or "
                "a known SNI name may do this; check its log.",
            ),
        )
    fixes: tuple[str, ...] = ("See the server's log for why it refused the handshake.",)
    if reason == "TLSV1_UNRECOGNIZED_NAME":
        fixes = (
            "The server (or a proxy routing by SNI) does not serve this name: connect with "
            "the name it serves, not an address or an alias.",
            *fixes,
        )
    return Verdict(Cause.HANDSHAKE_FAILED, {"error": f"{type(exc).__name__}: {exc}"}, fixes)


def is_not_tls(exc: BaseException) -> bool:
    """Whether ``exc`` says the other side does not speak TLS (here): the answer was not TLS,
    the server closed, or it refused every ALPN protocol offered (a direct-TLS PostgreSQL)."""
    reason = getattr(exc, "reason", None) or ""
    return (
        reason in _NOT_TLS_REASONS
        or "no application protocol" in str(exc)  # Python < 3.12 has no name for the alert
        or isinstance(exc, (ssl.SSLEOFError, ConnectionResetError, BrokenPipeError))
        or (isinstance(exc, ssl.SSLError) and "EOF" in str(exc))
    )


def _not_tls_fix(dialect: str | None) -> str:
    check = "Check the port: it may be a plain-text service (HTTP, a database without TLS)"
    if dialect == "mongodb":
        return f"{check}. For MongoDB, enable net.tls on the server or connect without tls=true."
    if dialect == "redis":
        return (
            f"{check}. For Redis, TLS is on the server's tls-port (its port is plain text): "
            "connect to that one, or enable tls-port on the server."
        )
    return (
        f"{check}, or a server that expects STARTTLS (PostgreSQL and MySQL: --starttls "
        "postgres, --starttls mysql)."
    )


def timed_out(
    step: str, seconds: float, *, address: str = "", port: int = 0, received: int = 0
) -> Verdict:
    if step == "TLS handshake":
        fix = (
            "The service may not speak TLS and wait for the client to talk first, be "
            "overloaded, or answer too slowly; check the port and the server, or raise --timeout."
        )
    elif step == "TCP connect":
        fix = "A firewall may drop the packets, or the host is down; check the route."
    else:
        fix = "Check this machine's DNS (resolv.conf, VPN, /etc/hosts), or raise --timeout."
    evidence: dict[str, Evidence] = {"step": step, "seconds": seconds, "received": received}
    if address:
        evidence.update(address=address, port=port)
    return Verdict(Cause.TIMEOUT, evidence, (fix,))


# --- the server and the client's certificate -------------------------------------------------

# OpenSSL's reasons for the alerts a server sends about the client's certificate, with the
# alert's name and number (RFC 8446 §6.2; RFC 5246 §7.2.2).
_CERTIFICATE_ALERTS = {
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "certificate_required (116)",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "handshake_failure (40)",
    "SSLV3_ALERT_BAD_CERTIFICATE": "bad_certificate (42)",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE": "unsupported_certificate (43)",
    "SSLV3_ALERT_CERTIFICATE_REVOKED": "certificate_revoked (44)",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "certificate_expired (45)",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "certificate_unknown (46)",
    "TLSV1_ALERT_UNKNOWN_CA": "unknown_ca (48)",
    "TLSV1_ALERT_ACCESS_DENIED": "access_denied (49)",
    "TLSV1_ALERT_DECRYPT_ERROR": "decrypt_error (51)",
}
# What the server's client-CA setting is called, for the fix of a certificate it does not trust.
_SERVER_CLIENT_CA = (
    "PostgreSQL ssl_ca_file, MySQL/MariaDB ssl_ca, Redis tls-ca-cert-file, MongoDB "
    "net.tls.CAFile, nginx ssl_client_certificate"
)
# The URI options naming a client certificate and its key, in each dialect's spelling
# (_tls/dialects/, _tls/mongodb.py).
_URI_CERTIFICATE_OPTIONS = {
    "mongodb": "`tlsCertificateKeyFile=client.pem` (the certificate and its key in one file; "
    "tlsCertificateKeyFilePassword for an encrypted key)",
    "postgresql": "`sslcert=client.crt&sslkey=client.key` (sslpassword for an encrypted key)",
    "mysql": "`ssl-cert=client.crt&ssl-key=client.key` (ssl_key_password for an encrypted key)",
    "redis": "`ssl_certfile=client.crt&ssl_keyfile=client.key` (ssl_password for an encrypted key)",
}
_WHEN_DURING = "during the handshake"
_WHEN_AFTER = "after the handshake"


def is_certificate_alert(exc: BaseException) -> bool:
    return (getattr(exc, "reason", None) or "") in _CERTIFICATE_ALERTS


def alert_name(reason: str) -> str:
    return _CERTIFICATE_ALERTS.get(reason, reason)


def is_about_the_client(verdict: Verdict) -> bool:
    return verdict.cause in (Cause.CLIENT_CERT_REQUIRED, Cause.CLIENT_CERT_REJECTED)


def refused_after_handshake(exc: BaseException, client: Client) -> Verdict:
    """The server's first word after a completed handshake was not an acceptance."""
    if is_certificate_alert(exc):
        return client_certificate_refused(exc, client, during_handshake=False)
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError, EOFError)):
        # EOFError: the read returned nothing, as a program's does (no error to show).
        error = "" if isinstance(exc, EOFError) else f"{type(exc).__name__}: {exc}"
        evidence: dict[str, Evidence] = {"error": error}
        if client.certificate is not None:
            evidence["certificate"] = client.certificate.certfile
        fixes: tuple[str, ...] = (
            "A server that requires a client certificate may close the connection instead of "
            "sending an alert; so may one that expects another protocol, or limits "
            "connections. Its log says which.",
        )
        if client.certificate is None:
            fixes += _certificate_fixes(client)[:1]
        return quoting(exc, Verdict(Cause.CLOSED_AFTER_HANDSHAKE, evidence, fixes))
    return quoting(
        exc,
        Verdict(
            Cause.HANDSHAKE_FAILED,
            {"error": f"{type(exc).__name__}: {exc}"},
            ("See the server's log for why it refused the connection.",),
        ),
    )


def client_certificate_refused(
    exc: BaseException, client: Client, *, during_handshake: bool
) -> Verdict:
    """The server refused the client for its certificate: none given, or the one given.

    TLS 1.2 servers say it inside the handshake (after their CertificateRequest); TLS 1.3
    servers after it (RFC 8446 §4.4.2): ``wrap_socket()`` succeeds and the first read fails.
    """
    reason = str(getattr(exc, "reason", None) or "")
    when = _WHEN_DURING if during_handshake else _WHEN_AFTER
    if client.certificate is None:
        evidence: dict[str, Evidence] = {"alert": reason, "when": when}
        if client.dialect:
            evidence["dialect"] = client.dialect
        verdict = Verdict(Cause.CLIENT_CERT_REQUIRED, evidence, _certificate_fixes(client))
    else:
        verdict = Verdict(
            Cause.CLIENT_CERT_REJECTED,
            {"alert": reason, "when": when, "certificate": client.certificate.certfile},
            _rejection_fixes(reason),
        )
    return quoting(exc, verdict)


def _certificate_fixes(client: Client) -> tuple[str, ...]:
    if client.dialect in _URI_CERTIFICATE_OPTIONS:
        in_uri = f"{_URI_CERTIFICATE_OPTIONS[client.dialect]} in the URI"
    else:
        in_uri = "in a URI: " + "; ".join(
            f"{name}: {spelling}" for name, spelling in _URI_CERTIFICATE_OPTIONS.items()
        )
    return (
        "Give the client its certificate and key: `--cert client.crt --key client.key` here "
        "(an encrypted key's passphrase in the environment variable TRUSTRESOLVE_KEY_PASSWORD); "
        f'{in_uri}; `context.load_cert_chain("client.crt", "client.key")` in code.',
        "The certificate must come from a CA the server trusts for its clients "
        f"({_SERVER_CLIENT_CA}).",
    )


def _rejection_fixes(reason: str) -> tuple[str, ...]:
    if reason == "TLSV1_ALERT_UNKNOWN_CA":
        return (
            "The server does not trust the CA that issued this certificate: use a certificate "
            "from the CA the server trusts for its clients, or add this one's CA there "
            f"({_SERVER_CLIENT_CA}).",
        )
    if reason == "SSLV3_ALERT_CERTIFICATE_EXPIRED":
        return (
            "The certificate has expired, or is not valid yet, by the server's clock: renew it "
            "(and check both machines' clocks).",
        )
    if reason == "SSLV3_ALERT_CERTIFICATE_REVOKED":
        return ("The server's CRL revokes this certificate: get a new one.",)
    return (
        "The server could not use this certificate: check that it is meant for client "
        "authentication (extendedKeyUsage clientAuth, if it has one), that its intermediates "
        "are in the file after it, and the server's log.",
    )


# --- before TLS -------------------------------------------------------------------------------


def dns_failure(host: str, exc: BaseException) -> Verdict:
    error = getattr(exc, "strerror", None) or str(exc)
    return Verdict(
        Cause.DNS_FAILURE,
        {"host": host, "error": error},
        ("Check the name for typos, and this machine's DNS (resolv.conf, VPN, /etc/hosts).",),
    )


def connection_refused(target: Target, address: str, exc: OSError) -> Verdict:
    return Verdict(
        Cause.CONNECTION_REFUSED,
        {"target": target.shown, "address": address, "error": exc.strerror or str(exc)},
        (
            "Check the port and that the server is running; a firewall may also "
            "reject the connection.",
        ),
    )


def connection_failed(address: str, port: int, exc: OSError) -> Verdict:
    return Verdict(
        Cause.CONNECTION_FAILED,
        {"address": address, "port": port, "error": exc.strerror or str(exc)},
        ("Check the network route to the host.",),
    )


# --- TLS inside a database protocol (:mod:`.negotiate`) ---------------------------------------

_TITLES = {"postgresql": "PostgreSQL", "mysql": "MySQL"}
# How a driver of each family asks for verified TLS, and the --starttls name.
_VERIFYING_URI = {
    "postgresql": "postgresql://{}/?sslmode=verify-full",
    "mysql": "mysql://{}/?ssl-mode=VERIFY_IDENTITY",
}
_STARTTLS = {"postgresql": "postgres", "mysql": "mysql"}


def _check_commands(protocol: str, target: Target) -> str:
    uri = _VERIFYING_URI[protocol].format(target.shown)
    return (
        f"`python -m trustresolve --connect '{uri}'` (the URI's TLS options, as a driver "
        f"reads them) or `python -m trustresolve --connect {target.shown} --starttls "
        f"{_STARTTLS[protocol]}`"
    )


def in_protocol_tls(protocol: str, target: Target, exc: BaseException, server: str = "") -> Verdict:
    """A plain TLS hello reached a PostgreSQL or MySQL server (``protocol``), which starts TLS
    inside its own protocol."""
    sign = (
        f"it sent a MySQL greeting before any TLS (HandshakeV10, server {server})"
        if protocol == "mysql"
        else "it closed at the TLS hello, and answers PostgreSQL's SSLRequest"
    )
    evidence: dict[str, Evidence] = {
        "protocol": _TITLES[protocol],
        "sign": sign,
        "openssl": str(exc),
    }
    if server:
        evidence["server"] = server
    return Verdict(
        Cause.IN_PROTOCOL_TLS,
        evidence,
        (
            f"This is a {_TITLES[protocol]} server: TLS starts inside its protocol. Check it "
            f"with {_check_commands(protocol, target)}.",
            f"In code, a {_TITLES[protocol]} driver negotiates TLS itself: pass it the "
            "options, not a TLS-wrapped socket.",
        ),
    )


def negotiation_failed(exc: OSError, target: Target) -> Verdict:
    """The server answered the protocol's TLS request without TLS (:mod:`.negotiate`)."""
    from . import negotiate

    protocol = getattr(exc, "protocol", "postgresql")
    if isinstance(exc, negotiate.NotOffered):
        return _not_offered(protocol, exc.server)
    if isinstance(exc, negotiate.Refused):
        return Verdict(
            Cause.REFUSED_BEFORE_TLS,
            {"protocol": _TITLES[protocol], "message": exc.text, "code": exc.code},
            (
                "Act on the server's message (it comes before TLS, so it is not "
                "authenticated: a man in the middle could have written it); the server's log "
                "says more.",
            ),
        )
    data = exc.data if isinstance(exc, negotiate.Unexpected) else b""
    server = negotiate.greeting_version(data)
    if server is not None:
        sign = f"it sent a MySQL greeting (server {server})"
        fix = (
            f"This is a MySQL server, not {_TITLES[protocol]}: check it with "
            f"{_check_commands('mysql', target)}."
        )
        evidence = {"protocol": "MySQL", "sign": sign, "server": server}
        return Verdict(Cause.IN_PROTOCOL_TLS, evidence, (fix,))
    return Verdict(
        Cause.UNEXPECTED_ANSWER,
        {"protocol": _TITLES[protocol], "data": negotiate.shown(data[:32])},
        (
            f"Check the port: this is not a {_TITLES[protocol]} server (without --starttls, "
            "a port that speaks TLS from the first byte is checked as such).",
        ),
    )


def _not_offered(protocol: str, server: str) -> Verdict:
    evidence: dict[str, Evidence] = {"protocol": _TITLES[protocol]}
    if protocol == "postgresql":
        evidence["answer"] = "it answered the SSLRequest with 'N'"
        fixes = (
            "Turn TLS on in the server: `ssl = on` in postgresql.conf, with ssl_cert_file and "
            "ssl_key_file, then reload it (`SELECT pg_reload_conf();`); `SHOW ssl;` then says on.",
            "A driver with sslmode=prefer (libpq's default) or allow would have gone on WITHOUT "
            "TLS, silently; sslmode=require or stronger refuses, as here.",
        )
    else:
        evidence.update(answer="its greeting has no CLIENT_SSL capability", server=server)
        fixes = (
            "Turn TLS on in the server: ssl_cert and ssl_key (and ssl_ca) in its [mysqld] "
            "section, then restart it; `SHOW VARIABLES LIKE 'have_ssl';` then says YES.",
            "A client with ssl-mode=PREFERRED (the MySQL client's default, and PyMySQL's with "
            "no TLS option) would have gone on WITHOUT TLS, silently; ssl-mode=REQUIRED or "
            "stronger refuses, as here.",
        )
    return Verdict(Cause.TLS_NOT_OFFERED, evidence, fixes)


def no_direct_tls(target: Target, exc: BaseException) -> Verdict:
    """``sslnegotiation=direct`` to a PostgreSQL that only starts TLS after an SSLRequest."""
    uri = _VERIFYING_URI["postgresql"].format(target.shown)
    return Verdict(
        Cause.NO_DIRECT_TLS,
        {"openssl": str(exc)},
        (
            "Remove sslnegotiation=direct: the default, sslnegotiation=postgres, sends the "
            f"SSLRequest first (`python -m trustresolve --connect '{uri}'`); or upgrade the "
            "server to PostgreSQL 17 or later.",
        ),
    )


def no_alpn(selected: str | None) -> Verdict:
    """A direct TLS handshake to "PostgreSQL" completed without ALPN ``postgresql``."""
    return Verdict(
        Cause.NO_ALPN,
        {"selected": selected or ""},
        (
            'libpq refuses this ("direct SSL connection was established without ALPN protocol '
            'negotiation extension"): the server is not PostgreSQL 17+, or a TLS proxy in '
            "front of it does not pass ALPN postgresql on. Remove sslnegotiation=direct, or "
            "fix the proxy.",
        ),
    )


# --- the protocol advice ----------------------------------------------------------------------


def protocol_advice(
    server: Sequence[ssl.TLSVersion],
    client: Sequence[ssl.TLSVersion],
    local: Sequence[ssl.TLSVersion],
    library: str,
    *,
    options_call: str = "trustresolve.TLSOptions.from_kwargs(tls=True)",
) -> list[str]:
    """The fixes for a protocol version mismatch (pure, so every branch is testable).

    ``options_call`` is the code building the program's options; the legacy fix lowers its
    floor to the best version the server speaks (TLS 1.1 would still refuse a TLS 1.0 server).
    """
    fixes = []
    if not server:
        fixes.append(
            f"The server completed no handshake with any version this library ({library}) "
            f"can speak ({versions.names(local)}); it may need a newer TLS library on this "
            "side, or it is not a TLS server."
        )
    if server and versions.is_legacy(max(server)):
        best = max(server)
        where = " (uri: your connection string)" if "from_uri(uri)" in options_call else ""
        fixes.append(
            f"The server speaks at most {versions.name(best)}, which RFC 8996 deprecates: "
            "upgrade the server to TLS 1.2 or later. If you cannot, and accept the risk, a "
            f"client can lower its floor to {versions.name(best)}: "
            f"`{options_call}.create_context(minimum_version=ssl.TLSVersion.{best.name})`"
            f"{where} (trustresolve then sets @SECLEVEL=0, which OpenSSL 3 needs for TLS "
            "1.0/1.1, and warns)."
        )
    beyond = [v for v in server if v not in local]
    if beyond or (server and not any(v in local for v in server)):
        need = max((versions.library_needed(v) for v in beyond), default="")
        fixes.append(
            f"This interpreter's TLS library ({library}) cannot speak {versions.names(beyond)}: "
            f"use a Python linked against {need} or newer (on a portable interpreter, "
            "upgrade the interpreter build)."
        )
    if server and client and min(server) > max(client):
        fixes.append(
            f"The client allows at most {versions.name(max(client))}: remove the "
            "maximum_version limit."
        )
    return fixes
