"""Inline comments in ``trustresolve.ini`` as the quickstart writes them; ``;``/``#`` in paths.

configparser's ``inline_comment_prefixes`` rule: a prefix starts a comment only after whitespace.
Trust is checked with real (in-memory) handshakes: the pinned CA verifies, an attacker's does not.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

import trustresolve
from support.servers import memory_handshake
from trustresolve import NoTrustStoreError, PlatformFacts

HOST = "db.internal"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "NIX_SSL_CERT_FILE", "TRUSTRESOLVE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-home"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "config-dirs"))
    return monkeypatch


def _server(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(HOST).configure_cert(context)
    return context


def _pin(monkeypatch: pytest.MonkeyPatch, config: Path, text: str) -> trustresolve.Resolution:
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("TRUSTRESOLVE_CONFIG", str(config))
    return trustresolve.resolve(PlatformFacts.current(), refresh=True)


def test_the_quickstart_example_with_its_comments(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    corp, evil = trustme.CA(), trustme.CA()
    bundle = tmp_path / "ca-bundle.pem"
    corp.cert_pem.write_to_path(str(bundle))
    certs = tmp_path / "certs"
    certs.mkdir()
    # The quickstart's three lines, with this test's paths and its comments verbatim.
    text = (
        "[trustresolve]\n"
        f"cafile = {bundle}    ; relative paths are relative to this file\n"
        f"# capath = {certs}   (a whole-line comment)\n"
        "native = false                ; macOS/Windows: use the snapshot, not the OS verifier\n"
    )
    resolution = _pin(clean_environment, tmp_path / "tr.ini", text)
    assert resolution.source is not None
    assert resolution.source.backend == "config"
    assert resolution.source.cafile == str(bundle)
    assert resolution.source.capath is None
    context = trustresolve.create_default_context()
    assert memory_handshake(context, _server(corp), HOST) is None
    refused = memory_handshake(context, _server(evil), HOST)
    assert isinstance(refused, ssl.SSLCertVerificationError)


def test_relative_path_with_a_comment(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    corp = trustme.CA()
    corp.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    resolution = _pin(
        clean_environment, tmp_path / "tr.ini", "[trustresolve]\ncafile = ca.pem # ours\n"
    )
    assert resolution.source is not None
    assert resolution.source.cafile == str(tmp_path / "ca.pem")


@pytest.mark.parametrize("name", ["corp;2026.pem", "corp#2026.pem", "a;b#c.pem"])
def test_semicolon_or_hash_inside_a_path_is_kept(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    corp, evil = trustme.CA(), trustme.CA()
    bundle = tmp_path / name
    corp.cert_pem.write_to_path(str(bundle))
    # A decoy at the name the path would be cut to if ';'/'#' always started a comment.
    decoy = tmp_path / name.replace("#", ";").split(";")[0]
    evil.cert_pem.write_to_path(str(decoy))
    resolution = _pin(
        clean_environment, tmp_path / "tr.ini", f"[trustresolve]\ncafile = {bundle}\n"
    )
    assert resolution.source is not None
    assert resolution.source.cafile == str(bundle)
    context = trustresolve.create_default_context()
    assert memory_handshake(context, _server(corp), HOST) is None
    assert memory_handshake(context, _server(evil), HOST) is not None


def test_a_prefix_after_whitespace_is_a_comment_even_in_a_path(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The documented limit: "/srv/my ;ca.pem" is read as "/srv/my", which does not exist,
    # so the pin fails loudly (never a silent fall-back to the system store).
    real = tmp_path / "my ;ca.pem"
    trustme.CA().cert_pem.write_to_path(str(real))
    with pytest.raises(NoTrustStoreError) as info:
        _pin(clean_environment, tmp_path / "tr.ini", f"[trustresolve]\ncafile = {real}\n")
    message = str(info.value)
    assert f"cafile = {tmp_path / 'my'} in" in message
    assert "does not exist" in message
