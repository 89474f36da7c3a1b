"""New context + one verified loopback handshake: stdlib, certifi, truststore, trustresolve, floor.

Run from the repository root (see benchmarks/README.md)::

    python benchmarks/bench_handshake.py [--rounds 200] [--plot docs/_static/benchmark.png]

Two stores, each holding the system's (or certifi's) roots plus a test CA that signed the
loopback server's certificate, selected with SSL_CERT_FILE / SSL_CERT_DIR as a user would:

- "hashed dir": a copy of the system bundle plus the test CA, and its c_rehash'ed directory
  (what Debian's /etc/ssl/certs is);
- "bundle only": certifi's roots plus the test CA in one file, no directory (RHEL, Alpine base,
  distroless, a python.org build pointed at certifi).

Timings are medians of ``--rounds`` iterations in this process; the import comparison runs
fresh interpreters. Nothing here is an assertion: the targets are printed with the ratios.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import platform
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import certifi
import trustme

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))

import trustresolve  # noqa: E402
from trustresolve._tls import load as _load  # noqa: E402
from trustresolve._x509.subject_hash import subject_hash  # noqa: E402

HOST = "bench.trustresolve.test"


# --- loopback server -------------------------------------------------------------------------


@contextlib.contextmanager
def tls_server(context: ssl.SSLContext) -> Iterator[tuple[str, int]]:
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    listener.settimeout(0.2)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(10)
            with context.wrap_socket(conn, server_side=True) as tls, contextlib.suppress(OSError):
                tls.recv(1)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        stop.set()
        thread.join()
        listener.close()


def handshake(ctx: ssl.SSLContext, address: tuple[str, int]) -> None:
    sock = socket.create_connection(address, timeout=10)
    try:
        ctx.wrap_socket(sock, server_hostname=HOST).close()
    finally:
        sock.close()


# --- stores ------------------------------------------------------------------------------------


def system_bundle() -> str:
    paths = ssl.get_default_verify_paths()
    for candidate in (
        os.environ.get("SSL_CERT_FILE"),
        paths.cafile,
        paths.openssl_cafile,
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ):
        if candidate and os.path.isfile(candidate):
            return candidate
    return certifi.where()


def make_stores(work: Path, ca_pem: str) -> dict[str, dict[str, str]]:
    """Environment settings for the two stores, written under ``work``."""
    hashed = work / "hashed-store"
    certs = hashed / "certs"
    certs.mkdir(parents=True)
    system_text = Path(system_bundle()).read_text()
    bundle = certs / "ca-certificates.crt"
    bundle.write_text(system_text + ca_pem)
    blocks = [
        b + "-----END CERTIFICATE-----\n"
        for b in bundle.read_text().split("-----END CERTIFICATE-----")[:-1]
    ]
    for index, block in enumerate(blocks):
        (certs / f"cert{index:04d}.pem").write_text(block.strip() + "\n")
    if shutil.which("openssl"):
        subprocess.run(["openssl", "rehash", str(certs)], check=True, capture_output=True)
    else:  # name them ourselves (the test suite checks these names against openssl)
        import ssl as _ssl

        counts: dict[str, int] = {}
        for index in range(len(blocks)):
            pem = certs / f"cert{index:04d}.pem"
            prefix = subject_hash(_ssl.PEM_cert_to_DER_cert(pem.read_text()))
            number = counts.get(prefix, 0)
            counts[prefix] = number + 1
            os.symlink(pem.name, certs / f"{prefix}.{number}")
    only = work / "bundle-only"
    only.mkdir()
    (only / "cacert.pem").write_text(Path(certifi.where()).read_text() + ca_pem)
    return {
        "hashed dir": {"SSL_CERT_FILE": str(bundle), "SSL_CERT_DIR": str(certs)},
        # SSL_CERT_DIR unset: stdlib then also adds OpenSSL's compiled-in capath (lazily, so
        # at no cost); trustresolve uses SSL_CERT_FILE alone.
        "bundle only": {"SSL_CERT_FILE": str(only / "cacert.pem")},
    }


# --- measuring ---------------------------------------------------------------------------------


def medians_ms(funcs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median time of each function, the functions interleaved round by round.

    Interleaving makes background load (other processes, CPU frequency) hit every case alike,
    so the ratios stay meaningful on a busy machine even when absolute numbers drift.
    """
    for func in funcs.values():  # warm-up: first-use costs are measured separately
        func()
        func()
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(rounds):
        for name, func in funcs.items():
            start = time.perf_counter()
            func()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1000 for name, values in samples.items()}


