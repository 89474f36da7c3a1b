"""Every fix ``--connect`` prints as code or a command works as printed: each is taken from the
verdict (the text between backticks) and run against the server that produced the verdict.
"""

from __future__ import annotations

import os
import re
import shlex
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

import trustresolve
from support.cli import clean_env
from support.servers import handshake, leaf_context, serve, tls_handler
from test_connect_client import Mtls, run, talks
from trustresolve._cli.connect import Cause, Verdict, diagnose

V = ssl.TLSVersion


pytestmark = pytest.mark.usefixtures("doctor_env")


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # the fixes name files relative to here (CA.pem, client.crt)


def codes(verdict: Verdict) -> list[str]:
    """The code and commands of the verdict's fixes, in order."""
    return [code for fix in verdict.fixes for code in re.findall(r"`([^`]+)`", fix)]


def the_code(verdict: Verdict, containing: str) -> str:
    found = [code for code in codes(verdict) if containing in code]
    assert len(found) == 1, (containing, verdict.fixes)
    return found[0]


def build(code: str, **names: object) -> ssl.SSLContext:
    """Evaluate a printed expression as a program would, with ``ssl`` and ``trustresolve``."""
    context = eval(code, {"ssl": ssl, "trustresolve": trustresolve, **names})
    assert isinstance(context, ssl.SSLContext)
    return context


# --- protocol versions ---------------------------------------------------------------------------


# ssl deprecates the versions this test has to speak (3.10+); the warning that matters here is
# trustresolve's own InsecureContextWarning, which the test asserts.
@pytest.mark.filterwarnings(r"ignore:ssl\.TLSVersion\.TLSv1(_1)? is deprecated:DeprecationWarning")
@pytest.mark.parametrize("best", [V.TLSv1, V.TLSv1_1], ids=["tls1.0", "tls1.1"])
def test_the_legacy_floor_fix_reaches_the_server(best: ssl.TLSVersion, tmp_path: Path) -> None:
    ca = trustme.CA()
    cafile = str(tmp_path / "ca.pem")
    ca.cert_pem.write_to_path(cafile)
    context = leaf_context(ca.issue_cert("127.0.0.1"), minimum=V.TLSv1, maximum=best)
    with serve(tls_handler(context)) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=cafile).verdict
        uri_verdict = diagnose(f"mongodb://127.0.0.1:{port}/?tls=true&tlsCAFile={cafile}").verdict
        assert verdict.cause is Cause.PROTOCOL_MISMATCH
        code = the_code(verdict, "create_context")
        assert code.endswith(f"create_context(minimum_version=ssl.TLSVersion.{best.name})")
        assert f"tlsCAFile={cafile!r}" in code
        uri_code = the_code(uri_verdict, "create_context")
        assert uri_code.startswith("trustresolve.TLSOptions.from_uri(uri)")
        with pytest.warns(trustresolve.InsecureContextWarning):
            fixed = build(code)
            fixed_by_uri = build(
                uri_code, uri=f"mongodb://127.0.0.1:{port}/?tls=true&tlsCAFile={cafile}"
            )
        handshake(fixed, ("127.0.0.1", port), "127.0.0.1")
        handshake(fixed_by_uri, ("127.0.0.1", port), "127.0.0.1")
        if best is V.TLSv1:  # the old advice (TLS 1.1) does not reach a TLS 1.0 server
            with pytest.warns(trustresolve.InsecureContextWarning):
                too_high = build(code.replace("TLSv1)", "TLSv1_1)"))
            with pytest.raises(ssl.SSLError):
                handshake(too_high, ("127.0.0.1", port), "127.0.0.1")


# --- an unknown CA -------------------------------------------------------------------------------


