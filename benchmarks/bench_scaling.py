"""Whole processes against store size: trustresolve next to plain ``ssl`` on the same bundle.

Run from the repository root::

    python benchmarks/bench_scaling.py [--rounds 5] [--sizes 150,1000,5000,20000]

For each size a bundle of that many CA certificates (RSA-2048, distinct subjects, about 1.1 KiB
of PEM each, so 20,000 of them are ~22 MiB: a large corporate store) is written to a temporary
directory. Each round starts fresh interpreters (``python -c``):

- ``ssl``: ``ssl.create_default_context(cafile=BUNDLE)``, what plain Python pays;
- ``trustresolve``: ``resolve()`` + ``create_default_context()`` + ``where()`` with
  ``SSL_CERT_FILE=BUNDLE``, with a warm private cache (the first, cold run is reported apart:
  it builds the hashed directory once).

Cases are interleaved round by round; medians of wall time and of peak RSS (the child's own
``ru_maxrss``) are printed with the trustresolve/ssl ratios. Everything is written under a
temporary directory that is removed at the end; nothing goes into the checkout.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")

_PLAIN = """
import json, resource, ssl, sys, time
start = time.perf_counter()
ssl.create_default_context(cafile=sys.argv[1])
elapsed = time.perf_counter() - start
print(json.dumps({"rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "in": elapsed}))
"""

_TRUSTRESOLVE = """
import json, resource, sys, time
start = time.perf_counter()
import trustresolve
resolution = trustresolve.resolve()
trustresolve.create_default_context()
path = trustresolve.where()
elapsed = time.perf_counter() - start
assert resolution.source.cert_count == int(sys.argv[2]), resolution.source.cert_count
print(json.dumps({"rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "in": elapsed}))
"""


def make_bundle(path: str, count: int) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    with open(path, "wb") as out:
        for index in range(count):
            subject = x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"Example Corp Issuing CA {index}"),
                ]
            )
            cert = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256())
            )
            out.write(cert.public_bytes(serialization.Encoding.PEM))


def run(code: str, env: dict[str, str], *args: str) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, int(report["rss"])


def measure(work: str, count: int, rounds: int) -> dict[str, float]:
    bundle = os.path.join(work, f"bundle-{count}.pem")
    make_bundle(bundle, count)
    cache = os.path.join(work, f"cache-{count}")
    os.mkdir(cache, 0o700)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SSL_CERT_", "TRUSTRESOLVE"))}
    plain_env = dict(base)
    tr_env = {
        **base,
        "PYTHONPATH": SRC,
        "SSL_CERT_FILE": bundle,
        "TRUSTRESOLVE_CACHE_DIR": cache,
    }
    cold, _ = run(_TRUSTRESOLVE, tr_env, bundle, str(count))
    plain: list[tuple[float, int]] = []
    ours: list[tuple[float, int]] = []
    for _ in range(rounds):
        plain.append(run(_PLAIN, plain_env, bundle))
        ours.append(run(_TRUSTRESOLVE, tr_env, bundle, str(count)))
    return {
        "size_mib": os.path.getsize(bundle) / (1024 * 1024),
        "ssl_s": statistics.median(w for w, _ in plain),
        "tr_s": statistics.median(w for w, _ in ours),
        "tr_cold_s": cold,
        "ssl_rss_mib": statistics.median(r for _, r in plain) / 1024,
        "tr_rss_mib": statistics.median(r for _, r in ours) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="150,1000,5000,20000")
    options = parser.parse_args()
    sizes = [int(part) for part in options.sizes.split(",") if part]
    work = tempfile.mkdtemp(prefix="trustresolve-bench-scaling-")
    try:
        header = (
            f"{'certs':>6} {'MiB':>6} {'ssl s':>7} {'tr s':>7} {'ratio':>6} "
            f"{'tr cold s':>9} {'ssl RSS':>8} {'tr RSS':>8} {'ratio':>6}"
        )
        print(f"python {sys.version.split()[0]}, {options.rounds} rounds, medians")
        print(header)
        for count in sizes:
            m = measure(work, count, options.rounds)
            print(
                f"{count:>6} {m['size_mib']:>6.1f} {m['ssl_s']:>7.3f} {m['tr_s']:>7.3f} "
                f"{m['tr_s'] / m['ssl_s']:>6.2f} {m['tr_cold_s']:>9.3f} "
                f"{m['ssl_rss_mib']:>7.1f}M {m['tr_rss_mib']:>7.1f}M "
                f"{m['tr_rss_mib'] / m['ssl_rss_mib']:>6.2f}",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