def trustresolve_factory() -> tuple[Callable[[], ssl.SSLContext], str]:
    return trustresolve.create_default_context, "trustresolve.create_default_context()"


def import_times(repetitions: int) -> dict[str, float]:
    """Median wall time of fresh interpreters importing ssl / ssl + trustresolve (ms)."""
    # -S: no site-packages, so site .pth hooks do not blur the comparison; trustresolve's
    # import must not need any third-party package anyway (architecture §6).
    base = f"import sys; sys.path.insert(0, {str(SRC)!r}); "
    codes = {
        "python -S (nothing)": base,
        "import ssl": base + "import ssl",
        "import ssl, trustresolve": base + "import ssl, trustresolve",
    }
    out: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(repetitions):
        for name, code in codes.items():  # interleaved, so drift hits all alike
            start = time.perf_counter()
            subprocess.run([sys.executable, "-S", "-c", code], check=True)
            out[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1000 for name, values in out.items()}


def fresh_process_ms(env: dict[str, str], repetitions: int) -> dict[str, float]:
    """A whole short-lived program: start, build a context, one handshake-free exit (ms)."""
    codes = {
        "ssl.create_default_context()": "import ssl; ssl.create_default_context()",
        "trustresolve.create_default_context()": (
            f"import sys; sys.path.insert(0, {str(SRC)!r}); "
            "import trustresolve; trustresolve.create_default_context()"
        ),
    }
    full_env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_DIR"}
    full_env.update(env)
    out: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(repetitions):
        for name, code in codes.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=full_env)
            out[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1000 for name, values in out.items()}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}, {ssl.OPENSSL_VERSION}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=100, help="iterations of every case")
    parser.add_argument("--imports", type=int, default=40, help="fresh interpreters per import")
    parser.add_argument("--plot", default=str(ROOT / "docs" / "_static" / "benchmark.png"))
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "latest.json"))
    args = parser.parse_args(argv)
    # Fresh interpreters must find bytecode, as an installed package has it: otherwise
    # PYTHONDONTWRITEBYTECODE (set on some machines) makes every run compile trustresolve.
    compileall.compile_dir(str(SRC), quiet=1)

    ca = trustme.CA()
    ca_pem = ca.cert_pem.bytes().decode()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(HOST).configure_cert(server_ctx)

    try:
        import truststore
    except ImportError:
        truststore = None

    tr_create, tr_how = trustresolve_factory()
    print(f"machine: {machine()}")
    print(f"trustresolve context: {tr_how}")
    results: dict[str, dict[str, float]] = {}
    saved_env = {k: os.environ.get(k) for k in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    with tempfile.TemporaryDirectory() as tmp, tls_server(server_ctx) as address:
        work = Path(tmp)
        os.environ["TRUSTRESOLVE_CACHE_DIR"] = str(work / "cache")
        stores = make_stores(work, ca_pem)
        for store, env in stores.items():
            os.environ.pop("SSL_CERT_DIR", None)
            os.environ.update(env)
            _load._plans.clear()
            start = time.perf_counter()
            resolution = trustresolve.resolve(refresh=True)
            first_resolve = (time.perf_counter() - start) * 1000
            assert resolution.source is not None
            start = time.perf_counter()
            handshake(tr_create(), address)  # builds the cache entry on first use
            first = (time.perf_counter() - start) * 1000
            cafile = env["SSL_CERT_FILE"]
            certifi_plus_ca = stores["bundle only"]["SSL_CERT_FILE"]
            cases: dict[str, Callable[[], ssl.SSLContext]] = {
                "ssl.create_default_context()": ssl.create_default_context,
                "ssl.create_default_context(cafile=certifi+CA)": (
                    lambda path=certifi_plus_ca: ssl.create_default_context(cafile=path)
                ),
                "trustresolve": tr_create,
                "one-CA floor": lambda: ssl.create_default_context(cadata=ca_pem),
            }
            if truststore is not None:
                cases["truststore.SSLContext"] = lambda: truststore.SSLContext(
                    ssl.PROTOCOL_TLS_CLIENT
                )
            row: dict[str, float] = {}
            timed: dict[str, Callable[[], object]] = {}
            for name, factory in cases.items():
                timed[f"handshake: {name}"] = lambda f=factory: handshake(f(), address)
            for name, factory in cases.items():
                timed[f"context only: {name}"] = factory
            row.update(medians_ms(timed, args.rounds))
            row.update(
                medians_ms(
                    {
                        "resolve() cold": lambda: trustresolve.resolve(refresh=True),
                        "resolve() warm": trustresolve.resolve,
                    },
                    args.rounds,
                )
            )
            row["trustresolve first handshake, empty cache"] = first
            row["first resolve() in process"] = first_resolve
            fresh = fresh_process_ms(env, max(5, args.imports // 4))
            for name, value in fresh.items():
                row[f"fresh process: {name}"] = value
            results[store] = row
            print(
                f"\n== {store}: {cafile} ({resolution.source.backend}, "
                f"{resolution.source.cert_count} certificates) =="
            )
            for name, value in row.items():
                print(f"  {name:<62} {value:9.3f} ms")
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    imports = import_times(args.imports)
    print("\n== import (fresh interpreters, python -S, median) ==")
    for name, value in imports.items():
        print(f"  {name:<62} {value:9.3f} ms")

    print("\n== ratios (targets in brackets) ==")
    verdicts = []

    def ratio(label: str, value: float, target: str, ok: bool) -> None:
        verdicts.append(ok)
        print(f"  {label:<70} {value:7.2f}  [{target}] {'ok' if ok else 'MISSED'}")

    for store, row in results.items():
        tr = row["handshake: trustresolve"]
        std = row["handshake: ssl.create_default_context()"]
        floor = row["handshake: one-CA floor"]
        ratio(f"{store}: stdlib / trustresolve", std / tr, ">= 10", std / tr >= 10)
        ratio(f"{store}: trustresolve / one-CA floor", tr / floor, "<= 1.3", tr / floor <= 1.3)
        if "handshake: truststore.SSLContext" in row:
            ts = row["handshake: truststore.SSLContext"]
            ratio(f"{store}: truststore / trustresolve", ts / tr, ">= 10", ts / tr >= 10)
    added = imports["import ssl, trustresolve"] / imports["import ssl"]
    ratio("import ssl+trustresolve / import ssl", added, "<= 1.20", added <= 1.2)
    base = imports["python -S (nothing)"]
    net = (imports["import ssl, trustresolve"] - base) / max(imports["import ssl"] - base, 1e-9)
    print(f"  {'  (net of interpreter start-up: ssl+trustresolve / ssl)':<70} {net:7.2f}")

    payload = {"machine": machine(), "trustresolve": tr_how, "stores": results, "imports": imports}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(payload, indent=2))
    plot(results, imports, Path(args.plot))
    print(f"\nplot: {args.plot}\njson: {args.json}")
    return 0 if all(verdicts) else 1


def plot(results: dict[str, dict[str, float]], imports: dict[str, float], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return
    names = [
        "ssl.create_default_context()",
        "ssl.create_default_context(cafile=certifi+CA)",
        "truststore.SSLContext",
        "trustresolve",
        "one-CA floor",
    ]
    fig, axes = plt.subplots(1, len(results), figsize=(13, 5.2), sharey=True)
    for ax, (store, row) in zip(axes, results.items()):
        shown = [n for n in names if f"handshake: {n}" in row]
        hand = [row[f"handshake: {n}"] for n in shown]
        ctx = [row[f"context only: {n}"] for n in shown]
        ys = range(len(shown))
        ax.barh([y + 0.2 for y in ys], hand, height=0.4, label="new context + handshake")
        ax.barh([y - 0.2 for y in ys], ctx, height=0.4, label="new context only")
        for y, value in zip(ys, hand):
            ax.text(value * 1.05, y + 0.2, f"{value:.2f} ms", va="center", fontsize=8)
        ax.set_yticks(list(ys))
        ax.set_yticklabels(shown, fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("median ms (log scale)")
        ax.set_title(store)
        ax.invert_yaxis()
    axes[0].legend(loc="lower right", fontsize=8)
    imp = imports["import ssl, trustresolve"] / imports["import ssl"]
    fig.suptitle(
        f"trustresolve benchmark — {machine()}\nimport ssl+trustresolve / import ssl = {imp:.2f}",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
