"""Every Unix fixture tree resolves as ``platform_fixtures/expected.json`` says.

The expectations were written from `architecture §8` when the trees were
built (``platform_fixtures/make_unix_fixtures.py``), not recorded from trustresolve's output.
Each tree is checked in-process (``PlatformFacts.from_root`` + ``resolve``) and through the CLI
in a subprocess (``--which --root TREE``, text and ``--json``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

import trustresolve
from support.cli import clean_env, run_cli
from support.trees import EXPECTED, FIXTURES, SRC, probe_tree, tree, tree_names
from trustresolve import Resolution

#: architecture §2: the one order of backends, the same on every OS.
BACKEND_ORDER = (
    "env",
    "config",
    "native",
    "windows",
    "wincertstore",
    "macos-keychain",
    "macos-python-org",
    "distro",
    "openssl-default",
    "certifi",
)
OUTCOMES = {"used", "skipped", "missing", "empty", "invalid", "unreadable", "insecure", "failed"}

#: architecture §8.5: the Linux bundle order (items 2-14, then the Nix profile fallbacks).
LINUX_BUNDLE_ORDER = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-bundle.crt",
    "/etc/ssl/certs.pem",
    "/etc/pki/tls/cacert.pem",
    "/opt/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/certs/cacert.pem",
)

#: Directories that are never stores, on any layout (architecture §8).
NEVER_STORES = (
    "/etc/pki/ca-trust/extracted/pem",
    "/etc/pki/ca-trust/extracted/pem/email-ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/objsign-ca-bundle.pem",
    "/usr/share/certs/trusted",
    "/usr/local/share/certs",
    "/usr/local/share/ca-certificates",
)


# The old name, for tests written against it; it goes with the shims of tests/support.
tree_path = tree
LAYOUT_TREES = tree_names(exclude=("edge-", "env-", "config-"))


def certifi_path() -> str:
    import certifi

    return certifi.where()


def pem_count(path: str) -> int:
    with open(path, "rb") as handle:
        return handle.read().count(b"-----BEGIN CERTIFICATE-----")


def substitute(value: Any) -> Any:
    """Expectations say ``<certifi>`` for this interpreter's certifi bundle and its count."""
    if value == "<certifi>":
        return certifi_path()
    return value


def expected_count(expected: Mapping[str, Any]) -> int | None:
    count = expected["cert_count"]
    if count == "<certifi>":
        return pem_count(certifi_path())
    return count  # type: ignore[no-any-return]


def attempt_triples(resolution: Resolution) -> list[tuple[str, str | None, str]]:
    return [(a.backend, a.location, a.outcome) for a in resolution.attempts]


def is_subsequence(wanted: Sequence[Any], actual: Sequence[Any]) -> bool:
    iterator: Iterator[Any] = iter(actual)
    return all(any(item == candidate for candidate in iterator) for item in wanted)


def check_resolution(name: str, resolution: Resolution, expected: Mapping[str, Any]) -> None:
    """Everything expected.json says about one tree, plus the invariants of architecture §2-§3."""
    triples = attempt_triples(resolution)
    wanted = [
        (backend, substitute(location), outcome)
        for backend, location, outcome in expected["attempts"]
    ]
    assert is_subsequence(wanted, triples), (
        f"{name}: expected attempts {wanted} in this order, got:\n" + resolution.explain()
    )
    for location in expected["never_used"]:
        used = [a for a in resolution.attempts if a.location == location and a.outcome == "used"]
        assert not used, f"{name}: {location} must never be used: {used}"
    for location, fragment in expected["details"].items():
        details = [a.detail for a in resolution.attempts if a.location == location]
        assert details, f"{name}: no attempt for {location}"
        assert any(fragment in detail for detail in details), (
            f"{name}: the attempt for {location} should mention {fragment!r}: {details}"
        )
    check_invariants(name, resolution)


