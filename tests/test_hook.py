"""The start-up hook, in a fresh ``python -m venv``.

What is simulated: an interpreter whose compiled-in OpenSSL paths do not exist. The hook takes
that decision from the paths recorded in its ``.pth`` at install time (the interpreter's
``openssl_cafile``/``openssl_capath``); the tests install it with paths under a temporary
directory that does not exist, which is exactly what a portable interpreter built with
``--openssldir=/opt/prefix/ssl`` records. Everything else is real: ``site`` runs the ``.pth``
in a new interpreter, trustresolve resolves the store, and ``ssl.create_default_context()``
verifies a loopback server with what the hook set.
"""

from __future__ import annotations

import os
import ssl
import subprocess
from pathlib import Path

import pytest
import trustme

from support.servers import leaf_context, serve, tls_handler
from trustresolve._cli.hook import PTH_NAME, defaults_usable, has_hashed_entry, install_hook
from trustresolve._cli.main import main

SRC = str(Path(__file__).resolve().parent.parent / "src")
REPORT = (
    "import os, ssl, sys; print(os.environ.get('SSL_CERT_FILE'), os.environ.get('SSL_CERT_DIR'),"
    " ssl.get_default_verify_paths().cafile, sep='|')"
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A controlled environment: no SSL_CERT_*, private config and cache."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "TRUSTRESOLVE_CACHE_DIR": str(tmp_path / "cache"),
    }


@pytest.fixture
def missing_defaults(venv: tuple[str, str], tmp_path: Path) -> tuple[str, str]:
    prefix = tmp_path / "opt" / "prefix" / "ssl"  # never created
    install_hook(venv[1], defaults=(str(prefix / "cert.pem"), str(prefix / "certs")))
    yield str(prefix / "cert.pem"), str(prefix / "certs")
    Path(venv[1], PTH_NAME).unlink(missing_ok=True)


