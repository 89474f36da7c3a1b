"""Environment integrity: config directories, odd variable values, and the start-up hook
(architecture §10).

Where trust is the question the check is a real handshake against a server whose leaf an
attacker's CA ("EVIL") issued: a config file in the working directory must not make it verify.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from support.servers import leaf_context, memory_handshake, serve, tls_handler
from support.trees import tree
from trustresolve import NoTrustStoreError, PlatformFacts, resolve
from trustresolve._cli.hook import PTH_NAME, install_hook
from trustresolve._tls.load import load_source

SRC = str(Path(__file__).resolve().parent.parent / "src")
_TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "TRUSTRESOLVE_CONFIG")


@pytest.fixture
def evil() -> trustme.CA:
    return trustme.CA(organization_name="EVIL")


@pytest.fixture
def hostile_cwd(tmp_path: Path, evil: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory whose ./trustresolve/trustresolve.ini pins EVIL."""
    cwd = tmp_path / "cwd"
    (cwd / "trustresolve").mkdir(parents=True)
    evil.cert_pem.write_to_path(str(cwd / "evil.pem"))
    (cwd / "trustresolve" / "trustresolve.ini").write_text(
        f"[trustresolve]\ncafile = {cwd / 'evil.pem'}\n"
    )
    monkeypatch.chdir(cwd)
    return cwd


def _facts(config_dirs: tuple[str, ...], **environ: str) -> PlatformFacts:
    facts = PlatformFacts.current()
    bare = {k: v for k, v in facts.environ.items() if k not in _TRUST_VARIABLES}
    return dataclasses.replace(facts, environ={**bare, **environ}, config_dirs=config_dirs)


def _verifies_evil(facts: PlatformFacts, evil: trustme.CA) -> bool:
    source = resolve(facts).source
    assert source is not None
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    load_source(client, source)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    evil.issue_cert("evil.example").configure_cert(server)
    return memory_handshake(client, server, "evil.example") is None


# --- 4. config from the working directory ------------------------------------------------------


@pytest.mark.parametrize("relative", ["trustresolve", "./trustresolve", "trustresolve/"])
def test_a_relative_config_directory_is_ignored_and_noted(
    hostile_cwd: Path, evil: trustme.CA, relative: str, tmp_path: Path
) -> None:
    facts = _facts((str(tmp_path / "no-user-config"), relative))
    resolution = resolve(facts)
    assert resolution.source is not None and resolution.source.backend != "config"
    assert not _verifies_evil(facts, evil)
    notes = [a for a in resolution.attempts if a.backend == "config" and a.location == relative]
    assert notes and "relative config directory ignored" in notes[0].detail
    assert str(hostile_cwd) not in " ".join(resolution.config_files)


def test_the_same_file_in_an_absolute_directory_does_pin(
    hostile_cwd: Path, evil: trustme.CA
) -> None:
    """The control: the file pins EVIL when its directory is absolute, so the test can fail."""
    facts = _facts((str(hostile_cwd / "trustresolve"),))
    assert resolve(facts).source.backend == "config"  # type: ignore[union-attr]
    assert _verifies_evil(facts, evil)


