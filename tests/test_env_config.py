"""``env`` and ``config``: authoritative pins, and errors that name the culprit and the fix.

OpenSSL replaces its defaults with ``SSL_CERT_FILE``/``SSL_CERT_DIR`` and never falls back
(architecture §8); trustresolve's config pins are as strict. An empty
variable counts as unset. Every refusal names the variable, file or key and what to do, and
``NoTrustStoreError`` lists every attempt.
"""

from __future__ import annotations

import os
import shutil
import ssl
from typing import Any

import pytest

import trustresolve
from support.trees import EXPECTED, probe_tree, tree, tree_names
from test_unix_layouts import check_resolution
from trustresolve import (
    ConfigurationError,
    NoTrustStoreError,
    PlatformFacts,
    Resolution,
    TrustResolveError,
)

ENV_CONFIG_TREES = tree_names(["env-", "config-"])
TOOL_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
OPENSSL_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")


def first_line(error: BaseException) -> str:
    return str(error).splitlines()[0]


def assert_lists_every_attempt(error: NoTrustStoreError) -> None:
    message = str(error)
    resolution = error.resolution
    assert isinstance(resolution, Resolution)
    assert resolution.source is None
    lines = message.splitlines()
    for attempt in resolution.attempts:
        wanted = (
            f"{attempt.backend}: {attempt.location or '-'}: {attempt.outcome}: {attempt.detail}"
        )
        assert any(wanted in line for line in lines), f"{wanted!r} not in:\n{message}"


# --------------------------------------------------------------------------------------------
# The env-* and config-* trees


@pytest.mark.parametrize("name", ENV_CONFIG_TREES)
def test_env_config_tree(name: str) -> None:
    expected = EXPECTED[name]
    resolution, error = probe_tree(tree(name))
    if expected["exit"] == 1:
        assert error is not None, f"{name}: a bad pin must not fall through"
        assert_lists_every_attempt(error)
        resolution = error.resolution
        # Nothing after the authoritative backend was tried.
        assert not [a for a in resolution.attempts if a.backend == "distro" and a.location]
    else:
        assert error is None, str(error)
        assert resolution is not None and resolution.source is not None
        source = resolution.source.as_dict()
        assert source["backend"] == expected["backend"]
        assert source["kind"] == expected["kind"]
        assert source["cafile"] == expected["cafile"]
        assert source["capath"] == expected["capath"]
        assert source["cert_count"] == expected["cert_count"]
    check_resolution(name, resolution, expected)


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("env-file-missing", ("SSL_CERT_FILE", "/etc/ssl/custom.pem", "does not exist", "unset")),
        ("env-file-empty-file", ("SSL_CERT_FILE", "/etc/ssl/empty.pem", "empty", "unset")),
        (
            "env-dir-missing-member",
            ("SSL_CERT_DIR", "/opt/missing/certs", "does not exist", "unset"),
        ),
        (
            "config-pin-bad",
            (
                "cafile",
                "/opt/corp/missing.pem",
                "/etc/xdg/trustresolve/trustresolve.ini",
                "does not exist",
                "fix the path or remove the key",
            ),
        ),
        (
            "config-unknown-key",
            ("cafiel", "/home/alice/.config/trustresolve/trustresolve.ini", "known keys", "cafile"),
        ),
    ],
)
def test_error_names_the_culprit_and_the_fix(name: str, fragments: tuple[str, ...]) -> None:
    _, error = probe_tree(tree(name))
    assert error is not None
    head = first_line(error)
    for fragment in fragments:
        assert fragment in head, f"{fragment!r} not in {head!r}"


def test_tool_variables_are_reported_not_used() -> None:
    resolution, _ = probe_tree(tree("env-requests-only"))
    assert resolution is not None and resolution.source is not None
    assert resolution.source.backend == "distro"
    env_details = " ".join(a.detail for a in resolution.attempts if a.backend == "env")
    for variable in TOOL_VARIABLES:
        assert variable in env_details


def test_config_files_are_listed_user_first() -> None:
    resolution, _ = probe_tree(tree("config-pin-good"))
    assert resolution is not None
    assert resolution.config_files == (
        "/home/alice/.config/trustresolve/trustresolve.ini",
        "/etc/xdg/trustresolve/trustresolve.ini",
    )
    assert "Config files read:" in resolution.explain()
    assert resolution.as_dict()["config_files"] == list(resolution.config_files)


def test_trustresolve_config_reads_only_that_file() -> None:
    resolution, _ = probe_tree(tree("config-env-pinned"))
    assert resolution is not None
    assert resolution.config_files == ("/srv/app/trustresolve.ini",)


