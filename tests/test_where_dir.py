"""where_dir(): one hashed directory holding exactly the resolved trust set, shown through requests.

Every store here is pinned with ``SSL_CERT_FILE``/``SSL_CERT_DIR`` (the real ``env`` backend);
requests is handed the directory as ``verify=`` (it passes a directory to urllib3 as
``ca_cert_dir``), and real loopback servers show which CAs it trusts: the store's CA accepted,
an attacker's refused.
"""

from __future__ import annotations

import contextlib
import os
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme

import trustresolve
from support.servers import TLSServer, http_ok, pinned_store, server_context
from trustresolve import NoTrustStoreError
from trustresolve._machine.model import Resolution, TrustSource
from trustresolve._x509.pem import scan_pem
from trustresolve._x509.subject_hash import subject_hash


@pytest.fixture(scope="module")
def cas() -> dict[str, trustme.CA]:
    """The store's CA, a CA only the store's directory holds, and an attacker's."""
    return {"store": trustme.CA(), "dir-only": trustme.CA(), "evil": trustme.CA()}


@pytest.fixture(scope="module")
def servers(cas: dict[str, trustme.CA]) -> Iterator[dict[str, str]]:
    """An HTTPS loopback server per CA; name -> URL."""
    with contextlib.ExitStack() as stack:
        urls = {}
        for name, ca in cas.items():
            context = server_context(ca.issue_cert("localhost"))
            server = stack.enter_context(TLSServer(context, handler=http_ok))
            urls[name] = f"https://localhost:{server.port}/"
        yield urls


def _hashed_dir(path: Path, *cas: trustme.CA) -> Path:
    """A directory named as ``openssl rehash`` names it, one certificate per file."""
    path.mkdir()
    for ca in cas:
        der = ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode("ascii"))
        prefix = subject_hash(der)
        number = 0
        while (path / f"{prefix}.{number}").exists():
            number += 1
        ca.cert_pem.write_to_path(str(path / f"{prefix}.{number}"))
    return path


def _bundle(path: Path, *cas: trustme.CA) -> Path:
    path.write_bytes(b"".join(ca.cert_pem.bytes() for ca in cas))
    return path


def _accepts(directory: str, url: str) -> bool:
    try:
        response = requests.get(url, verify=directory, timeout=10)
    except requests.exceptions.SSLError:
        return False
    assert response.status_code == 200
    return True


def _trusted(directory: str, servers: dict[str, str]) -> set[str]:
    """The servers whose certificates requests accepts with ``verify=directory``."""
    return {name for name, url in servers.items() if _accepts(directory, url)}


def _der_set(pem: bytes) -> set[bytes]:
    return {cert.der for cert in scan_pem(pem).certificates}


def _directory_set(directory: str) -> set[bytes]:
    found: set[bytes] = set()
    for name in os.listdir(directory):
        if name != "MANIFEST":
            found |= _der_set(Path(directory, name).read_bytes())
    return found


def test_a_system_store_gives_its_own_directory(
    tmp_path: Path, cas: dict[str, trustme.CA], servers: dict[str, str]
) -> None:
    # Debian's layout: the bundle and a hashed directory of the same certificates.
    bundle = _bundle(tmp_path / "ca-certificates.crt", cas["store"])
    certs = _hashed_dir(tmp_path / "certs", cas["store"])
    with pinned_store({"SSL_CERT_FILE": str(bundle), "SSL_CERT_DIR": str(certs)}):
        directory = trustresolve.where_dir()
        assert directory == str(certs)
        assert _trusted(directory, servers) == {"store"}


def test_a_bundle_only_store_gets_a_directory_in_the_cache(
    tmp_path: Path, cas: dict[str, trustme.CA], servers: dict[str, str]
) -> None:
    bundle = _bundle(tmp_path / "cacert.pem", cas["store"])
    with pinned_store({"SSL_CERT_FILE": str(bundle)}):
        directory = trustresolve.where_dir()
        cache = os.environ["TRUSTRESOLVE_CACHE_DIR"]
        assert os.path.commonpath([directory, cache]) == cache
        assert _directory_set(directory) == _der_set(bundle.read_bytes())
        assert _trusted(directory, servers) == {"store"}
        assert trustresolve.where_dir() == directory  # one entry per trust set


def test_a_directory_that_differs_from_its_bundle_is_not_handed_out(
    tmp_path: Path, cas: dict[str, trustme.CA], servers: dict[str, str]
) -> None:
    # OpenSSL trusts the bundle and the directory together; neither alone is the store.
    bundle = _bundle(tmp_path / "ca-certificates.crt", cas["store"])
    certs = _hashed_dir(tmp_path / "certs", cas["dir-only"])
    with pinned_store({"SSL_CERT_FILE": str(bundle), "SSL_CERT_DIR": str(certs)}):
        directory = trustresolve.where_dir()
        assert directory != str(certs)
        assert _directory_set(directory) == _der_set(Path(trustresolve.where()).read_bytes())
        assert _trusted(directory, servers) == {"store", "dir-only"}


