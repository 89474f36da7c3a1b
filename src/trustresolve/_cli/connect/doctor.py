"""``--connect HOST[:PORT] | URI``: connect, show what the server sent, and explain a failure.

Steps: resolve the name, open TCP, handshake with the context the user's code would get
(:mod:`.client`). Whatever happens, the server's certificates are then fetched with a second
handshake that does not verify (:mod:`.wire`), so the verdict (:mod:`.verdicts`) can name the
cause: which store was used, the names asked and offered, the dates, the chain's missing link,
or the protocol versions each side speaks. All of it shares one deadline, ``timeout`` seconds
from the start.

VERIFIED needs the server to have accepted the client too: after the handshake the doctor
listens briefly (:data:`.wire.LISTEN_SECONDS`) for the alert a TLS 1.3 server sends when it
rejects the client's certificate, or for the server closing the connection.
"""

from __future__ import annotations

import datetime
import socket
import ssl
from dataclasses import dataclass

from . import negotiate, report, verdicts, wire
from .client import Client, client_for
from .target import Target, parse_target
from .verdicts import Verdict

__all__ = ["EXIT_FAILED", "EXIT_VERIFIED", "Diagnosis", "connect", "diagnose"]

EXIT_VERIFIED = 0
EXIT_FAILED = 1


@dataclass
class Diagnosis:
    """What one run found: the report is printed from it."""

    target: Target
    client: Client
    verdict: Verdict
    negotiated: tuple[str | None, str | None] | None = None  # (protocol, cipher)
    chain: wire.Chain | None = None
    chain_fetched: bool = False  # False: the run ended before the certificates were looked at
    chain_timed_out: bool = False  # the deadline passed while the certificates were fetched


def connect(
    target_text: str,
    *,
    cafile: str | None = None,
    crlfile: str | None = None,
    timeout: float = 10.0,
    out: report.Printer = print,
    starttls: str | None = None,
    cert: str | None = None,
    key: str | None = None,
) -> int:
    """Run the diagnosis; print the report through ``out``; 0 when verified, 1 otherwise.

    Raises :class:`ConfigurationError` for a bad target or option (the CLI's exit 2) and
    :class:`~trustresolve.TrustResolveError` when no store can be resolved.
    """
    target = parse_target(target_text, starttls)
    client = client_for(target, cafile, crlfile, cert, key)
    now = datetime.datetime.now(datetime.timezone.utc)
    report.print_header(out, target, client)
    diagnosis = examine(target, client, wire.Deadline(timeout), now)
    if diagnosis.negotiated is not None:
        report.print_negotiated(out, *diagnosis.negotiated)
    if diagnosis.chain_fetched:
        report.print_chain(out, diagnosis.chain, now, timed_out=diagnosis.chain_timed_out)
    report.print_verdict(out, diagnosis.verdict)
    return EXIT_VERIFIED if diagnosis.verdict.verified else EXIT_FAILED


def diagnose(
    target_text: str,
    *,
    cafile: str | None = None,
    crlfile: str | None = None,
    timeout: float = 10.0,
    starttls: str | None = None,
    cert: str | None = None,
    key: str | None = None,
) -> Diagnosis:
    """The same run as :func:`connect`, without printing."""
    target = parse_target(target_text, starttls)
    client = client_for(target, cafile, crlfile, cert, key)
    now = datetime.datetime.now(datetime.timezone.utc)
    return examine(target, client, wire.Deadline(timeout), now)


def examine(
    target: Target, client: Client, deadline: wire.Deadline, now: datetime.datetime
) -> Diagnosis:
    reached = _reach(target, deadline)
    if isinstance(reached, Verdict):
        return Diagnosis(target, client, reached)
    address = reached
    hostname = target.host if client.context.check_hostname else wire.server_hostname(target.host)
    plan = negotiate.plan_for(target.dialect, client.direct)
    try:
        done = wire.handshake(
            address,
            client.context,
            hostname,
            deadline,
            prelude=plan.prelude,
            listen=wire.LISTEN_SECONDS,
        )
    except wire.HandshakeError as failed:
        if not isinstance(failed.error, ssl.SSLCertVerificationError):
            verdict = _handshake_verdict(failed, address, target, client, deadline, plan=plan)
            return _refused_with_chain(target, client, verdict, address, deadline, plan=plan)
        chain = _fetch_chain(address, target, client, deadline, plan)
        verdict = verdicts.verification_failed(failed.error, target, chain, client, now)
        return _with_chain(Diagnosis(target, client, verdict), chain, deadline)
    chain = _fetch_chain(address, target, client, deadline, plan)
    if done.refusal is not None:
        verdict = verdicts.refused_after_handshake(done.refusal, client)
    elif not plan.accepts(done.alpn):
        verdict = verdicts.no_alpn(done.alpn)
    else:
        verdict = verdicts.connected(target, client)
    diagnosis = Diagnosis(target, client, verdict, (done.version, done.cipher))
    return _with_chain(diagnosis, chain, deadline)


