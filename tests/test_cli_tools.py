"""The CLI's tools: --which --verbose, --check, --export, --env and the usage rules."""

from __future__ import annotations

import datetime
import json
import os
import ssl
import subprocess
import warnings
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from support.ca import dn, mint
from support.cli import run_main
from trustresolve._cli.check import describe_library
from trustresolve._cli.export import render_env
from trustresolve._cli.main import main
from trustresolve._x509.certinfo import format_name, summarize
from trustresolve._x509.der import parse_certificate
from trustresolve._x509.pem import scan_pem

NOW = datetime.datetime.now(datetime.timezone.utc)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "TRUSTRESOLVE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def _self_signed(common_name: str, not_after: datetime.datetime) -> bytes:
    subject = dn(common_name, country="DE", organization='Test, "Quoted" + Co')
    not_before = not_after - datetime.timedelta(days=400)
    return mint(subject, not_before=not_before, not_after=not_after).pem


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A Debian-like tree whose bundle holds one valid and one expired root."""
    root = tmp_path / "image"
    certs = root / "etc/ssl/certs"
    certs.mkdir(parents=True)
    bundle = _self_signed("Valid Root", NOW + datetime.timedelta(days=365))
    bundle += _self_signed("Old Root", NOW - datetime.timedelta(days=3))
    (certs / "ca-certificates.crt").write_bytes(bundle)
    (root / "platform.json").write_text('{"platform": "linux", "environ": {}}')
    return root


# --- --which --verbose -------------------------------------------------------------------------


def test_which_verbose_lists_and_flags_expired(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main(capsys, "--which", "--verbose", "--root", str(tree))
    assert code == 0
    assert "Trust store: distro (file), 2 certificates" in out
    assert "Certificates (2, 1 expired):" in out
    old = next(line for line in out.splitlines() if "CN=Old Root" in line)
    valid = next(line for line in out.splitlines() if "CN=Valid Root" in line)
    assert old.endswith("EXPIRED")
    assert "EXPIRED" not in valid
    assert 'CN=Valid Root,O=Test\\, \\"Quoted\\" \\+ Co,C=DE' in valid


def test_which_verbose_json(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "--which", "--json", "--verbose", "--root", str(tree))
    document = json.loads(out)
    assert code == 0
    assert [c["expired"] for c in document["certificates"]] == [False, True]
    assert document["source"]["cert_count"] == len(document["certificates"])


def test_which_keeps_its_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "platform.json").write_text(
        '{"platform": "linux", "environ": {"SSL_CERT_FILE": "/missing.pem"}}'
    )
    code, out, _ = run_main(capsys, "--which", "--root", str(empty))
    assert code == 1
    assert "error:" in out
    code, _, err = run_main(capsys, "--which", "--root", str(tmp_path / "nope"))
    assert code == 2
    assert "is not a directory" in err


def test_format_name_matches_cryptography_on_real_and_test_roots() -> None:
    """RFC 4514 strings equal cryptography's for this machine's roots and trustme's names."""
    pems = [trustme.CA().cert_pem.bytes()]
    system = Path("/etc/ssl/certs/ca-certificates.crt")
    if system.is_file():
        pems.append(system.read_bytes())
    checked = 0
    for pem in pems:
        for cert in scan_pem(pem).certificates:
            ours = format_name(cert.subject)
            with warnings.catch_warnings():  # some real roots have non-positive serials
                warnings.simplefilter("ignore")
                theirs = x509.load_der_x509_certificate(cert.der).subject.rfc4514_string()
            assert ours == theirs
            checked += 1
    assert checked >= 1


def test_summarize_reads_sans_and_ca_flag() -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("db.example.net", "127.0.0.1", "::1")
    der = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).public_bytes(
        serialization.Encoding.DER
    )
    summary = summarize(der)
    assert summary.dns_names == ("db.example.net",)
    assert summary.ip_addresses == ("127.0.0.1", "::1")
    assert not summary.is_ca
    ca_der = x509.load_pem_x509_certificate(ca.cert_pem.bytes()).public_bytes(
        serialization.Encoding.DER
    )
    assert summarize(ca_der).is_ca
    assert summarize(ca_der).self_issued


