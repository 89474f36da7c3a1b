"""The report: the header, what the server sent, and the verdict, as text.

Every line goes through :func:`..terminal.safe` on its way out: names, URLs and subjects come
from the server's certificates, paths from the command line or the environment, and any of
them may hold characters that would rewrite what the terminal shows.
"""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Callable, Mapping

from ..._tls import versions
from ..._x509.certinfo import summarize
from ..._x509.der import DERError
from ..terminal import safe
from . import negotiate
from .client import Client
from .target import Target
from .verdicts import Cause, Evidence, Verdict, alert_name, is_protocol_mismatch
from .wire import Chain

__all__ = [
    "Printer",
    "print_chain",
    "print_header",
    "print_negotiated",
    "print_verdict",
    "verdict_lines",
]

Printer = Callable[[str], None]


def _safe_printer(out: Printer) -> Printer:
    return lambda line: out(safe(line))


def print_header(out: Printer, target: Target, client: Client) -> None:
    emit = _safe_printer(out)
    source = f" (from the {target.title} URI)" if target.uri else ""
    emit(f"Connecting to {target.shown}{source}")
    plan = negotiate.plan_for(target.dialect, client.direct)
    if plan.label:
        emit(f"Negotiation: {plan.label}")
    emit(f"Trust: {client.store}")
    if client.certificate is not None:
        key = client.certificate.keyfile
        shown_key = f" (key {key})" if key else ""
        emit(f"Client certificate: {client.certificate.certfile}{shown_key}")
    for note in client.notes:
        emit(f"Note: {note}")


def print_negotiated(out: Printer, version: str | None, cipher: str | None) -> None:
    _safe_printer(out)(f"TLS: {version}, cipher {cipher}")


def print_chain(
    out: Printer, chain: Chain | None, now: datetime.datetime, *, timed_out: bool = False
) -> None:
    emit = _safe_printer(out)
    if chain is None:
        why = ": timed out (--timeout covers the whole run)" if timed_out else ""
        emit(f"Certificates: the server's certificates could not be fetched{why}.")
        return
    emit(f"Certificates the server sent{_partial_note(chain)}:")
    for index, der in enumerate(chain.certificates):
        try:
            cert = summarize(der)
        except DERError as exc:
            emit(f"  [{index}] not a parsable certificate ({exc})")
            continue
        problem = cert.validity_problem(now)
        emit(f"  [{index}] subject: {cert.subject}")
        emit(f"      issuer:  {cert.issuer}")
        emit(
            f"      valid:   {cert.not_before:%Y-%m-%d %H:%M:%S} to "
            f"{cert.not_after:%Y-%m-%d %H:%M:%S} UTC" + (f"  ** {problem} **" if problem else "")
        )
        if cert.names:
            emit(f"      names:   {', '.join(cert.names)}")


def _partial_note(chain: Chain) -> str:
    """Why only the leaf is shown: say exactly which of the two reasons it was."""
    if chain.complete:
        return ""
    if chain.refused is None or is_protocol_mismatch(chain.refused):
        return (
            " (only the leaf: this server speaks only TLS 1.3, which encrypts its Certificate "
            "message; Python 3.13+ can show the whole chain)"
        )
    return (
        " (only the leaf: the server refused the TLS 1.2 handshake that reads the chain: "
        f"{chain.refused})"
    )


def print_verdict(out: Printer, verdict: Verdict) -> None:
    emit = _safe_printer(out)
    headline, details = verdict_lines(verdict)
    emit(f"Verdict: {headline}")
    if "openssl" in verdict.evidence:
        emit(f"  OpenSSL: {verdict.evidence['openssl']}")
    for line in details:
        emit(f"  {line}")
    if verdict.fixes:
        emit("Fix:")
        for line in verdict.fixes:
            emit(f"  - {line}")