def _fetch_chain(
    address: tuple[str, int],
    target: Target,
    client: Client,
    deadline: wire.Deadline,
    plan: negotiate.Plan,
) -> wire.Chain | None:
    """The chain as sent, fetched the way the program's handshake starts, with its
    client certificate."""
    return wire.fetch_chain(
        address, target.host, deadline, client.certificate, prelude=plan.prelude, alpn=plan.alpn
    )


def _refused_with_chain(
    target: Target,
    client: Client,
    verdict: Verdict,
    address: tuple[str, int],
    deadline: wire.Deadline,
    *,
    plan: negotiate.Plan,
) -> Diagnosis:
    """A server that refused the client's certificate still showed its own: print it."""
    diagnosis = Diagnosis(target, client, verdict)
    if not verdicts.is_about_the_client(verdict):
        return diagnosis
    chain = _fetch_chain(address, target, client, deadline, plan)
    return _with_chain(diagnosis, chain, deadline)


def _with_chain(
    diagnosis: Diagnosis, chain: wire.Chain | None, deadline: wire.Deadline
) -> Diagnosis:
    diagnosis.chain = chain
    diagnosis.chain_fetched = True
    diagnosis.chain_timed_out = chain is None and deadline.expired
    return diagnosis


def _handshake_verdict(
    failed: wire.HandshakeError,
    address: tuple[str, int],
    target: Target,
    client: Client,
    deadline: wire.Deadline,
    *,
    plan: negotiate.Plan,
) -> Verdict:
    if isinstance(failed.error, negotiate.NegotiationError):
        return verdicts.negotiation_failed(failed.error, target)
    if verdicts.is_protocol_mismatch(failed.error):
        server = wire.server_versions(
            address,
            target.host,
            deadline,
            client.certificate,
            prelude=plan.prelude,
            alpn=plan.alpn,
        )
        allowed = wire.allowed_versions(client.context)
        return verdicts.protocol_mismatch(
            failed.error, server, allowed, complete=not deadline.expired, program=client
        )
    if wire.requested_client_certificate(failed.records) and verdicts.is_certificate_alert(
        failed.error
    ):  # TLS 1.2: the server refused the client's certificate inside the handshake
        return verdicts.client_certificate_refused(failed.error, client, during_handshake=True)
    spoken = _database_protocol(failed, address, deadline, plan)
    if spoken is not None:
        protocol, version = spoken
        if protocol == "postgresql" and client.direct:
            return verdicts.no_direct_tls(target, failed.error)
        return verdicts.in_protocol_tls(protocol, target, failed.error, version)
    return verdicts.handshake_failed(
        failed.error, deadline.seconds, failed.received, dialect=target.dialect
    )


def _database_protocol(
    failed: wire.HandshakeError,
    address: tuple[str, int],
    deadline: wire.Deadline,
    plan: negotiate.Plan,
) -> tuple[str, str] | None:
    """A plain TLS hello that met a PostgreSQL or MySQL server: which one (see negotiate)."""
    if plan.prelude is not None or not verdicts.is_not_tls(failed.error):
        return None

    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET

    def connect() -> socket.socket:
        return wire.tcp_connect(family, address, deadline)

    return negotiate.identify(failed.records, connect, deadline)


def _reach(target: Target, deadline: wire.Deadline) -> Verdict | tuple[str, int]:
    """Resolve and connect: the address that answers, or the verdict when none does."""
    try:
        infos = wire.lookup(target.host, target.port, deadline)
    except wire.TimedOut:
        return verdicts.timed_out("name lookup", deadline.seconds)
    except (OSError, UnicodeError) as exc:
        return verdicts.dns_failure(target.host, exc)
    failure: Verdict | None = None
    for family, _, _, address in infos:
        try:
            wire.tcp_connect(family, address, deadline).close()
        except ConnectionRefusedError as exc:
            failure = verdicts.connection_refused(target, address[0], exc)
        except OSError as exc:
            if failure is None:
                failure = (
                    verdicts.timed_out(
                        "TCP connect", deadline.seconds, address=address[0], port=target.port
                    )
                    if isinstance(exc, socket.timeout)
                    else verdicts.connection_failed(address[0], target.port, exc)
                )
        else:
            return address
    assert failure is not None  # getaddrinfo returns at least one address or raises
    return failure
