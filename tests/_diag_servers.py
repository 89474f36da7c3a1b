"""Loopback servers that fail in each way ``--connect`` diagnoses, and the certificates they use.

Written for tests/test_connect.py (tests/tls_servers.py did not exist when it was written).
Every server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import datetime
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from typing import Callable

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

Handler = Callable[[socket.socket], None]


@contextlib.contextmanager
def serve(handler: Handler) -> Iterator[int]:
    """Run ``handler(conn)`` for every connection to 127.0.0.1:PORT; yields PORT."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def run(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            handler(conn)

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.settimeout(5)
            threading.Thread(target=run, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def tls_handler(context: ssl.SSLContext) -> Handler:
    def handle(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls, contextlib.suppress(OSError):
            tls.recv(1)

    return handle


def plain_handler(conn: socket.socket) -> None:
    """A plain-text service that greets first (like SMTP, or HTTP answering garbage)."""
    conn.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    with contextlib.suppress(OSError):
        conn.recv(1024)


def silent_handler(conn: socket.socket) -> None:
    """Accepts and never answers (until the client gives up)."""
    with contextlib.suppress(OSError):
        while conn.recv(1024):
            pass


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_context(
    chain_pem: bytes,
    key_pem: bytes,
    *,
    maximum: ssl.TLSVersion | None = None,
    minimum: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    import os
    import tempfile

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if maximum is not None and maximum < ssl.TLSVersion.TLSv1_2:
        # OpenSSL 3 needs security level 0 for TLS 1.0/1.1 (SHA-1 handshake signatures).
        context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():  # naming TLS 1.0/1.1 is deprecated (3.10+); on purpose here
        warnings.simplefilter("ignore", DeprecationWarning)
        if minimum is not None:
            context.minimum_version = minimum
        if maximum is not None:
            context.maximum_version = maximum
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "server.pem")
        with open(path, "wb") as out:
            out.write(chain_pem + key_pem)
        context.load_cert_chain(path)
    return context


def leaf_context(leaf: trustme.LeafCert, **kwargs: ssl.TLSVersion) -> ssl.SSLContext:
    """The server sends its whole chain (leaf and any intermediates)."""
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    return server_context(chain, leaf.private_key_pem.bytes(), **kwargs)


def leaf_only_context(leaf: trustme.LeafCert) -> ssl.SSLContext:
    """The server sends only its own certificate (the misconfiguration)."""
    return server_context(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())


def leaf_with_aia(issuer: trustme.CA, url: str) -> tuple[bytes, bytes]:
    """A leaf for localhost/127.0.0.1 whose AIA names ``url`` as its issuer (public-CA style)."""
    issuer_key = serialization.load_pem_private_key(issuer.private_key_pem.bytes(), None)
    issuer_cert = x509.load_pem_x509_certificate(issuer.cert_pem.bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aia leaf")]))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # Python 3.13's VERIFY_X509_STRICT (RFC 5280 profile) requires the key identifiers.
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(url),
                    )
                ]
            ),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def crl_revoking(ca: trustme.CA, leaf: trustme.LeafCert) -> bytes:
    """A PEM CRL from ``ca`` that revokes ``leaf``."""
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    serial = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).serial_number
    now = datetime.datetime.now(datetime.timezone.utc)
    revoked = (
        x509.RevokedCertificateBuilder()
        .serial_number(serial)
        .revocation_date(now - datetime.timedelta(hours=1))
        .build()
    )
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - datetime.timedelta(hours=1))
        .next_update(now + datetime.timedelta(days=7))
        .add_revoked_certificate(revoked)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return crl.public_bytes(serialization.Encoding.PEM)


def trickling_handler(interval: float, *, lasting: float = 30.0) -> Handler:
    """Reads the client's hello, then answers with the start of a TLS record, one byte every
    ``interval`` seconds (so a per-read socket timeout never fires), for ``lasting`` seconds
    or until the client leaves; then closes. A client without an overall deadline therefore
    ends late and with another verdict, instead of hanging the test."""

    def handle(conn: socket.socket) -> None:
        import time

        conn.recv(16384)
        record = b"\x16\x03\x03\x40\x00" + b"\x02" + b"\x00" * 0x3FFF
        for sent, byte in enumerate(record):
            if sent * interval >= lasting:
                return
            conn.sendall(bytes([byte]))
            time.sleep(interval)

    return handle


def first_then(first: Handler, rest: Handler, *, count: int = 1) -> Handler:
    """``first`` for the first ``count`` connections, ``rest`` for every later one."""
    lock = threading.Lock()
    seen = [0]

    def handle(conn: socket.socket) -> None:
        with lock:
            seen[0] += 1
            number = seen[0]
        (first if number <= count else rest)(conn)

    return handle


def crafted_leaf(
    issuer: trustme.CA,
    *,
    common_name: str,
    dns_names: list[str],
    ca_issuers_url: str | None = None,
) -> tuple[bytes, bytes]:
    """A leaf signed by ``issuer`` with exactly these names (any characters, as an attacker
    would write them) and optionally an AIA caIssuers URL; returns (cert PEM, key PEM)."""
    issuer_key = serialization.load_pem_private_key(issuer.private_key_pem.bytes(), None)
    issuer_cert = x509.load_pem_x509_certificate(issuer.cert_pem.bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]),
            critical=False,
        )
    )
    if ca_issuers_url is not None:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(ca_issuers_url),
                    )
                ]
            ),
            critical=False,
        )
    cert = builder.sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