def check_invariants(name: str, resolution: Resolution) -> None:
    attempts = resolution.attempts
    assert attempts, name
    positions = [BACKEND_ORDER.index(a.backend) for a in attempts]
    assert positions == sorted(positions), f"{name}: attempts out of architecture §2 order"
    assert {a.backend for a in attempts} == set(BACKEND_ORDER), (
        f"{name}: every backend must leave at least one attempt"
    )
    assert {a.outcome for a in attempts} <= OUTCOMES
    for attempt in attempts:
        assert attempt.detail.strip(), f"{name}: {attempt} has no reason"
    source = resolution.source
    if source is not None:
        decided = BACKEND_ORDER.index(source.backend)
        for attempt in attempts:
            if BACKEND_ORDER.index(attempt.backend) > decided:
                assert attempt.outcome == "skipped", f"{name}: {attempt} after the decision"
        shown = source.display_cafile or source.cafile or source.display_capath or source.capath
        used = [a.location for a in attempts if a.backend == source.backend and a.outcome == "used"]
        assert shown in used or (source.display_capath or "").split(":")[0] in used, (
            f"{name}: the chosen store {shown} has no 'used' attempt"
        )
        for never in NEVER_STORES:
            assert never not in (source.display_cafile, source.display_capath), name
    # The distro backend walks its Linux table in the order of architecture §8
    if resolution.platform.get("os_family") == "linux":
        walked = [
            a.location
            for a in attempts
            if a.backend == "distro" and a.location in LINUX_BUNDLE_ORDER
        ]
        seen = list(dict.fromkeys(walked))
        assert seen == sorted(seen, key=LINUX_BUNDLE_ORDER.index), (
            f"{name}: bundles tried out of architecture §8.5 order: {seen}"
        )


# --------------------------------------------------------------------------------------------
# In-process: backend, kind, paths, count, attempts


@pytest.mark.parametrize("name", LAYOUT_TREES)
def test_layout_resolves_as_expected(name: str) -> None:
    expected = EXPECTED[name]
    resolution, error = probe_tree(tree(name))
    assert error is None, f"{name}: {error}"
    assert resolution is not None
    source = resolution.source
    assert source is not None
    assert source.backend == expected["backend"], resolution.explain()
    assert source.kind == expected["kind"], resolution.explain()
    shown = source.as_dict()
    assert shown["cafile"] == substitute(expected["cafile"]), resolution.explain()
    assert shown["capath"] == expected["capath"], resolution.explain()
    assert source.cert_count == expected_count(expected), resolution.explain()
    check_resolution(name, resolution, expected)


@pytest.mark.parametrize("name", LAYOUT_TREES)
def test_layout_paths_point_into_the_tree(name: str) -> None:
    """``cafile``/``capath`` are real paths inside the tree, ready for load_verify_locations."""
    resolution, _ = probe_tree(tree(name))
    assert resolution is not None and resolution.source is not None
    source = resolution.source
    root = os.path.realpath(tree(name))
    if source.backend == "certifi":
        assert source.cafile == certifi_path()
        return
    for path in (source.cafile, *(source.capath or "").split(":")):
        if path:
            assert os.path.realpath(path).startswith(root + os.sep), f"{name}: {path} escapes"
            assert os.path.exists(path), path
    if source.cafile and source.kind == "file":
        assert pem_count(source.cafile) == source.cert_count


@pytest.mark.parametrize("name", LAYOUT_TREES)
def test_layout_certificates_load_into_openssl(name: str) -> None:
    """What was resolved is what OpenSSL loads: same certificate count, no error."""
    import ssl

    resolution, _ = probe_tree(tree(name))
    assert resolution is not None and resolution.source is not None
    source = resolution.source
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if source.cafile:
        context.load_verify_locations(cafile=source.cafile)
        assert len(context.get_ca_certs()) == source.cert_count
    elif source.cadata:
        context.load_verify_locations(cadata=source.cadata)
        assert len(context.get_ca_certs()) == source.cert_count
    else:
        # A directory-only store: OpenSSL looks entries up lazily, so count what we parsed.
        assert source.capath
        assert len(source.certificates) == source.cert_count


