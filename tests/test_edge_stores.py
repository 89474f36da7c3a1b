"""Edge stores: broken, hostile and odd candidates are skipped with a reason (architecture §2).

Reads are bounded and never block: a FIFO, a device or a huge file as the bundle must neither
hang nor exhaust memory. With ``--root`` every link resolves inside the tree. FIFOs, device nodes
and file modes are not kept by git, so the tests make them in a temporary copy of a tree.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
from typing import Any, Callable

import pytest

from support.cli import clean_env, run_cli
from support.trees import EXPECTED, probe_tree, tree, tree_names
from test_unix_layouts import check_resolution
from trustresolve import NoTrustStoreError, PlatformFacts, Resolution, resolve
from trustresolve._backends.candidates import check_bundle, check_dir
from trustresolve._machine.fs import MAX_BUNDLE_BYTES, FileSystem

EDGE_TREES = tree_names(["edge-"])
CA_CRT = "/etc/ssl/certs/ca-certificates.crt"
TIMEOUT = 30.0


def copy_tree(name: str, tmp_path: Any) -> str:
    target = str(tmp_path / name)
    shutil.copytree(tree(name), target, symlinks=True)
    return target


def resolve_with_timeout(root: str) -> Resolution:
    """Resolve in a thread: a hang fails the test instead of blocking the suite."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["resolution"] = resolve(PlatformFacts.from_root(root))
        except NoTrustStoreError as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    assert not thread.is_alive(), f"resolving {root} hung"
    if "error" in box:
        raise box["error"]
    return box["resolution"]  # type: ignore[no-any-return]


def attempt_for(resolution: Resolution, location: str) -> Any:
    found = [a for a in resolution.attempts if a.location == location]
    assert found, f"no attempt for {location}:\n{resolution.explain()}"
    return found[0]


def run_cli_json(root: str) -> tuple[int, dict[str, Any]]:
    done = run_cli("--which", "--json", "--root", root, env=clean_env(), timeout=TIMEOUT * 2)
    return done.returncode, json.loads(done.stdout)


# --------------------------------------------------------------------------------------------
# The checked-in edge trees


@pytest.mark.parametrize("name", EDGE_TREES)
def test_edge_tree_resolves_as_expected(name: str) -> None:
    expected = EXPECTED[name]
    resolution, error = probe_tree(tree(name))
    assert error is None, str(error)
    assert resolution is not None and resolution.source is not None
    source = resolution.source.as_dict()
    assert source["backend"] == expected["backend"]
    assert source["kind"] == expected["kind"]
    if expected["cafile"] != "<certifi>":
        assert source["cafile"] == expected["cafile"]
        assert source["cert_count"] == expected["cert_count"]
    assert source["capath"] == expected["capath"]
    check_resolution(name, resolution, expected)


def test_der_bundle_says_how_to_convert() -> None:
    resolution, _ = probe_tree(tree("edge-bad-bundles-first"))
    assert resolution is not None
    detail = attempt_for(resolution, "/etc/ssl/ca-bundle.pem").detail
    assert "DER" in detail
    assert "openssl x509 -inform der" in detail


def test_empty_bundle_is_empty_not_invalid() -> None:
    resolution, _ = probe_tree(tree("edge-bad-bundles-first"))
    assert resolution is not None
    attempt = attempt_for(resolution, CA_CRT)
    assert attempt.outcome == "empty"
    assert "empty" in attempt.detail


def test_garbage_block_keeps_the_good_certificates() -> None:
    import ssl

    resolution, _ = probe_tree(tree("edge-garbage-block"))
    assert resolution is not None and resolution.source is not None
    source = resolution.source
    assert source.kind == "data"
    assert source.cadata
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=source.cadata)
    assert len(context.get_ca_certs()) == 2
    detail = attempt_for(resolution, CA_CRT).detail
    assert "TRUSTED CERTIFICATE" in detail


def test_links_are_reported_with_their_targets() -> None:
    resolution, _ = probe_tree(tree("edge-relative-links"))
    assert resolution is not None
    detail = attempt_for(resolution, CA_CRT).detail
    for hop in (
        "/etc/ssl/certs/ca-certificates.crt -> ../../pki-current/roots.pem",
        "/etc/pki-current -> ../usr/share/pki/current",
        "/usr/share/pki/current -> bundles/./v2/../v2",
    ):
        assert hop in detail, detail


