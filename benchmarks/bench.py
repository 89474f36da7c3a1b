"""What a user's program pays for trust: whole processes, cold and warm, and the steady state.

Run from anywhere (see benchmarks/README.md)::

    python benchmarks/bench.py --quick          # < 2 minutes
    python benchmarks/bench.py                  # the full run (several minutes)
    python benchmarks/bench.py --rst            # the tables as RST, for docs/performance.rst

Every whole-process case is a fresh ``python -c`` interpreter that does what a short script
does, first use included: import, build a context, one verified handshake with a loopback
server (or one HTTPS GET), exit. Cases run side by side, rounds interleaved in a new random
order each round, so background load hits them alike; medians, ranges and ratios of medians
are printed, then the targets with pass/FAIL (exit status 1 if one fails).

- **warm**: the user's cache was filled by an earlier run (any run after the first);
- **cold**: an empty ``HOME`` every round, so the default cache location (platformdirs under
  ``HOME``) is empty: the first run ever. ``TRUSTRESOLVE_CACHE_DIR`` is never set;
- **in process**: the steady state of a long-running program, a new context (or client) per
  iteration after a first, untimed use.

Nothing is written outside a temporary directory unless ``--json PATH`` or ``--plot PATH``
says where.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# Nothing written into the checkout (benchmarks/README.md): not even _world's byte code.
sys.dont_write_bytecode = True

from _world import (  # noqa: E402 - after the line above
    ROOT,
    Store,
    Summary,
    World,
    bundle_store,
    generated_store,
    hook_venvs,
    loopback_server,
    make_world,
    run_process,
    server_context,
    system_store,
)

# --- what each case runs (the same text in a fresh process and in process) ---------------------

HANDSHAKE = (
    "import os, socket\n"
    "sock = socket.create_connection(('127.0.0.1', int(os.environ['BENCH_PORT'])))\n"
    "ctx.wrap_socket(sock, server_hostname=os.environ['BENCH_HOST']).close()\n"
)
CONTEXTS = {
    "stdlib": "import ssl\nctx = ssl.create_default_context()\n",
    "certifi": (
        "import os, ssl\nctx = ssl.create_default_context(cafile=os.environ['BENCH_CERTIFI'])\n"
    ),
    "truststore": "import ssl, truststore\nctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n",
    "trustresolve": "import trustresolve\nctx = trustresolve.create_default_context()\n",
    "one-CA floor": (
        "import os, ssl\nctx = ssl.create_default_context(cafile=os.environ['BENCH_CA'])\n"
    ),
}
CLIENTS = {
    "requests": (
        "import os, requests\n"
        "requests.get(os.environ['BENCH_URL'], timeout=30).raise_for_status()\n"
    ),
    "requests, verify=where_dir()": (
        "import os, requests, trustresolve\n"
        "requests.get(os.environ['BENCH_URL'], verify=trustresolve.where_dir(), timeout=30)"
        ".raise_for_status()\n"
    ),
    "httpx": (
        "import os, httpx\n"
        "with httpx.Client() as client:\n"
        "    client.get(os.environ['BENCH_URL']).raise_for_status()\n"
    ),
    "httpx, verify=create_default_context()": (
        "import os, httpx, trustresolve\n"
        "with httpx.Client(verify=trustresolve.create_default_context()) as client:\n"
        "    client.get(os.environ['BENCH_URL']).raise_for_status()\n"
    ),
}
WHERE = {
    "certifi.where()": "import certifi\ncertifi.where()\n",
    "trustresolve.where()": "import trustresolve\ntrustresolve.where()\n",
}


# --- cases -------------------------------------------------------------------------------------


@dataclass
class Case:
    """One thing a process does, in ``store`` with the cache in ``home`` ("cold": a new one)."""

    section: str
    name: str
    argv: list[str]
    store: Store | None = None
    home: str = "warm"
    extra: dict[str, str] = field(default_factory=dict)
    max_rounds: int | None = None
    prime: bool = True  # run once untimed first: fills a warm cache, compiles the byte code
    samples: list[float] = field(default_factory=list)


@dataclass
class Section:
    title: str
    reference: str  # the case the ratios divide by
    note: str = ""


SECTIONS: dict[str, Section] = {}


def _section(key: str, title: str, reference: str, note: str = "") -> str:
    SECTIONS[key] = Section(title, reference, note)
    return key


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def runnable(programs: dict[str, str]) -> dict[str, str]:
    """The programs whose imports this interpreter has (truststore needs Python 3.10)."""
    import importlib.util

    def has_all(code: str) -> bool:
        lines = [line[len("import ") :] for line in code.splitlines() if line.startswith("import ")]
        names = {name.strip() for line in lines for name in line.split(",")}
        return all(importlib.util.find_spec(name) is not None for name in names)

    return {name: code for name, code in programs.items() if has_all(code)}


def process_cases(stores: dict[str, Store], hook: tuple[str, str] | None) -> list[Case]:
    start = _section("start", "Interpreter start (whole process)", "python -c pass")
    cases = [Case(start, "python -c pass", _python("pass"))]
    for store in (stores["system"], stores["bundle"]):
        label = "bundle + hashed dir" if store.name == "system" else "bundle only"
        key = _section(
            f"process-{store.name}",
            f"New context + verified handshake, whole process, {label} ({store.count} roots)",
            "stdlib",
            "warm unless marked cold",
        )
        for name, code in runnable(CONTEXTS).items():
            cases.append(Case(key, name, _python(code + HANDSHAKE), store))
        cold = _python(CONTEXTS["trustresolve"] + HANDSHAKE)
        cases.append(Case(key, "trustresolve, cold", cold, store, home="cold"))
    cases += disk_control_cases(stores["bundle"])
    machine = _section(
        "process-machine",
        "New context only, whole process, the machine's own store (no variable set)",
        "stdlib",
    )
    for name in ("stdlib", "trustresolve", "one-CA floor"):
        cases.append(Case(machine, name, _python(CONTEXTS[name])))
    cold = _python(CONTEXTS["trustresolve"])
    cases.append(Case(machine, "trustresolve, cold", cold, home="cold"))
    where = _section(
        "where",
        "where() against certifi.where(), whole process, machine's store",
        "certifi.where()",
    )
    cases += [Case(where, name, _python(code)) for name, code in WHERE.items()]
    if hook is not None:
        key = _section(
            "hook",
            "Start-up hook: python -c pass in a venv, compiled-in defaults missing",
            "without the hook",
        )
        cases.append(Case(key, "without the hook", [hook[0], "-c", "pass"]))
        cases.append(Case(key, "with the hook", [hook[1], "-c", "pass"]))
    clients = _section(
        "process-clients",
        "One HTTPS GET, whole process, bundle only (certifi's roots + test CA)",
        "requests",
        "REQUESTS_CA_BUNDLE and SSL_CERT_FILE name the bundle, so the defaults load what they "
        "load by default plus the test CA",
    )
    extra = _requests_env(stores)
    for name, code in runnable(CLIENTS).items():
        cases.append(Case(clients, name, _python(code), stores["bundle"], extra=extra))
    return cases


# One file per root in a new directory under a new HOME, as a cold cache's hashed directory
# is written (os.open O_EXCL, os.write, os.close), without trustresolve: what the disk alone
# charges a cold case at that moment. On a virtual disk, blocks never written before cost
# several times more to allocate than reused ones: the same 118 files took 11.5-12.4 ms in
# one directory and 1.0-2.0 ms there twenty minutes later, on one machine (docs/performance.rst).
DISK_CONTROL = (
    "import os\n"
    "entry = os.path.join(os.environ['HOME'], '.cache', 'disk-control', 'entry')\n"
    "os.makedirs(entry, mode=0o700)\n"
    "for index in range({count}):\n"
    "    path = os.path.join(entry, f'{{index:08x}}.0')\n"
    "    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)\n"
    "    os.write(fd, b'x' * {size})\n"
    "    os.close(fd)\n"
)


def disk_control_cases(store: Store) -> list[Case]:
    """The disk's share of a cold bundle-only case: its files, written by plain code."""
    count, size = store.count, store.pem_bytes // max(store.count, 1)
    key = _section(
        "disk",
        f"Disk control: {count} new {size}-byte files in a new cache directory, cold HOME "
        "(no trustresolve)",
        "a new directory only",
        "the difference of the two is what the disk charges a cold bundle-only case now",
    )
    return [
        Case(
            key,
            "a new directory only",
            _python(DISK_CONTROL.format(count=0, size=size)),
            home="cold",
        ),
        Case(
            key,
            f"a new directory + {count} files",
            _python(DISK_CONTROL.format(count=count, size=size)),
            home="cold",
        ),
    ]


