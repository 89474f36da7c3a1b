"""What the benchmark measures against: a loopback server, temporary stores, homes and venvs.

Nothing here writes outside the temporary directory it is given: stores, caches (through a
temporary ``HOME``, the real default location), byte code (``PYTHONPYCACHEPREFIX``) and the
start-up hook's venvs all live there.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import certifi
import trustme

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
HOST = "bench.trustresolve.test"
# Every variable a child could inherit that steers trust or Python: the children start clean.
_KEPT = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP")


# --- the loopback server -------------------------------------------------------------------------


def _answer(tls: ssl.SSLSocket) -> None:
    """Answer each HTTP request with ``200 ok``; a bare handshake just closes."""
    buffer = b""
    while True:
        chunk = tls.recv(4096)
        if not chunk:
            return
        buffer += chunk
        while b"\r\n\r\n" in buffer:
            _, buffer = buffer.split(b"\r\n\r\n", 1)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


@contextlib.contextmanager
def loopback_server(context: ssl.SSLContext) -> Iterator[int]:
    """HTTPS on 127.0.0.1 until the block ends; yields the port."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    listener.settimeout(0.2)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(30)
            with context.wrap_socket(conn, server_side=True) as tls:
                _answer(tls)

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()


# --- stores ----------------------------------------------------------------------------------


def system_bundle() -> str:
    """The machine's own bundle (OpenSSL's default file), else certifi's."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.openssl_cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and os.path.isfile(candidate):
            return candidate
    return certifi.where()


def pem_blocks(text: str) -> list[str]:
    end = "-----END CERTIFICATE-----"
    return [block.strip() + f"\n{end}\n" for block in text.split(end)[:-1]]


def rehash(directory: Path, blocks: Sequence[str]) -> None:
    """One file per certificate, then OpenSSL's own hashed names (as Debian's /etc/ssl/certs)."""
    for index, block in enumerate(blocks):
        (directory / f"cert{index:05d}.pem").write_text(block)
    if shutil.which("openssl"):
        subprocess.run(["openssl", "rehash", str(directory)], check=True, capture_output=True)
        return
    sys.path.insert(0, str(SRC))
    from trustresolve._x509.subject_hash import subject_hash

    counts: dict[str, int] = {}
    for index, block in enumerate(blocks):
        prefix = subject_hash(ssl.PEM_cert_to_DER_cert(block))
        number = counts.get(prefix, 0)
        counts[prefix] = number + 1
        os.symlink(f"cert{index:05d}.pem", directory / f"{prefix}.{number}")


@dataclass
class Store:
    """A store as a user selects it: variables, and what the stdlib would load from it."""

    name: str
    variables: dict[str, str]
    count: int
    pem_bytes: int = 0  # the size of its bundle


def system_store(work: Path, ca_pem: str) -> Store:
    """A copy of the machine's bundle plus the test CA, and its rehashed directory."""
    certs = work / "system" / "certs"
    certs.mkdir(parents=True)
    text = Path(system_bundle()).read_text(encoding="ascii") + ca_pem
    bundle = certs / "ca-certificates.crt"
    bundle.write_text(text, encoding="ascii")
    blocks = pem_blocks(text)
    rehash(certs, blocks)
    return Store("system", {"SSL_CERT_FILE": str(bundle), "SSL_CERT_DIR": str(certs)}, len(blocks))


def bundle_store(work: Path, ca_pem: str) -> Store:
    """certifi's roots plus the test CA in one file, no directory (RHEL, Alpine, distroless)."""
    (work / "bundle").mkdir()
    path = work / "bundle" / "cacert.pem"
    text = Path(certifi.where()).read_text(encoding="ascii") + ca_pem
    path.write_text(text, encoding="ascii")
    return Store("bundle", {"SSL_CERT_FILE": str(path)}, len(pem_blocks(text)), len(text))