def test_dangling_link_names_its_missing_target() -> None:
    resolution, _ = probe_tree(tree("edge-dangling"))
    assert resolution is not None
    detail = attempt_for(resolution, CA_CRT).detail
    assert "dangling" in detail
    assert "/usr/share/ca-certificates/mozilla/gone.crt" in detail


def test_missing_file_in_a_linked_directory_is_not_called_a_dangling_symlink() -> None:
    """openSUSE: /etc/ssl/certs -> /var/lib/ca-certificates/pem exists; only the file is absent.

    The link that was followed is fine, so "dangling symlink" misleads whoever debugs it.
    """
    resolution, _ = probe_tree(tree("linux-opensuse"))
    assert resolution is not None
    attempt = attempt_for(resolution, CA_CRT)
    assert attempt.outcome == "missing"
    assert "dangling" not in attempt.detail, attempt.detail


def test_escaping_links_stay_inside_the_root() -> None:
    root = tree("edge-escape")
    resolution, _ = probe_tree(root)
    assert resolution is not None and resolution.source is not None
    # The host's bundle (if any) would have many more certificates than the tree's two.
    assert resolution.source.cert_count == 2
    assert resolution.source.cafile
    assert os.path.realpath(resolution.source.cafile).startswith(os.path.realpath(root) + os.sep)
    escaped = attempt_for(resolution, "/etc/pki/tls/certs/ca-bundle.crt")
    assert escaped.outcome == "missing"


def test_symlink_loop_is_reported_not_followed_forever() -> None:
    resolution = resolve_with_timeout(tree("edge-symlink-loop"))
    attempt = attempt_for(resolution, CA_CRT)
    assert attempt.outcome == "invalid"
    assert "loop" in attempt.detail


def test_directory_link_loop_does_not_hang(tmp_path: Any) -> None:
    root = copy_tree("edge-fifo", tmp_path)
    shutil.rmtree(os.path.join(root, "etc/ssl/certs"))
    os.symlink("/etc/ssl/certs", os.path.join(root, "etc/ssl/certs"))
    resolution = resolve_with_timeout(root)
    assert resolution.source is not None
    assert resolution.source.display_cafile == "/etc/ssl/cert.pem"
    assert attempt_for(resolution, CA_CRT).outcome in ("invalid", "missing")


# --------------------------------------------------------------------------------------------
# Made at test time: FIFOs, devices, huge files, modes


def assert_bundle_refused_for_cert_pem(resolution: Resolution, detail: str) -> None:
    """The spoiled ca-certificates.crt is invalid (``detail`` says why); /etc/ssl/cert.pem wins."""
    attempt = attempt_for(resolution, CA_CRT)
    assert attempt.outcome == "invalid"
    assert detail in attempt.detail
    assert resolution.source is not None
    assert resolution.source.display_cafile == "/etc/ssl/cert.pem"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_fifo_as_the_bundle_is_skipped_without_blocking(tmp_path: Any) -> None:
    root = copy_tree("edge-fifo", tmp_path)
    os.mkfifo(os.path.join(root, CA_CRT.lstrip("/")))
    assert_bundle_refused_for_cert_pem(resolve_with_timeout(root), "FIFO")
    code, document = run_cli_json(root)
    assert code == 0
    assert document["source"]["cafile"] == "/etc/ssl/cert.pem"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_fifo_reached_through_a_link_is_skipped(tmp_path: Any) -> None:
    root = copy_tree("edge-fifo", tmp_path)
    os.mkfifo(os.path.join(root, "etc/ssl/pipe"))
    os.symlink("../pipe", os.path.join(root, CA_CRT.lstrip("/")))
    resolution = resolve_with_timeout(root)
    attempt = attempt_for(resolution, CA_CRT)
    assert attempt.outcome == "invalid"
    assert "FIFO" in attempt.detail
    assert "-> ../pipe" in attempt.detail


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_fifo_named_by_ssl_cert_file_is_an_error_naming_the_variable(tmp_path: Any) -> None:
    root = copy_tree("edge-fifo", tmp_path)
    os.mkfifo(os.path.join(root, "etc/ssl/pipe.pem"))
    with open(os.path.join(root, "platform.json"), "w") as handle:
        json.dump({"platform": "linux", "environ": {"SSL_CERT_FILE": "/etc/ssl/pipe.pem"}}, handle)
    with pytest.raises(NoTrustStoreError) as caught:
        resolve_with_timeout(root)
    message = str(caught.value).splitlines()[0]
    assert "SSL_CERT_FILE" in message
    assert "FIFO" in message