# --- --check -----------------------------------------------------------------------------------


def test_check_reports_versions_paths_and_store(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    code, out, _ = run_main(capsys, "--check", "--root", str(tree))
    assert code == 0
    assert ssl.OPENSSL_VERSION in out
    assert "TLS 1.2 yes" in out
    # 3.9's ssl still allows whatever the library does (MINIMUM_SUPPORTED); 3.10+ TLS 1.2.
    low = ssl.create_default_context().minimum_version
    expected = "TLS 1.2" if low == ssl.TLSVersion.TLSv1_2 else "the lowest the library supports"
    assert f"ssl.create_default_context() allows: {expected} to" in out
    paths = ssl.get_default_verify_paths()
    assert f"openssl_cafile: {paths.openssl_cafile}" in out
    assert (
        "trustresolve store: distro (file) /etc/ssl/certs/ca-certificates.crt, 2 certificates"
        in out
    )


def test_check_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    os.environ["SSL_CERT_FILE"] = str(missing)
    try:
        code, out, _ = run_main(capsys, "--check", "--json")
    finally:
        del os.environ["SSL_CERT_FILE"]
    document = json.loads(out)
    assert code == 0  # --check always exits 0, even with no usable store
    assert "SSL_CERT_FILE" in document["store"]["error"]
    assert document["protocols"]["TLS 1.3"] in (True, False)
    assert document["default_paths"]["SSL_CERT_FILE"] == str(missing)


@pytest.mark.parametrize(
    ("version", "info", "flavour", "warning"),
    [
        ("OpenSSL 3.0.19 27 Jan 2026", (3, 0, 0, 19, 0), "OpenSSL", None),
        ("OpenSSL 0.9.8zh 3 Dec 2015", (0, 9, 8, 34, 15), "OpenSSL", "older than 1.0.1"),
        ("OpenSSL 1.0.2u  20 Dec 2019", (1, 0, 2, 21, 15), "OpenSSL", "cannot speak TLS 1.3"),
        ("LibreSSL 3.3.6", (2, 0, 0, 0, 0), "LibreSSL", None),
        ("BoringSSL", (1, 1, 1, 0, 0), "BoringSSL", "not a supported backend"),
    ],
)
def test_describe_library(
    version: str, info: tuple[int, ...], flavour: str, warning: str | None
) -> None:
    described = describe_library(version, info)
    assert described.flavour == flavour
    if warning is None:
        assert described.warnings == ()
    else:
        assert any(warning in w for w in described.warnings)


def test_check_flags_missing_defaults_as_the_hook_sees_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trustresolve._cli import check as _check

    monkeypatch.setattr(_check, "defaults_usable", lambda cafile, capath: False)
    code, out, _ = run_main(capsys, "--check")
    assert code == 0
    assert "neither default exists" in out


# --- --export ----------------------------------------------------------------------------------


def test_export_matches_which(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run_main(capsys, "--which", "--json", "--root", str(tree))
    count = json.loads(out)["source"]["cert_count"]
    target = tmp_path / "out" / "bundle.pem"
    target.parent.mkdir()
    target.write_text("old contents")
    code, out, _ = run_main(capsys, "--export", str(target), "--root", str(tree))
    assert code == 0
    assert f"wrote {count} certificates from the distro store" in out
    exported = scan_pem(target.read_bytes())
    original = scan_pem((tree / "etc/ssl/certs/ca-certificates.crt").read_bytes())
    assert len(exported.certificates) == count
    assert [c.der for c in exported.certificates] == [c.der for c in original.certificates]
    assert os.listdir(target.parent) == ["bundle.pem"]  # no temporary file left
    assert target.stat().st_mode & 0o444 == 0o444


def test_export_to_stdout(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "--export", "-", "--root", str(tree))
    assert code == 0
    assert len(scan_pem(out.encode()).certificates) == 2


@pytest.mark.parametrize("where", ["dir", "missing-parent"])
def test_export_bad_target(
    where: str, tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path if where == "dir" else tmp_path / "no" / "such" / "bundle.pem"
    code, _, err = run_main(capsys, "--export", str(target), "--root", str(tree))
    assert code == 2
    assert "--export" in err
    assert str(target) in err or str(target.parent) in err


# --- --env -------------------------------------------------------------------------------------

WEIRD = 'it\'s "a" $HOME `x` \u2018q\u2019 dir'


@pytest.fixture
def weird_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    directory = tmp_path / WEIRD
    directory.mkdir()
    cafile = directory / "ca.pem"
    cafile.write_bytes(trustme.CA().cert_pem.bytes())
    hashed = tmp_path / "hashed"
    hashed.mkdir()
    monkeypatch.setenv("SSL_CERT_FILE", str(cafile))
    return str(cafile), str(hashed)


def test_env_sh_round_trips_through_a_real_shell(
    weird_store: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    cafile, _ = weird_store
    code, out, _ = run_main(capsys, "--env", "--shell", "sh")
    assert code == 0
    script = out + '\nprintf "%s" "$SSL_CERT_FILE"'
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout == cafile


def test_env_sets_the_dir_when_there_is_one(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "etc/ssl/certs/ca-certificates.crt").unlink()
    pem = _self_signed("Dir Root", NOW + datetime.timedelta(days=30))
    # A hashed directory only: c_rehash name from the subject hash of that certificate.
    from trustresolve._x509.subject_hash import name_hash

    cert = scan_pem(pem).certificates[0]
    (tree / f"etc/ssl/certs/{name_hash(cert.subject)}.0").write_bytes(pem)
    code, out, err = run_main(capsys, "--env", "--root", str(tree))
    assert code == 0, err
    assert out.strip() == "export SSL_CERT_DIR=/etc/ssl/certs"


def test_env_root_names_paths_inside_the_tree(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main(capsys, "--env", "--root", str(tree), "--shell", "powershell")
    assert code == 0
    # gRPC reads its own variable, not OpenSSL's: the bundle is named for it too.
    assert out.strip().splitlines() == [
        "$env:SSL_CERT_FILE = '/etc/ssl/certs/ca-certificates.crt'",
        "$env:GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = '/etc/ssl/certs/ca-certificates.crt'",
    ]


def test_env_quoting_per_shell() -> None:
    pairs = [("SSL_CERT_FILE", WEIRD)]
    assert (
        render_env(pairs, "fish")
        == "set -gx SSL_CERT_FILE 'it\\'s \"a\" $HOME `x` \u2018q\u2019 dir'"
    )
    assert (
        render_env(pairs, "powershell")
        == "$env:SSL_CERT_FILE = 'it''s \"a\" $HOME `x` \u2018\u2018q\u2019\u2019 dir'"
    )
    assert render_env([("SSL_CERT_FILE", "C:\\certs & more\\ca.pem")], "cmd") == (
        'set "SSL_CERT_FILE=C:\\certs & more\\ca.pem"'
    )


def test_env_cmd_refuses_what_it_cannot_quote(
    weird_store: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(capsys, "--env", "--shell", "cmd")
    assert code == 2
    assert "cmd.exe cannot quote" in err


def test_env_with_a_broken_store_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    code, _, err = run_main(capsys, "--env")
    assert code == 1
    assert "SSL_CERT_FILE" in err


# --- usage ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "nothing to do"),
        (["--which", "--check"], "--which and --check cannot be combined"),
        (["--check", "--verbose"], "--verbose goes with --which"),
        (["--which", "--cafile", "x"], "--cafile goes with --connect"),
        (["--env", "--target", "x"], "--target goes with --install-hook/--uninstall-hook"),
        (["--connect", "h", "--timeout", "0"], "--timeout must be a positive number"),
        (["--env", "--shell", "zsh"], "invalid choice"),
        (["--export", "x", "--shell", "sh"], "--shell goes with --env"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    err = capsys.readouterr().err
    assert raised.value.code == 2
    assert message in err
    assert err.count("\n") == 1


def test_der_parse_of_export_is_the_lead_parser(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The exported PEM re-parses with the project's own DER reader (no trailing bytes)."""
    run_main(capsys, "--export", "-", "--root", str(tree))
    # (captured above) re-run to get the text
    main(["--export", "-", "--root", str(tree)])
    out = capsys.readouterr().out
    for cert in scan_pem(out.encode()).certificates:
        assert parse_certificate(cert.der).not_after