def _requests_env(stores: dict[str, Store]) -> dict[str, str]:
    return {"REQUESTS_CA_BUNDLE": stores["bundle"].variables["SSL_CERT_FILE"]}


def scaling_cases(world: World, sizes: list[int], rounds: int) -> list[Case]:
    cases = []
    stdlib = _python(CONTEXTS["stdlib"] + HANDSHAKE)
    ours = _python(CONTEXTS["trustresolve"] + HANDSHAKE)
    for size in sizes:
        store = generated_store(world.work, size, world.ca.cert_pem.bytes().decode("ascii"))
        key = _section(
            f"scale-{size}",
            f"New context + verified handshake, whole process, {store.name} (SSL_CERT_FILE)",
            "stdlib",
        )
        # OpenSSL 3.0 takes seconds at 5,000 and minutes at 20,000 certificates.
        few = rounds if size < 5000 else 3 if size < 20000 else 1
        cases.append(Case(key, "stdlib", stdlib, store, max_rounds=few, prime=size < 5000))
        cases.append(Case(key, "trustresolve", ours, store, max_rounds=few))
        cases.append(Case(key, "trustresolve, cold", ours, store, home="cold", max_rounds=few))
    return cases


def run_rounds(cases: list[Case], rounds: int, world: World, seed: int, prime: bool = True) -> None:
    """Prime every warm case once (untimed), then ``rounds`` rounds in a new order each."""
    for case in cases:
        if prime and case.prime and case.home != "cold":
            run_process(case.argv, world.env(case.store, case.home, **case.extra), world.work)
    order = random.Random(seed)
    for number in range(rounds):
        due = [c for c in cases if c.max_rounds is None or number < c.max_rounds]
        order.shuffle(due)
        for case in due:
            case.samples.append(
                run_process(case.argv, world.env(case.store, case.home, **case.extra), world.work)
            )
        print(f"  round {number + 1}/{rounds}", file=sys.stderr, flush=True)