def test_dev_zero_on_the_host_is_refused_at_once() -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    check = check_bundle(FileSystem("/"), "/dev/zero")
    assert check.outcome == "invalid"
    assert "character device" in check.detail
    facts = PlatformFacts(platform="linux", environ={"SSL_CERT_FILE": "/dev/zero"})
    with pytest.raises(NoTrustStoreError) as caught:
        resolve(facts)
    assert "SSL_CERT_FILE" in str(caught.value)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root")
def test_device_node_inside_the_root_is_refused(tmp_path: Any) -> None:
    """The tree's bundle is a link to /dev/zero, and the tree has a real /dev/zero."""
    root = copy_tree("edge-dev-zero", tmp_path)
    os.makedirs(os.path.join(root, "dev"))
    try:
        os.mknod(os.path.join(root, "dev/zero"), stat.S_IFCHR | 0o666, os.makedev(1, 5))
    except OSError as exc:  # containers may forbid mknod even for root
        pytest.skip(f"mknod refused: {exc}")
    assert_bundle_refused_for_cert_pem(resolve_with_timeout(root), "character device")


def _sparse_over_the_bound(bundle: str) -> None:
    with open(bundle, "wb") as handle:  # sparse: costs no disk
        handle.truncate(MAX_BUNDLE_BYTES + 1)


def _whitespace_only(bundle: str) -> None:
    with open(bundle, "w") as handle:
        handle.write("\n  \n\t\n")


def _trusted_certificate_blocks_only(bundle: str) -> None:
    """Fedora's ca-bundle.trust.crt format: certificates with OpenSSL trust settings."""
    source = os.path.join(tree("linux-fedora43"), "etc/pki/ca-trust/extracted/openssl")
    shutil.copy(os.path.join(source, "ca-bundle.trust.crt"), bundle)


# (how the bundle is spoiled, its attempt's outcome, in its detail, the fallback source or None)
SPOILED_BUNDLES = [
    pytest.param(_sparse_over_the_bound, "invalid", "larger than", "/etc/ssl/cert.pem", id="huge"),
    pytest.param(_whitespace_only, "empty", None, None, id="whitespace-only"),
]


@pytest.mark.parametrize(("spoil", "outcome", "detail", "fallback"), SPOILED_BUNDLES)
def test_spoiled_bundle_is_not_a_store(
    tmp_path: Any,
    spoil: Callable[[str], None],
    outcome: str,
    detail: str | None,
    fallback: str | None,
) -> None:
    root = copy_tree("edge-fifo", tmp_path)
    spoil(os.path.join(root, CA_CRT.lstrip("/")))
    resolution = resolve_with_timeout(root)
    attempt = attempt_for(resolution, CA_CRT)
    assert attempt.outcome == outcome
    if detail is not None:
        assert detail in attempt.detail
    if fallback is not None:
        assert resolution.source is not None
        assert resolution.source.display_cafile == fallback


def test_trusted_certificate_only_bundle_gives_its_tls_roots(tmp_path: Any) -> None:
    """Fedora's ca-bundle.trust.crt format, read with OpenSSL's trust rules: the roots trusted
    for serverAuth are the store; the e-mail-only CA is not (it is named in the detail)."""
    root = copy_tree("edge-fifo", tmp_path)
    _trusted_certificate_blocks_only(os.path.join(root, CA_CRT.lstrip("/")))
    resolution = resolve_with_timeout(root)
    attempt = attempt_for(resolution, CA_CRT)
    assert attempt.outcome == "used"
    assert "TRUSTED CERTIFICATE" in attempt.detail
    assert resolution.source is not None
    assert resolution.source.kind == "data"  # plain DER of the anchors, never the trust file
    assert resolution.source.cert_count == 3
    assert resolution.source.other_purpose_roots == (
        "CN=trustresolve fixture E-mail Only CA,O=trustresolve fixtures",
    )