def test_empty_xdg_config_dirs_entry_through_platformdirs(
    hostile_cwd: Path, evil: trustme.CA, tmp_path: Path
) -> None:
    """A real process: platformdirs (as versions before the fix of the empty entry return it)
    gives ``trustresolve`` for ``XDG_CONFIG_DIRS=:/etc/xdg``; the handshake to EVIL fails."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_DIRS": ":/etc/xdg",
        "TRUSTRESOLVE_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONPATH": SRC,
    }
    with serve(tls_handler(leaf_context(evil.issue_cert("127.0.0.1")))) as port:
        code = (
            "import platformdirs, socket, ssl, sys\n"
            "real = platformdirs.site_config_dir\n"
            "def old(*a, **k):\n"
            "    return ':'.join(['trustresolve'] + real(*a, **k).split(':'))\n"
            "platformdirs.site_config_dir = old\n"
            "import trustresolve\n"
            "print(trustresolve.resolve().source.backend)\n"
            "ctx = trustresolve.create_default_context()\n"
            f"with socket.create_connection(('127.0.0.1', {port})) as raw:\n"
            "    try:\n"
            "        ctx.wrap_socket(raw, server_hostname='127.0.0.1').close()\n"
            "        print('VERIFIED')\n"
            "    except ssl.SSLCertVerificationError:\n"
            "        print('REFUSED')\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            cwd=str(hostile_cwd),
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    backend, verdict = done.stdout.split()
    assert backend != "config"
    assert verdict == "REFUSED"


# --- 5. odd values: NUL, non-UTF-8 -------------------------------------------------------------


def _tree(tmp_path: Path, environ: dict[str, str], files: dict[str, str] | None = None) -> str:
    root = tmp_path / "tree"
    shutil.copytree(tree("linux-debian"), root, symlinks=True)
    (root / "platform.json").write_text(json.dumps({"platform": "linux", "environ": environ}))
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return str(root)


@pytest.mark.parametrize(
    ("environ", "files", "named"),
    [
        ({"TRUSTRESOLVE_CONFIG": "/srv/a\0b.ini"}, {}, "TRUSTRESOLVE_CONFIG"),
        (
            {"TRUSTRESOLVE_CONFIG": "/srv/tr.ini"},
            {"srv/tr.ini": "[trustresolve]\ncafile = /etc/ssl/a\0b.pem\n"},
            "cafile",
        ),
        (
            {"TRUSTRESOLVE_CONFIG": "/srv/tr.ini"},
            {"srv/tr.ini": "[trustresolve]\ncapath = /etc/ssl/\0\n"},
            "capath",
        ),
        ({"SSL_CERT_FILE": "/etc/ssl/a\0b.pem"}, {}, "SSL_CERT_FILE"),
        ({"SSL_CERT_DIR": "/etc/ssl/certs:/x\0"}, {}, "SSL_CERT_DIR"),
    ],
)
def test_a_nul_in_a_path_is_an_error_naming_it(
    tmp_path: Path, environ: dict[str, str], files: dict[str, str], named: str
) -> None:
    root = _tree(tmp_path, environ, files)
    with pytest.raises(NoTrustStoreError) as caught:
        resolve(PlatformFacts.from_root(root))
    message = str(caught.value)
    assert named in message and "NUL" in message


@pytest.mark.skipif(os.name == "nt", reason="bytes environment variables are POSIX only")
def test_a_non_utf8_ssl_cert_file_works_like_ssl(tmp_path: Path, evil: trustme.CA) -> None:
    """``SSL_CERT_FILE`` as bytes that are not UTF-8: ssl loads it, and so does trustresolve."""
    ca = trustme.CA()
    directory = os.fsencode(str(tmp_path))
    pinned = directory + b"/ca-\xff\xfe.pem"
    with open(pinned, "wb") as handle:
        handle.write(ca.cert_pem.bytes())
    env = {
        k: v
        for k, v in os.environb.items()
        if k.decode("latin-1") not in (*_TRUST_VARIABLES, "PYTHONPATH")
    }
    env.update(
        {
            b"SSL_CERT_FILE": pinned,
            b"TRUSTRESOLVE_CACHE_DIR": directory + b"/cache",
            b"PYTHONPATH": os.fsencode(SRC),
            b"LC_ALL": b"C.UTF-8",
        }
    )
    results = []
    for issuer in (ca, evil):
        with serve(tls_handler(leaf_context(issuer.issue_cert("127.0.0.1")))) as port:
            code = (
                "import socket, ssl, trustresolve\n"
                "contexts = ssl.create_default_context(), trustresolve.create_default_context()\n"
                "for ctx in contexts:\n"
                f"    with socket.create_connection(('127.0.0.1', {port})) as raw:\n"
                "        try:\n"
                "            ctx.wrap_socket(raw, server_hostname='127.0.0.1').close()\n"
                "            print('VERIFIED')\n"
                "        except ssl.SSLCertVerificationError:\n"
                "            print('REFUSED')\n"
            )
            done = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, env=env, timeout=60, check=False
            )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        results.append(done.stdout.decode().split())
    assert results == [["VERIFIED", "VERIFIED"], ["REFUSED", "REFUSED"]]


# --- 5. the start-up hook ----------------------------------------------------------------------


@pytest.mark.parametrize("raised", ["SystemExit(3)", "KeyboardInterrupt()"])
def test_nothing_raised_in_the_hook_aborts_start_up(
    venv: tuple[str, str], tmp_path: Path, raised: str
) -> None:
    python, site = venv
    missing = tmp_path / "opt" / "prefix" / "ssl"  # never created: the hook has work to do
    install_hook(site, defaults=(str(missing / "cert.pem"), str(missing / "certs")))
    # Runs before the hook's .pth (site reads them in name order): its activate() raises.
    saboteur = Path(site, "01-saboteur.pth")
    saboteur.write_text(
        "import trustresolve._cli.hook as h; exec('def activate():\\n"
        f"    global sabotaged\\n    sabotaged = True\\n    raise {raised}', h.__dict__)\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "TRUSTRESOLVE_CACHE_DIR": str(tmp_path / "cache"),
    }
    try:
        done = subprocess.run(
            # The hook activates when ssl is first imported: that import must survive it.
            [
                python,
                "-c",
                "import ssl, sys; print('alive', sys.modules['trustresolve._cli.hook'].sabotaged)",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        saboteur.unlink()
        Path(site, PTH_NAME).unlink(missing_ok=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["alive", "True"]  # the sabotaged activate() did run


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_the_hook_is_written_0644_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "site"
    target.mkdir()
    previous = os.umask(0)
    try:
        install_hook(str(target), defaults=("/nonexistent/cert.pem", None))
        path = target / PTH_NAME
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        # A file an earlier install left world-writable is rewritten with the mode fixed.
        path.chmod(0o666)
        assert install_hook(str(target), defaults=("/nonexistent/cert.pem", None)).changed
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    finally:
        os.umask(previous)
    assert not list(target.glob("*.tmp"))