@pytest.fixture
def unknown_issuer(tmp_path: Path) -> Iterator[tuple[int, Verdict]]:
    """A server whose CA the client lacks, that CA in CA.pem, and the verdict."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "CA.pem"))
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with serve(tls_handler(leaf_context(ca.issue_cert("127.0.0.1")))) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=str(other)).verdict
        assert verdict.cause is Cause.UNKNOWN_ISSUER
        yield port, verdict


def test_cafile_fix(
    unknown_issuer: tuple[int, Verdict], capsys: pytest.CaptureFixture[str]
) -> None:
    port, verdict = unknown_issuer
    code, out = run(capsys, f"127.0.0.1:{port}", *shlex.split(the_code(verdict, "--cafile")))
    assert code == 0, out


def test_tlscafile_fix(unknown_issuer: tuple[int, Verdict]) -> None:
    port, verdict = unknown_issuer
    option = the_code(verdict, "tlsCAFile")
    assert diagnose(f"mongodb://127.0.0.1:{port}/?tls=true&{option}").verdict.verified


def test_create_default_context_fix(unknown_issuer: tuple[int, Verdict]) -> None:
    port, verdict = unknown_issuer
    handshake(build(the_code(verdict, "create_default_context")), ("127.0.0.1", port), "127.0.0.1")


def test_bundle_fix(unknown_issuer: tuple[int, Verdict], tmp_path: Path) -> None:
    port, verdict = unknown_issuer
    command = the_code(verdict, "--export")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python"  # `python` in the command is this interpreter (venv and all)
    python.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    python.chmod(0o755)
    env = clean_env(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run(command, shell=True, check=True, env=env, cwd=tmp_path, timeout=120)
    name, _, value = the_code(verdict, "SSL_CERT_FILE=").partition("=")
    os.environ[name] = value  # restored by doctor_env (its monkeypatch removed SSL_CERT_FILE first)
    trustresolve.resolve(refresh=True)
    assert diagnose(f"127.0.0.1:{port}").verdict.verified


# --- a server requiring a client certificate -----------------------------------------------------


@pytest.fixture
def requires_client(tmp_path: Path) -> Iterator[tuple[int, Mtls, Verdict]]:
    mtls = Mtls(tmp_path)  # writes ca.pem, client.crt, client.key here
    pair = Path(mtls.cert).read_bytes() + Path(mtls.key).read_bytes()
    (tmp_path / "client.pem").write_bytes(pair)
    with serve(tls_handler(mtls.server_context(V.TLSv1_3))) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile="ca.pem").verdict
        assert verdict.cause is Cause.CLIENT_CERT_REQUIRED
        yield port, mtls, verdict


def test_cert_and_key_fix(
    requires_client: tuple[int, Mtls, Verdict], capsys: pytest.CaptureFixture[str]
) -> None:
    port, _, verdict = requires_client
    argv = shlex.split(the_code(verdict, "--cert"))
    code, out = run(capsys, f"127.0.0.1:{port}", "--cafile", "ca.pem", *argv)
    assert code == 0, out


def test_load_cert_chain_fix(requires_client: tuple[int, Mtls, Verdict]) -> None:
    port, _, verdict = requires_client
    context = trustresolve.create_default_context(cafile="ca.pem")
    with pytest.raises(ssl.SSLError):  # the control: refused without the fix
        talks(port, context)
    exec(the_code(verdict, "load_cert_chain"), {"context": context})
    assert talks(port, context)


@pytest.mark.parametrize(
    ("spelling", "uri"),
    [
        ("tlsCertificateKeyFile", "mongodb://127.0.0.1:{port}/?tls=true&tlsCAFile=ca.pem&{options}"),
        ("sslcert", "postgresql://127.0.0.1:{port}/db?sslmode=verify-full&sslrootcert=ca.pem&{options}"),
        ("ssl-cert", "mysql://127.0.0.1:{port}/?ssl-mode=VERIFY_IDENTITY&ssl-ca=ca.pem&{options}"),
        ("ssl_certfile", "rediss://127.0.0.1:{port}/0?ssl_ca_certs=ca.pem&{options}"),
    ],
)  # fmt: skip
def test_uri_certificate_fix_in_each_dialect(
    spelling: str, uri: str, requires_client: tuple[int, Mtls, Verdict]
) -> None:
    port, _, verdict = requires_client
    options = the_code(verdict, f"{spelling}=")
    context = trustresolve.TLSOptions.from_uri(uri.format(port=port, options=options))
    built = context.create_context()
    assert built is not None
    assert talks(port, built)


# --- any other verification error ----------------------------------------------------------------


def test_the_s_client_command_shows_the_failing_check(tmp_path: Path) -> None:
    from support.ca import client_only_leaf
    from support.servers import pem_server_context

    ca = trustme.CA()
    cafile = str(tmp_path / "ca.pem")
    ca.cert_pem.write_to_path(cafile)
    with serve(tls_handler(pem_server_context(*client_only_leaf(ca)))) as port:
        verdict = diagnose(f"127.0.0.1:{port}", cafile=cafile).verdict
        assert verdict.cause is Cause.VERIFY_FAILED
        assert verdict.evidence["code"] == 26  # X509_V_ERR_INVALID_PURPOSE
        done = subprocess.run(
            the_code(verdict, "openssl s_client"),
            shell=True,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert "verify error:num=26:unsuitable certificate purpose" in done.stdout + done.stderr