def test_fedora_never_picks_email_or_objsign_roots() -> None:
    """architecture §8: never glob extracted/pem/*.pem (certifi-system-store #5)."""
    for name in ("linux-fedora43", "linux-fedora44", "linux-rhel7", "linux-rhel9"):
        root = tree(name)
        resolution, _ = probe_tree(root)
        assert resolution is not None and resolution.source is not None
        decoys = set()
        for decoy in ("email-ca-bundle.pem", "objsign-ca-bundle.pem"):
            path = os.path.join(root, "etc/pki/ca-trust/extracted/pem", decoy)
            with open(path, "rb") as handle:
                from trustresolve._x509.pem import scan_pem

                decoys |= {cert.der for cert in scan_pem(handle.read()).certificates}
        tls = os.path.join(root, "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem")
        with open(tls, "rb") as handle:
            from trustresolve._x509.pem import scan_pem

            tls_der = {cert.der for cert in scan_pem(handle.read()).certificates}
        chosen = set(resolution.source.certificates)
        assert chosen == tls_der, name
        assert not (decoys - tls_der) & chosen, f"{name}: an e-mail/objsign-only root was trusted"


def test_every_unix_tree_has_an_expectation_and_a_platform_json() -> None:
    for name in EXPECTED:
        assert os.path.isdir(tree(name)), name
        assert os.path.isfile(os.path.join(tree(name), "platform.json")), name
    assert len(LAYOUT_TREES) >= 30


def test_trees_are_small() -> None:
    """2-5 certificates per tree, as the fixtures README promises."""
    for name, expected in EXPECTED.items():
        count = expected["cert_count"]
        if isinstance(count, int):
            assert 1 <= count <= 5, name


# --------------------------------------------------------------------------------------------
# Nothing outside the root is read (a subprocess with an audit hook)

_AUDIT_PROBE = r"""
import json, os, sys
roots = json.loads(sys.argv[1])
seen = []
recording = [False]
def hook(event, args):
    if recording[0] and event in ("open", "os.listdir", "os.scandir") and args:
        path = args[0]
        if isinstance(path, (str, bytes)):
            seen.append(os.fsdecode(path))
sys.addaudithook(hook)
from trustresolve import PlatformFacts, NoTrustStoreError, resolve
import trustresolve._backends.order, trustresolve._cli.main, trustresolve._machine.model
try:
    import certifi
except ImportError:
    pass
out = {}
for root in roots:
    facts = PlatformFacts.from_root(root)
    seen.clear()
    recording[0] = True
    try:
        resolve(facts)
    except NoTrustStoreError:
        pass
    recording[0] = False
    out[root] = list(seen)
# Where the import system itself reads (lazy stdlib and site-packages imports).
modules = [os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)]
print(json.dumps({"opened": out, "module_dirs": modules}))
"""