def test_a_directory_only_store_is_its_own_answer(
    tmp_path: Path, cas: dict[str, trustme.CA], servers: dict[str, str]
) -> None:
    certs = _hashed_dir(tmp_path / "certs", cas["store"])
    with pinned_store({"SSL_CERT_DIR": str(certs)}):
        assert trustresolve.where_dir() == str(certs)
        assert _trusted(str(certs), servers) == {"store"}


def test_two_directories_become_one(
    tmp_path: Path, cas: dict[str, trustme.CA], servers: dict[str, str]
) -> None:
    first = _hashed_dir(tmp_path / "one", cas["store"])
    second = _hashed_dir(tmp_path / "two", cas["dir-only"])
    with pinned_store({"SSL_CERT_DIR": f"{first}{os.pathsep}{second}"}):
        directory = trustresolve.where_dir()
        assert directory not in (str(first), str(second))
        assert _trusted(directory, servers) == {"store", "dir-only"}


def test_an_unusable_cache_is_an_error_naming_where(
    tmp_path: Path, cas: dict[str, trustme.CA], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cache others could write is refused (architecture §10); no directory is made up.
    cache = tmp_path / "shared-cache"
    cache.mkdir()
    cache.chmod(0o777)
    monkeypatch.setenv("TRUSTRESOLVE_CACHE_DIR", str(cache))
    bundle = _bundle(tmp_path / "cacert.pem", cas["store"])
    with pinned_store({"SSL_CERT_FILE": str(bundle)}), pytest.warns(RuntimeWarning):
        with pytest.raises(NoTrustStoreError, match=r"where\(\)") as raised:
            trustresolve.where_dir()
        assert str(cache) in str(raised.value)


def test_a_cache_path_openssl_would_split_is_an_error(
    tmp_path: Path, cas: dict[str, trustme.CA], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a capath, "a:b" would be two directories, one relative to the working directory.
    cache = tmp_path / f"split{os.pathsep}cache"
    monkeypatch.setenv("TRUSTRESOLVE_CACHE_DIR", str(cache))
    bundle = _bundle(tmp_path / "cacert.pem", cas["store"])
    refused = pytest.raises(NoTrustStoreError, match="separator")
    with pinned_store({"SSL_CERT_FILE": str(bundle)}), pytest.warns(RuntimeWarning), refused:
        trustresolve.where_dir()


def test_native_verification_without_a_snapshot_has_no_directory() -> None:
    native = TrustSource("native", "native")
    with pytest.raises(NoTrustStoreError, match="natively"):
        trustresolve.where_dir(Resolution(native, ()))


_WARM_CHILD = r"""
import sys
preloaded = set(sys.modules)  # the interpreter's own start-up (virtualenv's .pth: typing on 3.9)
import trustresolve
path = trustresolve.where_dir()
heavy = [m for m in ("dataclasses", "typing") if m in sys.modules and m not in preloaded]
import json
print(json.dumps({"path": path, "loader": "trustresolve._tls.load" in sys.modules, "heavy": heavy}))
"""


@pytest.mark.parametrize("layout", ["system", "bundle-only"])
def test_a_warm_where_dir_is_the_memo_and_still_exactly_the_store(
    layout: str, tmp_path: Path, cas: dict[str, trustme.CA], servers: dict[str, str]
) -> None:
    import json
    import subprocess
    import sys

    bundle = _bundle(tmp_path / "bundle.pem", cas["store"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSL_CERT", "TRUSTRESOLVE"))}
    env.update(SSL_CERT_FILE=str(bundle), TRUSTRESOLVE_CACHE_DIR=str(tmp_path / "cache"))
    if layout == "system":
        env["SSL_CERT_DIR"] = str(_hashed_dir(tmp_path / "certs", cas["store"]))

    def child() -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-c", _WARM_CHILD],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    cold, warm = child(), child()
    assert cold["loader"] and not warm["loader"], "the second process answered from the memo"
    assert warm["heavy"] == []
    assert warm["path"] == cold["path"]
    assert _trusted(str(warm["path"]), servers) == {"store"}
    # The store changes (a CA added to the bundle, here the one called "evil"): the memo no
    # longer answers, and the directory handed out trusts the new set.
    _bundle(bundle, cas["store"], cas["evil"])
    changed = child()
    assert changed["loader"]
    assert _trusted(str(changed["path"]), servers) == {"store", "evil"}