# --- in process ----------------------------------------------------------------------------------


def in_process_programs(with_clients: bool) -> dict[str, str]:
    programs = {f"{name}, context + handshake": code + HANDSHAKE for name, code in CONTEXTS.items()}
    programs.update({f"{name}, context only": code for name, code in CONTEXTS.items()})
    if with_clients:
        programs.update(CLIENTS)
    return runnable(programs)


def worker(programs: dict[str, str], rounds: int, seed: int) -> dict[str, list[float]]:
    """Run in a child: each program once untimed (first use), then ``rounds`` interleaved."""
    compiled = {name: compile(code, name, "exec") for name, code in programs.items()}
    for code in compiled.values():
        exec(code, {})
    samples: dict[str, list[float]] = {name: [] for name in compiled}
    names = list(compiled)
    order = random.Random(seed)
    for _ in range(rounds):
        order.shuffle(names)
        for name in names:
            namespace: dict[str, object] = {}
            start = time.perf_counter()
            exec(compiled[name], namespace)
            samples[name].append(time.perf_counter() - start)
    return samples


def in_process(world: World, stores: dict[str, Store], rounds: int, seed: int) -> list[Case]:
    cases = []
    for store in (stores["system"], stores["bundle"]):
        key = _section(
            f"inprocess-{store.name}",
            f"In process (steady state), {store.name} store ({store.count} roots)",
            "stdlib, context + handshake",
        )
        programs = in_process_programs(with_clients=store.name == "bundle")
        request = json.dumps({"programs": programs, "rounds": rounds, "seed": seed})
        env = world.env(store, **_requests_env(stores))
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker"],
            input=request,
            capture_output=True,
            text=True,
            env=env,
            cwd=world.work,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"the in-process worker failed:\n{done.stderr}")
        for name, samples in json.loads(done.stdout).items():
            case = Case(key, name, [])
            case.samples = samples
            cases.append(case)
    return cases


# --- targets and report --------------------------------------------------------------------------


@dataclass
class Target:
    label: str
    value: float
    limit: float
    unit: str  # "x" (ratio of medians) or "ms" (difference of medians)
    strict: bool = False  # below the limit, not at it

    @property
    def ok(self) -> bool:
        return self.value < self.limit if self.strict else self.value <= self.limit

    def shown(self) -> str:
        sign = "<" if self.strict else "<="
        value = f"{self.value:.2f}x" if self.unit == "x" else f"{self.value:+.2f} ms"
        limit = f"{self.limit:.2f}x" if self.unit == "x" else f"{self.limit:.0f} ms"
        return f"{value} ({sign} {limit})"


def medians(cases: list[Case]) -> dict[tuple[str, str], float]:
    return {(c.section, c.name): Summary.of(c.samples).median_ms for c in cases if c.samples}