def test_world_writable_bundle_and_directory_are_flagged(tmp_path: Any) -> None:
    root = copy_tree("edge-world-writable", tmp_path)
    bundle = os.path.join(root, CA_CRT.lstrip("/"))
    directory = os.path.join(root, "etc/ssl/certs")
    os.chmod(bundle, 0o666)
    os.chmod(directory, 0o777)
    resolution = resolve_with_timeout(root)
    source = resolution.source
    assert source is not None
    assert source.display_cafile == CA_CRT
    file_attempt = attempt_for(resolution, CA_CRT)
    dir_attempts = [a for a in resolution.attempts if a.location == "/etc/ssl/certs"]
    assert file_attempt.warnings, "a world-writable bundle must be flagged in its attempt"
    assert any("chmod o-w" in w and CA_CRT in w for w in file_attempt.warnings)
    assert any(a.warnings for a in dir_attempts), "a world-writable CA directory must be flagged"
    assert any(CA_CRT in w for w in source.warnings)
    done = run_cli("--which", "--root", root, env=clean_env(), timeout=TIMEOUT)
    assert done.returncode == 0
    assert "WARNING" in done.stdout
    _, document = run_cli_json(root)
    assert document["source"]["warnings"]


def test_bundle_in_a_world_writable_directory_is_flagged(tmp_path: Any) -> None:
    """Anyone who can write the directory can replace the bundle (no sticky bit)."""
    root = copy_tree("edge-world-writable", tmp_path)
    os.chmod(os.path.join(root, "etc/ssl/certs"), 0o777)
    os.chmod(os.path.join(root, CA_CRT.lstrip("/")), 0o644)
    resolution = resolve_with_timeout(root)
    assert attempt_for(resolution, CA_CRT).warnings, (
        "the bundle sits in a world-writable directory: anyone can replace it"
    )


def test_clean_store_has_no_warnings(tmp_path: Any) -> None:
    root = copy_tree("edge-world-writable", tmp_path)
    os.chmod(os.path.join(root, CA_CRT.lstrip("/")), 0o644)
    os.chmod(os.path.join(root, "etc/ssl/certs"), 0o755)
    resolution = resolve_with_timeout(root)
    assert resolution.source is not None
    assert resolution.source.warnings == ()


def test_hashed_directory_with_only_dangling_entries_is_not_a_store(tmp_path: Any) -> None:
    root = str(tmp_path / "tree")
    os.makedirs(os.path.join(root, "etc/ssl/certs"))
    os.symlink("/nowhere/Root_A.pem", os.path.join(root, "etc/ssl/certs/0a1b2c3d.0"))
    check = check_dir(FileSystem(root), "/etc/ssl/certs", parse=True)
    assert check.outcome == "invalid"
    assert "dangling" in check.detail


def test_bundle_only_directory_is_not_a_store() -> None:
    """Fedora's /etc/pki/tls/certs holds only bundle links (rustls/openssl-probe#25)."""
    check = check_dir(FileSystem(tree("linux-fedora43")), "/etc/pki/tls/certs")
    assert check.outcome == "invalid"
    assert "hashed" in check.detail


def test_plain_pem_directory_is_not_a_store() -> None:
    """Amazon Linux 2023's /etc/ssl/certs: .pem files, no hashed names (golang/go#79018)."""
    check = check_dir(FileSystem(tree("linux-amazon2023")), "/etc/ssl/certs")
    assert check.outcome == "invalid"
    assert "rehash" in check.detail


def test_hashed_directory_with_other_roots_is_not_paired(tmp_path: Any) -> None:
    """Pairing needs the same trust set, not just the same number of entries.

    A stale /etc/ssl/certs hashed over C and D next to a bundle of A and B would let OpenSSL
    trust C and D through capath although the bundle no longer holds them.
    """
    root = copy_tree("linux-gentoo", tmp_path)  # bundle A, B; hashed dir A, B
    certs = os.path.join(root, "etc/ssl/certs")
    other = tree("linux-fedora44") + "/etc/pki/ca-trust/extracted/pem/directory-hash"
    for name in os.listdir(certs):
        if name != "ca-certificates.crt":
            os.unlink(os.path.join(certs, name))
    for name in ("Root_C.pem", "Root_D.pem"):
        shutil.copy(os.path.join(other, name), os.path.join(certs, name))
    for name in os.listdir(other):
        target = os.readlink(os.path.join(other, name)) if name.endswith(".0") else None
        if target in ("Root_C.pem", "Root_D.pem"):
            os.symlink(target, os.path.join(certs, name))
    resolution = resolve_with_timeout(root)
    assert resolution.source is not None
    assert resolution.source.display_cafile == CA_CRT
    assert resolution.source.display_capath is None, resolution.explain()