def _run(python: str, env: dict[str, str], code: str = REPORT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_missing_defaults_point_ssl_at_the_resolved_store(
    venv: tuple[str, str],
    env: dict[str, str],
    missing_defaults: tuple[str, str],
    tmp_path: Path,
) -> None:
    ca = trustme.CA()
    cafile = tmp_path / "pinned.pem"
    ca.cert_pem.write_to_path(str(cafile))
    config = tmp_path / "trustresolve.ini"
    config.write_text(f"[trustresolve]\ncafile = {cafile}\n")
    env["TRUSTRESOLVE_CONFIG"] = str(config)
    with serve(tls_handler(leaf_context(ca.issue_cert("127.0.0.1")))) as port:
        code = (
            "import os, socket, ssl\n"
            "ctx = ssl.create_default_context()\n"
            f"with socket.create_connection(('127.0.0.1', {port})) as raw:\n"
            "    with ctx.wrap_socket(raw, server_hostname='127.0.0.1') as tls:\n"
            "        print(os.environ['SSL_CERT_FILE'], tls.version(), sep='|')\n"
        )
        done = _run(venv[0], env, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().split("|")[0] == str(cafile)
    assert done.stderr == ""


def test_distro_store_is_found_when_defaults_are_missing(
    venv: tuple[str, str], env: dict[str, str], missing_defaults: tuple[str, str]
) -> None:
    from trustresolve import PlatformFacts, resolve
    from trustresolve._cli.export import env_assignments

    facts = PlatformFacts.current()
    bare = {k: v for k, v in facts.environ.items() if not k.startswith("SSL_CERT")}
    import dataclasses

    expected = env_assignments(resolve(dataclasses.replace(facts, environ={**bare, **env})))
    done = _run(venv[0], env)
    assert done.returncode == 0, done.stderr
    cert_file, cert_dir, cafile = done.stdout.strip().split("|")
    assert ("SSL_CERT_FILE", cert_file) == expected[0]
    assert cafile == cert_file  # ssl itself now reports the store
    assert cert_dir == dict(expected).get("SSL_CERT_DIR", "None")


def test_present_defaults_leave_everything_alone(
    venv: tuple[str, str], env: dict[str, str]
) -> None:
    paths = ssl.get_default_verify_paths()
    if not defaults_usable(paths.openssl_cafile, paths.openssl_capath):
        pytest.skip("this interpreter's own defaults are missing here")
    code = main(["--install-hook", "--target", venv[1]])
    try:
        assert code == 0
        text = Path(venv[1], PTH_NAME).read_text()
        assert repr(paths.openssl_cafile) in text
        done = _run(venv[0], env)
    finally:
        Path(venv[1], PTH_NAME).unlink()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().split("|")[:2] == ["None", "None"]


def test_a_set_variable_wins_even_when_it_is_wrong(
    venv: tuple[str, str], env: dict[str, str], missing_defaults: tuple[str, str]
) -> None:
    env["SSL_CERT_FILE"] = "/nonexistent/bundle.pem"
    done = _run(venv[0], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().split("|")[:2] == ["/nonexistent/bundle.pem", "None"]


def test_a_broken_store_does_not_break_start_up(
    venv: tuple[str, str], env: dict[str, str], missing_defaults: tuple[str, str], tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    config = tmp_path / "trustresolve.ini"
    config.write_text(f"[trustresolve]\ncafile = {garbage}\n")
    env["TRUSTRESOLVE_CONFIG"] = str(config)  # config pins a bad store: resolve() raises
    done = _run(venv[0], env)
    assert done.returncode == 0
    assert done.stderr == ""
    assert done.stdout.strip().split("|")[:2] == ["None", "None"]


def test_trustresolve_gone_does_not_break_start_up(
    venv: tuple[str, str], env: dict[str, str], missing_defaults: tuple[str, str]
) -> None:
    src_pth = Path(venv[1], "00-trustresolve-src.pth")
    saved = src_pth.read_text()
    src_pth.write_text("")
    try:
        done = _run(venv[0], env)
    finally:
        src_pth.write_text(saved)
    assert done.returncode == 0
    assert done.stderr == ""


def test_install_is_idempotent_and_uninstall_removes_every_trace(
    venv: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(os.listdir(venv[1]))
    assert main(["--install-hook", "--target", venv[1]]) == 0
    first = Path(venv[1], PTH_NAME).read_text()
    assert main(["--install-hook", "--target", venv[1]]) == 0
    assert "already installed (unchanged)" in capsys.readouterr().out
    assert Path(venv[1], PTH_NAME).read_text() == first
    Path(venv[1], f"{PTH_NAME}.123.tmp").write_text("interrupted install")
    assert main(["--uninstall-hook", "--target", venv[1]]) == 0
    assert sorted(os.listdir(venv[1])) == before
    assert main(["--uninstall-hook", "--target", venv[1]]) == 0
    assert "no start-up hook was installed" in capsys.readouterr().out


def test_uninstall_leaves_a_foreign_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / PTH_NAME).write_text("import something_else\n")
    assert main(["--uninstall-hook", "--target", str(tmp_path)]) == 2
    assert "was not written by trustresolve" in capsys.readouterr().err
    assert (tmp_path / PTH_NAME).exists()


def test_install_into_a_missing_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--install-hook", "--target", str(tmp_path / "nope")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_install_outside_site_dirs_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--install-hook", "--target", str(tmp_path)]) == 0
    assert "is not a site directory of this interpreter" in capsys.readouterr().err


def test_defaults_usable(tmp_path: Path) -> None:
    assert not defaults_usable(None, None)
    assert not defaults_usable(str(tmp_path / "missing.pem"), str(tmp_path))  # empty dir
    (tmp_path / "README").write_text("")
    assert not has_hashed_entry(str(tmp_path))
    (tmp_path / "5ad8a5d6.0").write_text("")
    assert has_hashed_entry(str(tmp_path))
    assert defaults_usable(None, str(tmp_path))
    bundle = tmp_path / "cert.pem"
    bundle.write_text("")
    assert defaults_usable(str(bundle), None)