def targets(found: dict[tuple[str, str], float]) -> list[Target]:
    def ratio(
        label: str, section: str, case: str, reference: str, limit: float, strict: bool = False
    ) -> None:
        if (section, case) in found and (section, reference) in found:
            value = found[section, case] / found[section, reference]
            made.append(Target(label, value, limit, "x", strict))

    made: list[Target] = []
    for store, label in (("system", "bundle + hashed dir"), ("bundle", "bundle only")):
        key = f"process-{store}"
        ratio(f"warm context + handshake / stdlib, {label}", key, "trustresolve", "stdlib", 0.75)
        ratio(
            f"warm context + handshake / one-CA floor, {label}",
            key,
            "trustresolve",
            "one-CA floor",
            1.25,
        )
        ratio(
            f"cold context + handshake / stdlib, {label}", key, "trustresolve, cold", "stdlib", 1.0
        )
    ratio(
        "warm context only / stdlib, the machine's store",
        "process-machine",
        "trustresolve",
        "stdlib",
        0.75,
    )
    ratio(
        "cold context only / stdlib, the machine's store",
        "process-machine",
        "trustresolve, cold",
        "stdlib",
        1.0,
    )
    ratio("where() / certifi.where()", "where", "trustresolve.where()", "certifi.where()", 1.15)
    if ("hook", "with the hook") in found:
        extra = found["hook", "with the hook"] - found["hook", "without the hook"]
        made.append(Target("start-up hook, per interpreter start", extra, 3.0, "ms"))
    for mode in ("process", "inprocess"):
        key = f"{mode}-clients" if mode == "process" else "inprocess-bundle"
        where = "whole process" if mode == "process" else "in process"
        ratio(
            f"requests, verify=where_dir() / requests, {where}",
            key,
            "requests, verify=where_dir()",
            "requests",
            1.0,
            True,
        )
        ratio(
            f"httpx, verify=create_default_context() / httpx, {where}",
            key,
            "httpx, verify=create_default_context()",
            "httpx",
            1.0,
            True,
        )
    return made


def rows(cases: list[Case], section: str) -> list[list[str]]:
    mine = [c for c in cases if c.section == section and c.samples]
    reference = next((c for c in mine if c.name == SECTIONS[section].reference), None)
    base = Summary.of(reference.samples).median_ms if reference else None
    table = []
    for case in mine:
        summary = Summary.of(case.samples)
        ratio = f"{summary.median_ms / base:.2f}x" if base else ""
        table.append(
            [
                case.name,
                _ms(summary.median_ms),
                f"{_ms(summary.low_ms)}-{_ms(summary.high_ms)} ({summary.spread}, n={summary.n})",
                ratio,
            ]
        )
    return table


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


HEADER = ["case", "median ms", "range ms", "ratio"]


def print_text(cases: list[Case], made: list[Target]) -> None:
    for key, section in SECTIONS.items():
        table = rows(cases, key)
        if not table:
            continue
        print(f"\n{section.title}" + (f" [{section.note}]" if section.note else ""))
        widths = [max(len(str(row[i])) for row in [HEADER, *table]) for i in range(len(HEADER))]
        for row in [HEADER, *table]:
            print("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
    print("\nTargets (ratios of medians, whole processes unless marked):")
    for target in made:
        print(f"  {'pass' if target.ok else 'FAIL'}  {target.label}: {target.shown()}")


def print_rst(cases: list[Case], made: list[Target]) -> None:
    def table(title: str, header: list[str], body: list[list[str]]) -> None:
        print(f"\n.. csv-table:: {title}\n   :header: {_csv(header)}\n")
        for row in body:
            print(f"   {_csv(row)}")

    for key, section in SECTIONS.items():
        body = rows(cases, key)
        if body:
            table(section.title, HEADER, body)
    verdicts = [[t.label, t.shown(), "pass" if t.ok else "FAIL"] for t in made]
    table("Targets", ["target", "measured", "verdict"], verdicts)


def _csv(row: list[str]) -> str:
    return ", ".join('"' + cell.replace('"', '""') + '"' for cell in row)


def machine() -> dict[str, str]:
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--abbrev=12"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    return {
        "commit": commit or "unknown",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "openssl": ssl.OPENSSL_VERSION,
        "platform": platform.platform(),
        "cpus": str(os.cpu_count()),
        "load average": " ".join(f"{x:.2f}" for x in load),
    }