def verdict_lines(verdict: Verdict) -> tuple[str, list[str]]:
    """The headline and the detail lines of ``verdict`` (not yet made terminal-safe)."""
    ev = _Evidence(verdict.evidence)
    if verdict.cause is Cause.VERIFIED:
        return (
            f"VERIFIED: the chain and the name {ev.text('host')} verify against {ev.text('store')}",
            _verified(ev),
        )
    return f"FAILED: {verdict.cause.value}", _DETAILS[verdict.cause](ev)


class _Evidence:
    """Typed access to a verdict's evidence."""

    def __init__(self, evidence: Mapping[str, Evidence]) -> None:
        self._evidence = evidence

    def has(self, key: str) -> bool:
        return key in self._evidence

    def text(self, key: str) -> str:
        return str(self._evidence.get(key, ""))

    def number(self, key: str) -> float:
        value = self._evidence.get(key, 0)
        return value if isinstance(value, (int, float)) else 0

    def texts(self, key: str) -> list[str]:
        value = self._evidence.get(key, ())
        return [str(v) for v in value] if isinstance(value, tuple) else [str(value)]

    def versions(self, key: str) -> str:
        value = self._evidence.get(key, ())
        if not isinstance(value, tuple):
            return str(value)
        return versions.names(v for v in value if isinstance(v, ssl.TLSVersion))


def _store(ev: _Evidence) -> str:
    return f"Store used: {ev.text('store')}."


def _count(n: float) -> str:
    return f"{n:g} certificate" + ("" if n == 1 else "s")


def _verified(ev: _Evidence) -> list[str]:
    if not ev.has("certificate"):
        return []
    return [f"The server accepted the client certificate {ev.text('certificate')}."]


def _not_fully_verified(ev: _Evidence) -> list[str]:
    return [*ev.texts("notes"), f"Store: {ev.text('store')}."]


def _self_signed(ev: _Evidence) -> list[str]:
    return [f"The server's certificate {ev.text('subject')} is signed by itself.", _store(ev)]


def _unknown_issuer(ev: _Evidence) -> list[str]:
    if ev.has("root"):
        return [
            f"The chain ends at the root {ev.text('root')}, which is not in the store.",
            _store(ev),
        ]
    if not ev.has("top"):
        return [_store(ev)]
    partial = "" if ev.number("complete") else " (only the leaf could be read)"
    return [
        f"The server sent {_count(ev.number('sent'))}{partial} ending at {ev.text('top')}, "
        f"issued by {ev.text('top_issuer')}, which is not in the store.",
        _store(ev),
    ]


def _store_out_of_date(ev: _Evidence) -> list[str]:
    return [
        f"The chain is issued by {ev.text('root')} (matched by {ev.text('matched')}), a root "
        f"that {ev.text('reference')} holds and the store lacks: the store is out of date.",
        "If this server's chain really is issued by that root, updating the store fixes this "
        "(OpenSSL then checks the chain's signatures).",
        _store(ev),
    ]


def _root_expired(ev: _Evidence) -> list[str]:
    lines = [
        f"The store's copy of the root {ev.text('root')} expired on {ev.text('expired_on')}: "
        "the store is out of date."
    ]
    if ev.has("renewed_until"):
        lines.append(
            f"{ev.text('reference')} holds a copy of the same root (same name and key) valid "
            f"until {ev.text('renewed_until')}."
        )
    return [*lines, _store(ev)]


def _missing_intermediate(ev: _Evidence) -> list[str]:
    return [
        f"The server sent {_count(ev.number('sent'))} ending at {ev.text('top')}; its issuer "
        f"{ev.text('top_issuer')} was not sent and is not in the store.",
        f"The certificate names where that intermediate CA can be downloaded: "
        f"{', '.join(ev.texts('urls'))} (browsers fetch it; OpenSSL does not).",
        _store(ev),
    ]