def generated_store(work: Path, count: int, ca_pem: str) -> Store:
    """``count`` RSA-2048 CA certificates (one key, distinct names) plus the test CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    path = work / f"generated-{count}.pem"
    with path.open("w", encoding="ascii") as out:
        for index in range(count):
            name = x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"Example Corp Issuing CA {index}"),
                ]
            )
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256())
            )
            out.write(cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))
        out.write(ca_pem)
    return Store(f"{count:,} certificates", {"SSL_CERT_FILE": str(path)}, count + 1)


# --- the machine the children see ----------------------------------------------------------------


@dataclass
class World:
    """The temporary directory, the test CA's files and the server's port."""

    work: Path
    ca: trustme.CA
    port: int = 0
    files: dict[str, str] = field(default_factory=dict)
    _homes: int = 0

    def home(self, name: str) -> str:
        """A home directory; ``cold`` names get a new, empty one every time (no cache yet)."""
        if name == "cold":
            self._homes += 1
            name = f"cold-{self._homes}"
        path = self.work / "homes" / name
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    def env(self, store: Store | None, home: str = "warm", **extra: str) -> dict[str, str]:
        """A clean environment: no trust variable but the store's, the cache in ``HOME``."""
        env = {name: os.environ[name] for name in _KEPT if name in os.environ}
        env.update(
            HOME=self.home(home),
            PYTHONPATH=str(SRC),  # this checkout, whatever the interpreter has installed
            PYTHONPYCACHEPREFIX=str(self.work / "pycache"),  # nothing written into the checkout
            BENCH_PORT=str(self.port),
            BENCH_HOST=HOST,
            BENCH_URL=f"https://127.0.0.1:{self.port}/",
            **self.files,
        )
        if store is not None:
            env.update(store.variables)
        env.update(extra)
        return env


def make_world(work: Path) -> World:
    ca = trustme.CA()
    ca_path = work / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return World(work, ca, files={"BENCH_CA": str(ca_path)})


def server_context(world: World) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    world.ca.issue_cert(HOST, "127.0.0.1").configure_cert(context)
    return context


# --- the start-up hook's venvs -----------------------------------------------------------------


def hook_venvs(work: Path, site_packages: str) -> tuple[str, str]:
    """(python without the hook, python with it), both fresh ``python -m venv`` interpreters.

    As tests/test_hook.py: the checkout's ``src`` and this interpreter's site-packages are plain
    path entries (their ``.pth`` files do not run), and the hook is installed with compiled-in
    defaults under a directory that does not exist, as a portable interpreter built with
    ``--openssldir=/opt/prefix/ssl`` records them: the case where the hook does its work.
    """
    pythons = []
    for name in ("without-hook", "with-hook"):
        home = work / "venvs" / name
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True)
        python = str(home / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
        site = subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        Path(site, "00-trustresolve-src.pth").write_text(f"{SRC}\n{site_packages}\n")
        if name == "with-hook":
            sys.path.insert(0, str(SRC))
            from trustresolve._cli.hook import install_hook

            missing = work / "opt" / "prefix" / "ssl"  # never created
            install_hook(site, defaults=(str(missing / "cert.pem"), str(missing / "certs")))
        pythons.append(python)
    return pythons[0], pythons[1]


# --- running and summarizing ---------------------------------------------------------------------


def run_process(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall time of a whole process, from start to exit, in seconds."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        returncode = subprocess.call(argv, env=env, cwd=cwd, stdout=errors, stderr=errors)
        seconds = time.perf_counter() - start
        if returncode != 0:
            errors.seek(0)
            text = errors.read().decode(errors="replace")
            raise SystemExit(f"a benchmark child failed: {argv[-1][:200]}\n{text}")
    return seconds


@dataclass(frozen=True)
class Summary:
    median_ms: float
    low_ms: float
    high_ms: float
    spread: str  # "p10-p90" or "min-max"
    n: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Summary:
        ms = sorted(value * 1000 for value in seconds)
        if len(ms) >= 10:
            deciles = statistics.quantiles(ms, n=10)
            return cls(statistics.median(ms), deciles[0], deciles[-1], "p10-p90", len(ms))
        return cls(statistics.median(ms), ms[0], ms[-1], "min-max", len(ms))