# --------------------------------------------------------------------------------------------
# Built in tmp trees


def make_tree(tmp_path: Any, environ: dict[str, str], base: str = "linux-debian") -> str:
    root = str(tmp_path / "tree")
    shutil.copytree(tree(base), root, symlinks=True)
    import json

    with open(os.path.join(root, "platform.json"), "w") as handle:
        json.dump({"platform": "linux", "environ": environ}, handle)
    return root


def resolve_root(root: str) -> Resolution:
    return trustresolve.resolve(PlatformFacts.from_root(root))


# (environ, files to make in the tree (None: a directory), in the error's first line, not in it)
ERRORS_ON_THE_FIRST_LINE = [
    pytest.param({"SSL_CERT_DIR": "::"}, {}, ["SSL_CERT_DIR"], [], id="cert-dir-only-separators"),
    pytest.param(
        {"SSL_CERT_DIR": "/usr/share/ca-certificates/mozilla"},
        {},
        ["SSL_CERT_DIR", "/usr/share/ca-certificates/mozilla", "hashed"],
        [],
        id="cert-dir-without-hashed-names",
    ),
    pytest.param(
        {"SSL_CERT_FILE": "/etc/ssl/certs"},
        {},
        ["SSL_CERT_FILE", "directory"],
        [],
        id="cert-file-naming-a-directory",
    ),
    pytest.param(
        {"SSL_CERT_FILE": "/etc/ssl/openssl.cnf"},
        {},
        ["SSL_CERT_FILE", "/etc/ssl/openssl.cnf", "PEM"],
        [],
        id="cert-file-with-garbage",
    ),
    # A broken site/user file found by platformdirs is not TRUSTRESOLVE_CONFIG's fault.
    pytest.param(
        {"HOME": "/home/alice"},
        {"home/alice/.config/trustresolve/trustresolve.ini": None},
        ["/home/alice/.config/trustresolve/trustresolve.ini"],
        ["TRUSTRESOLVE_CONFIG"],
        id="unpinned-unreadable-config-file",
    ),
    pytest.param(
        {"TRUSTRESOLVE_CONFIG": "/srv/nowhere.ini"},
        {},
        ["TRUSTRESOLVE_CONFIG", "/srv/nowhere.ini"],
        [],
        id="trustresolve-config-missing",
    ),
    pytest.param(
        {"TRUSTRESOLVE_CONFIG": "/srv/tr.ini"},
        {"srv/tr.ini": "cafile = /x\n"},  # no section header
        ["/srv/tr.ini", "INI"],
        [],
        id="config-not-ini",
    ),
    pytest.param(
        {"TRUSTRESOLVE_CONFIG": "/srv/tr.ini"},
        {"srv/tr.ini": "[trustresolve]\nnative = maybe\n"},
        ["native", "maybe"],
        [],
        id="config-native-not-boolean",
    ),
]


@pytest.mark.parametrize(("environ", "files", "wanted", "unwanted"), ERRORS_ON_THE_FIRST_LINE)
def test_bad_variable_or_config_is_an_error_naming_it(
    tmp_path: Any,
    environ: dict[str, str],
    files: dict[str, str | None],
    wanted: list[str],
    unwanted: list[str],
) -> None:
    root = make_tree(tmp_path, environ)
    for path, content in files.items():
        if content is None:
            os.makedirs(os.path.join(root, path))
            continue
        os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
        with open(os.path.join(root, path), "w") as handle:
            handle.write(content)
    with pytest.raises(NoTrustStoreError) as caught:
        resolve_root(root)
    head = first_line(caught.value)
    assert [part for part in wanted if part not in head] == [], head
    assert [part for part in unwanted if part in head] == [], head