def _hostname_mismatch(ev: _Evidence) -> list[str]:
    offered = ", ".join(ev.texts("offered")) or "none"
    subject = f" (subject {ev.text('subject')})" if ev.text("subject") else ""
    return [
        f"Name asked: {ev.text('asked')}",
        f"Names in the certificate (subjectAltName): {offered}{subject}",
        "The subject's CN is not used for matching (RFC 6125; Python 3.7+).",
    ]


def _dates(ev: _Evidence) -> list[str]:
    return [*ev.texts("problems"), f"Now: {ev.text('now')} UTC."]


def _revoked(ev: _Evidence) -> list[str]:
    serial = int(ev.number("serial"))
    shown = f" (serial {serial:#x})" if serial else ""
    return [f"The CRL lists the server's certificate{shown} as revoked.", *ev.texts("notes")]


def _no_crl(ev: _Evidence) -> list[str]:
    return [f"CRL checking is on, but no CRL of {ev.text('issuer')} is loaded."]


def _crl_out_of_date(ev: _Evidence) -> list[str]:
    return [f"The CRL's dates do not cover now: {ev.text('message')}."]


def _verify_failed(ev: _Evidence) -> list[str]:
    return [f"X509_V_ERR {ev.text('code')}: {ev.text('message')}."]


def _protocol_mismatch(ev: _Evidence) -> list[str]:
    partial = "" if ev.number("complete") else " (the time ran out before every version was tried)"
    return [
        f"Server offers: {ev.versions('server_versions')}{partial}",
        f"Client allows: {ev.versions('client_versions')} ({ev.text('library')})",
    ]


def _unless_quoted(ev: _Evidence, key: str) -> str:
    """`` (the error)``, unless the OpenSSL line above already says it."""
    return "" if ev.has("openssl") or not ev.text(key) else f" ({ev.text(key)})"


def _not_tls(ev: _Evidence) -> list[str]:
    return [f"The server answered with something that is not TLS{_unless_quoted(ev, 'reason')}."]


def _closed(ev: _Evidence) -> list[str]:
    return [
        "The server closed the connection instead of answering the TLS hello"
        f"{_unless_quoted(ev, 'error')}."
    ]


def _in_protocol_tls(ev: _Evidence) -> list[str]:
    return [f"This is a {ev.text('protocol')} server: {ev.text('sign')}."]


def _tls_not_offered(ev: _Evidence) -> list[str]:
    server = f" (server {ev.text('server')})" if ev.text("server") else ""
    return [f"The {ev.text('protocol')} server{server} does not offer TLS: {ev.text('answer')}."]


def _refused_before_tls(ev: _Evidence) -> list[str]:
    code = f" [{ev.text('code')}]" if ev.text("code") else ""
    return [
        f"The {ev.text('protocol')} server answered the TLS request with an error{code}:",
        f"  {ev.text('message')}",
    ]


def _unexpected_answer(ev: _Evidence) -> list[str]:
    return [f"Asked for TLS as {ev.text('protocol')} does; the answer began {ev.text('data')!r}."]


def _no_direct_tls(ev: _Evidence) -> list[str]:
    return [
        "The server closed the connection at the direct TLS hello, and answers PostgreSQL's "
        "SSLRequest: it is PostgreSQL 16 or older, which starts TLS only after an SSLRequest "
        "(direct TLS needs PostgreSQL 17+).",
    ]


def _no_alpn(ev: _Evidence) -> list[str]:
    chosen = repr(ev.text("selected")) if ev.text("selected") else "none"
    return [f'ALPN selected by the server: {chosen}; direct TLS requires "postgresql".']


def _timeout(ev: _Evidence) -> list[str]:
    seconds = f"{ev.number('seconds'):g} s"
    step = ev.text("step")
    if step == "TLS handshake":
        received = int(ev.number("received"))
        if not received:
            return [f"Connected, but no TLS answer within {seconds}: timed out."]
        return [
            f"Connected, but the TLS handshake did not finish within {seconds} (the whole run's "
            f"time): timed out after the server sent {received} bytes.",
        ]
    if step == "TCP connect":
        return [
            f"No TCP answer from {ev.text('address')} port {ev.text('port')} within {seconds}: "
            "timed out."
        ]
    return [f"The name lookup did not finish within {seconds}: timed out."]


