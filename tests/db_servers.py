"""Real PostgreSQL, MariaDB and Redis servers for the driver tests, TLS on 127.0.0.1 only.

Each server runs as an unprivileged process (as root the tests drop to ``nobody`` with
``setpriv``; PostgreSQL refuses root), in a temporary directory, on a free port, with
certificates from a trustme CA. Readiness is a bounded loop; the finalizer always stops it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import trustme

__all__ = ["Pki", "Server", "binary", "make_pki", "mariadb", "postgresql", "redis_server"]

HOST = "localhost"  # the name the server certificates are issued for
ADDRESS = "127.0.0.1"
_READY_TRIES = 300  # x 0.1 s: the bound on every readiness loop
POSTGRES_BIN = (
    "/usr/lib/postgresql/15/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/17/bin",
)


def binary(name: str, extra_dirs: Sequence[str] = ()) -> str | None:
    for directory in extra_dirs:
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")


@dataclass
class Pki:
    """A CA with a good, a wrong-host, an expired and a revoked server leaf; an EVIL CA's leaf;
    a client certificate (CN ``client``) with an encrypted key; a CRL revoking the revoked leaf."""

    directory: Path
    ca: trustme.CA
    ca_pem: str
    crl: str
    client_cert: str
    client_key: str  # encrypted with CLIENT_KEY_PASSWORD, mode 0600
    leaves: dict[str, tuple[str, str]]  # kind -> (cert chain path, key path)


CLIENT_KEY_PASSWORD = "client-key-secret"


def make_pki(directory: Path) -> Pki:
    import datetime

    from cryptography.hazmat.primitives import serialization

    from support.ca import signed_crl

    ca, evil = trustme.CA(), trustme.CA()
    directory.mkdir(parents=True, exist_ok=True)
    ca_pem = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    past = datetime.datetime(2020, 1, 1)
    leaves = {
        "good": ca.issue_cert(HOST, ADDRESS),
        "wrong_host": ca.issue_cert("other.example"),
        "expired": ca.issue_cert(HOST, ADDRESS, not_before=past.replace(year=2019), not_after=past),
        "revoked": ca.issue_cert(HOST, ADDRESS),
        "evil": evil.issue_cert(HOST, ADDRESS),
    }
    paths = {}
    for kind, leaf in leaves.items():
        cert, key = directory / f"{kind}.crt", directory / f"{kind}.key"
        cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        key.write_bytes(leaf.private_key_pem.bytes())
        os.chmod(key, 0o600)
        paths[kind] = (str(cert), str(key))
    crl = directory / "crl.pem"
    crl.write_bytes(signed_crl(ca, [leaves["revoked"]]))
    client = ca.issue_cert("client", common_name="client")
    client_cert = directory / "client.crt"
    client_cert.write_bytes(client.cert_chain_pems[0].bytes())
    key = serialization.load_pem_private_key(client.private_key_pem.bytes(), None)
    client_key = directory / "client.key"
    client_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(CLIENT_KEY_PASSWORD.encode()),
        )
    )
    os.chmod(client_key, 0o600)
    return Pki(directory, ca, str(ca_pem), str(crl), str(client_cert), str(client_key), paths)


# --- running a server as an unprivileged user --------------------------------------------------


def _drop() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]


def _give_away(path: Path) -> None:
    """The unprivileged server must own its directory and files (PostgreSQL checks the key)."""
    if os.geteuid() != 0:
        return
    import pwd

    nobody = pwd.getpwnam("nobody")
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), nobody.pw_uid, nobody.pw_gid)
    os.chown(path, nobody.pw_uid, nobody.pw_gid)


@contextlib.contextmanager
def _server_directory(name: str) -> Iterator[Path]:
    """A fresh directory straight under the temporary directory, removed afterwards.

    Not under pytest's tmp_path: pytest makes its root 0700 again whenever a session starts,
    which would lock the unprivileged server out of its own files.
    """
    directory = Path(tempfile.mkdtemp(prefix=f"trustresolve-{name}-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((ADDRESS, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def _start(argv: list[str], directory: Path, log_name: str) -> Server:
    log = directory / log_name
    handle = open(log, "wb")  # noqa: SIM115  (closed by _stop)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(directory), "LANG": "C"}
    process = subprocess.Popen(
        _drop() + argv, stdout=handle, stderr=subprocess.STDOUT, cwd=directory, env=env
    )
    handle.close()
    return Server(0, directory, process, log)


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def _wait_until(server: Server, ready: object) -> None:
    for _ in range(_READY_TRIES):
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{server.log_text()}")
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise RuntimeError(f"the server did not become ready:\n{server.log_text()}")


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((ADDRESS, port), timeout=1):
        return True
    return False


def _run(argv: list[str], directory: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(directory), "LANG": "C"}
    done = subprocess.run(
        _drop() + argv, cwd=directory, env=env, capture_output=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {done.stdout[-2000:]!r} {done.stderr[-2000:]!r}")


def _server_files(pki: Pki, directory: Path, kind: str) -> tuple[str, str, str, str]:
    """Copies the server may own: its certificate, key, the CA for clients and the CRL."""
    cert, key = pki.leaves[kind]
    names = []
    for source, name in ((cert, "server.crt"), (key, "server.key"), (pki.ca_pem, "clients-ca.pem")):
        target = directory / name
        shutil.copyfile(source, target)
        names.append(str(target))
    os.chmod(directory / "server.key", 0o600)
    crl = directory / "server-crl.pem"
    shutil.copyfile(pki.crl, crl)
    return names[0], names[1], names[2], str(crl)


# --- the servers -------------------------------------------------------------------------------


@contextlib.contextmanager
def redis_server(pki: Pki, *, kind: str = "good", auth_clients: bool = False) -> Iterator[Server]:
    with _server_directory("redis") as directory:
        yield from _redis(pki, directory, kind, auth_clients)


def _redis(pki: Pki, directory: Path, kind: str, auth_clients: bool) -> Iterator[Server]:
    executable = binary("redis-server")
    assert executable is not None
    directory.mkdir(parents=True, exist_ok=True)
    cert, key, clients_ca, _ = _server_files(pki, directory, kind)
    port = free_port()
    argv = [
        executable, "--port", "0", "--tls-port", str(port), "--bind", ADDRESS,
        "--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", clients_ca,
        "--tls-auth-clients", "yes" if auth_clients else "no",
        "--save", "", "--appendonly", "no", "--dir", str(directory),
    ]  # fmt: skip
    _give_away(directory)
    server = _start(argv, directory, "redis.log")
    server.port = port
    try:
        _wait_until(server, lambda: _accepts(port))
        yield server
    finally:
        _stop(server)


@contextlib.contextmanager
def postgresql(pki: Pki, *, kind: str = "good", tls: bool = True) -> Iterator[Server]:
    """PostgreSQL with TLS; ``postgres`` is trusted over TLS, ``client`` needs its certificate.

    ``tls=False``: ``ssl = off`` (it answers an SSLRequest with 'N'), ``postgres`` trusted in
    plain text."""
    with _server_directory("postgresql") as directory:
        yield from _postgresql(pki, directory, kind, tls)


def _postgresql(pki: Pki, directory: Path, kind: str, tls: bool) -> Iterator[Server]:
    initdb = binary("initdb", POSTGRES_BIN)
    postgres = binary("postgres", POSTGRES_BIN)
    assert initdb is not None and postgres is not None
    directory.mkdir(parents=True, exist_ok=True)
    cert, key, clients_ca, _crl = _server_files(pki, directory, kind)
    data = directory / "data"
    _give_away(directory)
    _run([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"], directory)
    port = free_port()
    (data / "pg_hba.conf").write_text(
        "local all all trust\n"
        + (
            f"hostssl all postgres {ADDRESS}/32 trust\nhostssl all client {ADDRESS}/32 cert\n"
            if tls
            else f"host all postgres {ADDRESS}/32 trust\n"
        )
    )
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(
            f"listen_addresses = '{ADDRESS}'\nport = {port}\n"
            f"unix_socket_directories = '{directory}'\nssl = {'on' if tls else 'off'}\n"
            f"ssl_cert_file = '{cert}'\nssl_key_file = '{key}'\nssl_ca_file = '{clients_ca}'\n"
            "fsync = off\nshared_buffers = 16MB\n"
        )
    _give_away(directory)
    server = _start([postgres, "-D", str(data)], directory, "postgres.log")
    server.port = port
    try:
        _wait_until(server, lambda: "ready to accept connections" in server.log_text())
        _run(
            [binary("psql", POSTGRES_BIN) or "psql", "-h", str(directory), "-p", str(port),
             "-U", "postgres", "-c", "CREATE ROLE client LOGIN"],
            directory,
        )  # fmt: skip
        yield server
    finally:
        _stop(server)


@contextlib.contextmanager
def mariadb(pki: Pki, *, kind: str = "good", tls: bool = True) -> Iterator[Server]:
    """MariaDB with TLS; ``app``/``app-pw`` over any TLS, ``x509`` needs a client certificate.

    ``tls=False``: ``--skip-ssl`` (its greeting has no CLIENT_SSL; have_ssl is DISABLED)."""
    with _server_directory("mariadb") as directory:
        yield from _mariadb(pki, directory, kind, tls)


def _mariadb(pki: Pki, directory: Path, kind: str, tls: bool) -> Iterator[Server]:
    install = binary("mariadb-install-db") or binary("mysql_install_db")
    mariadbd = binary("mariadbd") or binary("mysqld")
    assert install is not None and mariadbd is not None
    directory.mkdir(parents=True, exist_ok=True)
    cert, key, clients_ca, _ = _server_files(pki, directory, kind)
    data = directory / "data"
    _give_away(directory)
    _run(
        [install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
         "--skip-test-db"],
        directory,
    )  # fmt: skip
    port = free_port()
    sock = directory / "mysqld.sock"
    argv = [
        mariadbd, "--no-defaults", f"--datadir={data}", f"--port={port}",
        f"--bind-address={ADDRESS}", f"--socket={sock}", f"--pid-file={directory / 'pid'}",
        *([f"--ssl-cert={cert}", f"--ssl-key={key}", f"--ssl-ca={clients_ca}"] if tls
          else ["--skip-ssl"]),
        "--skip-name-resolve", "--innodb-buffer-pool-size=16M", "--skip-log-bin",
    ]  # fmt: skip
    _give_away(directory)
    server = _start(argv, directory, "mariadb.log")
    server.port = port
    try:
        _wait_until(server, lambda: sock.exists() and _accepts(port))
        import pymysql

        admin = pymysql.connect(unix_socket=str(sock), user="root", password="")
        with admin.cursor() as cursor:
            for statement in (
                "CREATE USER 'app'@'%' IDENTIFIED BY 'app-pw' REQUIRE SSL",
                "CREATE USER 'x509'@'%' IDENTIFIED BY 'x509-pw' REQUIRE X509",
            ):
                cursor.execute(statement)
        admin.close()
        yield server
    finally:
        _stop(server)