def test_ssl_cert_file_and_dir_together(tmp_path: Any) -> None:
    root = make_tree(
        tmp_path,
        {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt", "SSL_CERT_DIR": "/etc/ssl/certs"},
    )
    resolution = resolve_root(root)
    source = resolution.source
    assert source is not None
    assert source.backend == "env"
    assert (source.display_cafile, source.display_capath) == (
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/ssl/certs",
    )
    assert source.cert_count == 4


def test_ssl_cert_dir_alone_counts_unique_certificates(tmp_path: Any) -> None:
    """The same CA through two listed directories counts once."""
    root = make_tree(tmp_path, {"SSL_CERT_DIR": "/etc/ssl/certs:/usr/lib/ssl/certs"})
    resolution = resolve_root(root)
    assert resolution.source is not None
    assert resolution.source.kind == "dir"
    assert resolution.source.cert_count == 4


def test_empty_config_value_is_not_checked_as_the_root_directory(tmp_path: Any) -> None:
    """``cafile =`` (empty) must not make trustresolve test ``/`` as a bundle."""
    root = make_tree(tmp_path, {"HOME": "/home/alice"})
    config = os.path.join(root, "home/alice/.config/trustresolve")
    os.makedirs(config)
    with open(os.path.join(config, "trustresolve.ini"), "w") as handle:
        handle.write("[trustresolve]\ncafile =\n")
    try:
        resolution = resolve_root(root)
    except NoTrustStoreError as exc:
        head = first_line(exc)
        assert "cafile" in head
        assert "is a directory" not in head, head
        return
    assert resolution.source is not None
    assert not [a for a in resolution.attempts if a.location in ("", "/")]


def test_env_wins_over_config(tmp_path: Any) -> None:
    root = make_tree(
        tmp_path,
        {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt", "TRUSTRESOLVE_CONFIG": "/x.ini"},
    )
    resolution = resolve_root(root)
    assert resolution.source is not None
    assert resolution.source.backend == "env"
    config = [a for a in resolution.attempts if a.backend == "config"]
    assert [a.outcome for a in config] == ["skipped"]


# --------------------------------------------------------------------------------------------
# PlatformFacts.current(): the real environment, controlled


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    for name in (*OPENSSL_VARIABLES, *TOOL_VARIABLES, "NIX_SSL_CERT_FILE", "TRUSTRESOLVE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-home"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "config-dirs"))
    monkeypatch.setenv("TRUSTRESOLVE_CACHE_DIR", str(tmp_path / "cache"))
    return monkeypatch


def write_bundle(path: str, source_tree: str = "linux-debian") -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shutil.copy(os.path.join(tree(source_tree), "etc/ssl/certs/ca-certificates.crt"), path)


def test_current_facts_read_ssl_cert_file(clean_environment: Any, tmp_path: Any) -> None:
    bundle = str(tmp_path / "corp.pem")
    write_bundle(bundle)
    clean_environment.setenv("SSL_CERT_FILE", bundle)
    facts = PlatformFacts.current()
    assert facts.root == "/"
    assert facts.getenv("SSL_CERT_FILE") == bundle
    resolution = trustresolve.resolve(facts)
    assert resolution.source is not None
    assert resolution.source.backend == "env"
    assert resolution.source.cafile == bundle
    assert resolution.source.cert_count == 4


def test_current_facts_empty_ssl_cert_file_is_unset(clean_environment: Any) -> None:
    clean_environment.setenv("SSL_CERT_FILE", "")
    clean_environment.setenv("SSL_CERT_DIR", "")
    facts = PlatformFacts.current()
    assert facts.getenv("SSL_CERT_FILE") is None
    try:
        resolution = trustresolve.resolve(facts)
    except NoTrustStoreError as exc:  # a machine without any store at all
        resolution = exc.resolution
    env = [a for a in resolution.attempts if a.backend == "env"]
    assert [a.outcome for a in env] == ["skipped"]


def test_current_facts_missing_ssl_cert_file_raises(clean_environment: Any, tmp_path: Any) -> None:
    missing = str(tmp_path / "missing.pem")
    clean_environment.setenv("SSL_CERT_FILE", missing)
    with pytest.raises(NoTrustStoreError) as caught:
        trustresolve.resolve(PlatformFacts.current())
    head = first_line(caught.value)
    assert "SSL_CERT_FILE" in head
    assert missing in head
    assert_lists_every_attempt(caught.value)


def test_current_facts_ssl_cert_dir_list(clean_environment: Any, tmp_path: Any) -> None:
    first = tree("solaris11") + "/etc/certs/CA"  # relative links: usable from /
    second = tree("env-dir-list") + "/opt/extra/certs"
    clean_environment.setenv("SSL_CERT_DIR", f":{first}::{second}:")
    resolution = trustresolve.resolve(PlatformFacts.current())
    assert resolution.source is not None
    assert resolution.source.kind == "dir"
    assert resolution.source.capath == f"{first}:{second}"
    # /etc/certs/CA holds A, B and C; /opt/extra/certs holds L.
    assert resolution.source.cert_count == 4


def test_current_facts_config_from_platformdirs(clean_environment: Any, tmp_path: Any) -> None:
    bundle = str(tmp_path / "pinned.pem")
    write_bundle(bundle, "linux-gentoo")
    config_dir = tmp_path / "config-home" / "trustresolve"
    config_dir.mkdir(parents=True)
    (config_dir / "trustresolve.ini").write_text(f"[trustresolve]\ncafile = {bundle}\n")
    resolution = trustresolve.resolve(PlatformFacts.current())
    assert resolution.source is not None
    assert resolution.source.backend == "config"
    assert resolution.source.cafile == bundle
    assert resolution.config_files == (str(config_dir / "trustresolve.ini"),)


def test_current_facts_config_relative_path(clean_environment: Any, tmp_path: Any) -> None:
    write_bundle(str(tmp_path / "etc" / "ca.pem"))
    config = tmp_path / "etc" / "tr.ini"
    config.write_text("[trustresolve]\ncafile = ca.pem\n")
    clean_environment.setenv("TRUSTRESOLVE_CONFIG", str(config))
    resolution = trustresolve.resolve(PlatformFacts.current())
    assert resolution.source is not None
    assert resolution.source.cafile == str(tmp_path / "etc" / "ca.pem")


# --------------------------------------------------------------------------------------------
# The error classes


def test_error_hierarchy() -> None:
    assert issubclass(NoTrustStoreError, TrustResolveError)
    assert issubclass(ConfigurationError, TrustResolveError)
    assert issubclass(ConfigurationError, ValueError)


def test_from_root_refuses_a_file(tmp_path: Any) -> None:
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ConfigurationError) as caught:
        PlatformFacts.from_root(str(path))
    assert str(path) in str(caught.value)