def _handshake_failed(ev: _Evidence) -> list[str]:
    return [] if ev.has("openssl") else [ev.text("error")]


def _said(ev: _Evidence) -> str:
    when = ev.text("when") or "after the handshake"
    where = (
        " (TLS 1.3 checks the client after the handshake: a program's wrap_socket() succeeds "
        "and its first read raises this)"
        if when == "after the handshake"
        else ""
    )
    return f"It sent the alert {alert_name(ev.text('alert'))} {when}{where}."


def _client_cert_required(ev: _Evidence) -> list[str]:
    return [
        "The server asks for a client certificate (mutual TLS) and none was given.",
        _said(ev),
    ]


def _client_cert_rejected(ev: _Evidence) -> list[str]:
    return [f"The server refused the client certificate {ev.text('certificate')}.", _said(ev)]


def _closed_after_handshake(ev: _Evidence) -> list[str]:
    given = f" (client certificate {ev.text('certificate')})" if ev.has("certificate") else ""
    return [
        f"The handshake completed{given}, then the server closed the connection without an "
        f"alert{_unless_quoted(ev, 'error')}."
    ]


def _dns_failure(ev: _Evidence) -> list[str]:
    return [f"{ev.text('host')!r} does not resolve: {ev.text('error')}."]


def _connection_refused(ev: _Evidence) -> list[str]:
    return [f"Nothing listens on {ev.text('target')} ({ev.text('address')}): {ev.text('error')}."]


def _connection_failed(ev: _Evidence) -> list[str]:
    return [f"{ev.text('address')} port {ev.text('port')}: {ev.text('error')}."]


_DETAILS: dict[Cause, Callable[[_Evidence], list[str]]] = {
    Cause.VERIFIED: lambda ev: [],
    Cause.NOT_FULLY_VERIFIED: _not_fully_verified,
    Cause.SELF_SIGNED: _self_signed,
    Cause.UNKNOWN_ISSUER: _unknown_issuer,
    Cause.STORE_OUT_OF_DATE: _store_out_of_date,
    Cause.ROOT_EXPIRED: _root_expired,
    Cause.MISSING_INTERMEDIATE: _missing_intermediate,
    Cause.HOSTNAME_MISMATCH: _hostname_mismatch,
    Cause.EXPIRED: _dates,
    Cause.NOT_YET_VALID: _dates,
    Cause.REVOKED: _revoked,
    Cause.NO_CRL: _no_crl,
    Cause.CRL_OUT_OF_DATE: _crl_out_of_date,
    Cause.VERIFY_FAILED: _verify_failed,
    Cause.PROTOCOL_MISMATCH: _protocol_mismatch,
    Cause.NOT_TLS: _not_tls,
    Cause.CLOSED: _closed,
    Cause.IN_PROTOCOL_TLS: _in_protocol_tls,
    Cause.TLS_NOT_OFFERED: _tls_not_offered,
    Cause.REFUSED_BEFORE_TLS: _refused_before_tls,
    Cause.UNEXPECTED_ANSWER: _unexpected_answer,
    Cause.NO_DIRECT_TLS: _no_direct_tls,
    Cause.NO_ALPN: _no_alpn,
    Cause.TIMEOUT: _timeout,
    Cause.HANDSHAKE_FAILED: _handshake_failed,
    Cause.CLIENT_CERT_REQUIRED: _client_cert_required,
    Cause.CLIENT_CERT_REJECTED: _client_cert_rejected,
    Cause.CLOSED_AFTER_HANDSHAKE: _closed_after_handshake,
    Cause.DNS_FAILURE: _dns_failure,
    Cause.CONNECTION_REFUSED: _connection_refused,
    Cause.CONNECTION_FAILED: _connection_failed,
}