def test_nothing_outside_the_root_is_read() -> None:
    roots = [tree(name) for name in EXPECTED]
    done = subprocess.run(
        [sys.executable, "-c", _AUDIT_PROBE, json.dumps(roots)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    module_dirs = tuple(d + os.sep for d in result["module_dirs"])
    allowed_outside = {os.path.realpath(certifi_path())}
    assert result["opened"][tree("linux-debian")], "the audit hook recorded nothing"
    for root, paths in result["opened"].items():
        real_root = os.path.realpath(root)
        for path in paths:
            real = os.path.realpath(path)
            if real.endswith((".py", ".pyc")) or real in allowed_outside:
                continue
            if real.startswith(module_dirs) and not real.startswith(real_root + os.sep):
                continue  # the import system loading a module lazily
            assert real == real_root or real.startswith(real_root + os.sep), (
                f"{os.path.basename(root)}: read {path} outside the tree"
            )


# --------------------------------------------------------------------------------------------
# Through the CLI, in a subprocess


@pytest.mark.parametrize("name", LAYOUT_TREES)
def test_cli_which_text(name: str) -> None:
    expected = EXPECTED[name]
    done = run_cli("--which", "--root", tree(name), env=clean_env())
    assert done.returncode == expected["exit"], done.stdout + done.stderr
    out = done.stdout
    first = out.splitlines()[0]
    assert first.startswith(f"Trust store: {expected['backend']} ({expected['kind']})"), out
    assert f"{expected_count(expected)} certificates" in first, out
    if expected["cafile"]:
        assert re.search(rf"^\s+file:\s+{re.escape(substitute(expected['cafile']))}$", out, re.M)
    if expected["capath"]:
        assert re.search(rf"^\s+directory:\s+{re.escape(expected['capath'])}$", out, re.M), out
    assert tree(name) in out  # the tree is named
    for backend in BACKEND_ORDER:
        assert backend in out
    assert done.stderr == ""


@pytest.mark.parametrize("name", LAYOUT_TREES)
def test_cli_which_json(name: str) -> None:
    expected = EXPECTED[name]
    done = run_cli("--which", "--json", "--root", tree(name), env=clean_env())
    assert done.returncode == expected["exit"], done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert set(document) >= {"source", "attempts", "platform", "config_files"}
    source = document["source"]
    assert source["backend"] == expected["backend"]
    assert source["kind"] == expected["kind"]
    assert source["cafile"] == substitute(expected["cafile"])
    assert source["capath"] == expected["capath"]
    assert source["cert_count"] == expected_count(expected)
    triples = [(a["backend"], a["location"], a["outcome"]) for a in document["attempts"]]
    wanted = [(b, substitute(loc), o) for b, loc, o in expected["attempts"]]
    assert is_subsequence(wanted, triples), triples
    for attempt in document["attempts"]:
        assert set(attempt) >= {"backend", "location", "outcome", "detail"}
        assert attempt["outcome"] in OUTCOMES
    assert document["platform"]["platform"] == _platform_of(name)


def _platform_of(name: str) -> str:
    with open(os.path.join(tree(name), "platform.json"), encoding="utf-8") as handle:
        return str(json.load(handle).get("platform", "linux"))


def test_cli_exit_1_lists_every_attempt(tmp_path: Any) -> None:
    """No store at all (and no certifi): exit 1, the explanation on stdout."""
    root = tmp_path / "nothing"
    root.mkdir()
    (root / "platform.json").write_text('{"platform": "openbsd7"}')
    # Hide certifi from the subprocess so that nothing at all is found.
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "certifi.py").write_text("raise ImportError('hidden by the test')\n")
    env = clean_env()
    env["PYTHONPATH"] = os.pathsep.join([str(blocker), SRC])
    done = run_cli("--which", "--root", str(root), env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "No usable CA trust store was found" in done.stdout
    assert "/etc/ssl/cert.pem" in done.stdout
    assert "certifi" in done.stdout
    done = run_cli("--which", "--json", "--root", str(root), env=env)
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert document["source"] is None
    assert document["error"]
    assert {a["backend"] for a in document["attempts"]} == set(BACKEND_ORDER)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((), "--which"),
        (("--json",), "--which"),
        (("--root", FIXTURES + "/linux-debian"), "--which"),
        (("--which", "--bogus"), "--bogus"),
        (("--which", "--root"), "--root"),
        (("--which", "--root", "/nonexistent/trustresolve-tree"), "/nonexistent/trustresolve-tree"),
    ],
)
def test_cli_usage_errors_are_one_line_exit_2(args: tuple[str, ...], fragment: str) -> None:
    done = run_cli(*args, env=clean_env())
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert fragment in lines[0]
    assert done.stdout == ""


def test_cli_bad_platform_json_is_a_usage_error(tmp_path: Any) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "platform.json").write_text('{"platform": "linux", "environ": {"A": 1}}')
    done = run_cli("--which", "--root", str(root), env=clean_env())
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "environ" in done.stderr


def test_cli_version() -> None:
    done = run_cli("--version", env=clean_env())
    assert done.returncode == 0
    assert trustresolve.__version__ in done.stdout


@pytest.mark.skipif(shutil.which("trustresolve") is None, reason="console script not installed")
def test_console_script_matches_module() -> None:
    root = tree("linux-debian")
    script = subprocess.run(
        ["trustresolve", "--which", "--json", "--root", root],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
    module = run_cli("--which", "--json", "--root", root, env=clean_env())
    assert script.returncode == module.returncode == 0
    assert json.loads(script.stdout)["source"] == json.loads(module.stdout)["source"]