def test_no_trust_store_error_carries_the_resolution() -> None:
    _, error = probe_tree(tree("env-file-missing"))
    assert error is not None
    assert error.resolution.as_dict()["source"] is None
    assert "attempts:" in str(error)


def test_relative_ssl_cert_file_is_relative_to_the_working_directory(
    clean_environment: Any, tmp_path: Any
) -> None:
    """OpenSSL opens a relative SSL_CERT_FILE from the current directory; so must we."""
    write_bundle(str(tmp_path / "work" / "ca.pem"), "linux-gentoo")
    clean_environment.chdir(tmp_path / "work")
    clean_environment.setenv("SSL_CERT_FILE", "ca.pem")
    context = ssl.create_default_context()
    assert len(context.get_ca_certs()) == 2  # what OpenSSL itself does
    resolution = trustresolve.resolve(PlatformFacts.current())
    assert resolution.source is not None
    assert resolution.source.backend == "env"
    assert resolution.source.cert_count == 2
    assert resolution.source.cafile is not None
    assert os.path.samefile(resolution.source.cafile, tmp_path / "work" / "ca.pem")


_CONFIG_DIRS_CHILD = (
    "import sys; from trustresolve._backends.config import _config_dirs; "
    "from trustresolve._machine.facts import PlatformFacts; "
    "found = list(_config_dirs(PlatformFacts.current())); "
    "imported = 'platformdirs' in sys.modules; import platformdirs, json; "
    "site = platformdirs.site_config_dir('trustresolve', appauthor=False, multipath=True); "
    "user = platformdirs.user_config_dir('trustresolve', appauthor=False); "
    "print(json.dumps([found, [user, *site.split(':')], imported]))"
)


@pytest.mark.parametrize(
    "variables",
    [
        {},  # the plain Unix case: named here, platformdirs not imported
        {"HOME": "/home/someone/"},
        {"XDG_CONFIG_HOME": "XDG"},  # platformdirs' own answer from here on
        {"XDG_CONFIG_DIRS": "XDG"},
        {"XDG_CONFIG_DIRS": "XDG:/etc/xdg"},
        {"XDG_CONFIG_HOME": "", "XDG_CONFIG_DIRS": ""},
        {"ANDROID_DATA": "/data", "ANDROID_ROOT": "/system", "SHELL": "/bin/sh"},
    ],
)
def test_config_directories_are_platformdirs_answer_without_importing_it_when_plain(
    tmp_path: Any, variables: dict[str, str]
) -> None:
    """The directories searched for ``trustresolve.ini`` are platformdirs' in every case, and
    on a plain Unix a first run names them without importing platformdirs (15-30 ms)."""
    import json
    import subprocess
    import sys

    from support.trees import SRC

    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ANDROID_"))}
    env.update(HOME=str(tmp_path / "home"), PYTHONPATH=SRC)
    env.update({k: v.replace("XDG", str(tmp_path / "xdg")) for k, v in variables.items()})
    done = subprocess.run(
        [sys.executable, "-c", _CONFIG_DIRS_CHILD],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found, platformdirs_says, imported = json.loads(done.stdout)
    assert found == platformdirs_says
    plain = not any(variables.get(name) for name in ("XDG_CONFIG_HOME", "XDG_CONFIG_DIRS"))
    assert imported is (not (plain and "ANDROID_DATA" not in variables))