def plot(cases: list[Case], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("--plot needs matplotlib (pip install matplotlib)") from None
    keys = ["process-system", "process-bundle", "process-machine", "process-clients"]
    fig, axes = plt.subplots(len(keys), 1, figsize=(9, 2.2 * len(keys)))
    for axis, key in zip(axes, keys):
        mine = [c for c in cases if c.section == key and c.samples]
        axis.barh([c.name for c in mine], [Summary.of(c.samples).median_ms for c in mine])
        axis.set_title(SECTIONS[key].title, fontsize=8)
        axis.invert_yaxis()
        axis.tick_params(labelsize=7)
    axes[-1].set_xlabel("median ms, whole process")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# --- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="few rounds, small stores (< 2 min)")
    parser.add_argument("--rounds", type=int, help="whole-process rounds (full 30, quick 5)")
    parser.add_argument("--inprocess", type=int, help="in-process iterations (full 200, quick 30)")
    parser.add_argument(
        "--sizes", help="store sizes to scale to (full 150,1000,5000,20000; quick 150,1000)"
    )
    parser.add_argument("--no-hook", action="store_true", help="skip the start-up hook case")
    parser.add_argument(
        "--scaling-only", action="store_true", help="only the store sizes (--sizes)"
    )
    parser.add_argument(
        "--no-prime",
        action="store_true",
        help="no untimed first run (a smoke test: the first round's warm cases are then cold)",
    )
    parser.add_argument("--seed", type=int, default=1, help="the order of the cases in each round")
    parser.add_argument("--json", metavar="PATH", help="write every sample and target here")
    parser.add_argument("--plot", metavar="PATH", help="write a bar chart here (needs matplotlib)")
    parser.add_argument("--rst", action="store_true", help="print the tables as RST list-tables")
    parser.add_argument(
        "--from-json",
        metavar="PATH",
        action="append",
        help="print runs saved with --json again, as one (repeat it to join runs)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        request = json.load(sys.stdin)
        json.dump(worker(request["programs"], request["rounds"], request["seed"]), sys.stdout)
        return 0
    if args.from_json:
        runs = [load_run(path) for path in args.from_json]
        return report(runs[0][0], [case for _, cases in runs for case in cases], args)
    rounds = args.rounds or (5 if args.quick else 30)
    iterations = args.inprocess or (30 if args.quick else 200)
    sizes = [
        int(s)
        for s in (args.sizes or ("150,1000" if args.quick else "150,1000,5000,20000")).split(",")
        if s
    ]
    about = machine()
    print("  ".join(f"{k}: {v}" for k, v in about.items()), file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="trustresolve-bench-") as temporary:
        work = Path(temporary)
        world = make_world(work)
        ca_pem = world.ca.cert_pem.bytes().decode("ascii")
        stores = {"system": system_store(work, ca_pem), "bundle": bundle_store(work, ca_pem)}
        world.files["BENCH_CERTIFI"] = stores["bundle"].variables["SSL_CERT_FILE"]
        hook = None if args.no_hook or args.scaling_only else hook_venvs(work, _site_packages())
        with loopback_server(server_context(world)) as port:
            world.port = port
            cases: list[Case] = []
            if not args.scaling_only:
                cases = process_cases(stores, hook)
                print(f"whole processes: {len(cases)} cases x {rounds} rounds", file=sys.stderr)
                run_rounds(cases, rounds, world, args.seed, not args.no_prime)
                print(f"in process: {iterations} iterations per case", file=sys.stderr)
                cases += in_process(world, stores, iterations, args.seed)
            few = max(3, rounds // 3)
            scaling = scaling_cases(world, sizes, few)
            print(f"store sizes {sizes}", file=sys.stderr)
            run_rounds(scaling, few, world, args.seed, not args.no_prime)
            cases += scaling
    print("\n" + "  ".join(f"{k}: {v}" for k, v in about.items()))
    given = " ".join(argv if argv is not None else sys.argv[1:])
    print(f"command: python benchmarks/bench.py {given}")
    return report(about, cases, args)


def report(about: dict[str, str], cases: list[Case], args: argparse.Namespace) -> int:
    made = targets(medians(cases))
    (print_rst if args.rst else print_text)(cases, made)
    if args.json:
        document = {
            "machine": about,
            "sections": {k: vars(s) for k, s in SECTIONS.items()},
            "cases": [{"section": c.section, "name": c.name, "seconds": c.samples} for c in cases],
            "targets": [vars(t) | {"ok": t.ok} for t in made],
        }
        Path(args.json).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    if args.plot:
        plot(cases, args.plot)
    return 0 if all(t.ok for t in made) else 1


def load_run(path: str) -> tuple[dict[str, str], list[Case]]:
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    SECTIONS.update({key: Section(**value) for key, value in document["sections"].items()})
    cases = []
    for saved in document["cases"]:
        case = Case(saved["section"], saved["name"], [])
        case.samples = saved["seconds"]
        cases.append(case)
    print("  ".join(f"{k}: {v}" for k, v in document["machine"].items()))
    return document["machine"], cases


def _site_packages() -> str:
    import sysconfig

    return sysconfig.get_paths()["purelib"]


if __name__ == "__main__":
    sys.exit(main())
