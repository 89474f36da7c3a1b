"""PostgreSQL, MySQL/MariaDB and Redis TLS options: parsing, settling, contexts, driver_kwargs.

Trust is shown with in-memory handshakes (a trustme CA, an attacker's "EVIL" CA); the real
servers and clients are in tests/test_drivers_*.py.
"""

from __future__ import annotations

import ssl
import warnings
from pathlib import Path

import pytest
import trustme

import trustresolve
from support.ca import signed_crl
from support.servers import memory_handshake, pinned_store, server_context
from trustresolve import ConfigurationError, InsecureContextWarning, TLSOptions

HOST = "db.example"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A CA, its leaf for HOST, a wrong-host leaf, a revoked leaf and a CRL; an EVIL leaf."""
    root = tmp_path_factory.mktemp("pki")
    ca, evil = trustme.CA(), trustme.CA()
    good = ca.issue_cert(HOST)
    revoked = ca.issue_cert(HOST)
    crl = root / "crl.pem"
    crl.write_bytes(signed_crl(ca, [revoked]))
    crl_dir = root / "crls"
    crl_dir.mkdir()
    (crl_dir / "ca.r0").write_bytes(signed_crl(ca, [revoked]))
    ca_pem = root / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    client = ca.issue_cert("client")
    cert = root / "client.crt"
    client.cert_chain_pems[0].write_to_path(str(cert))
    key = root / "client.key"
    key.write_bytes(client.private_key_pem.bytes())
    return {
        "ca": ca,
        "ca_pem": str(ca_pem),
        "good": good,
        "revoked": revoked,
        "wrong_host": ca.issue_cert("other.example"),
        "evil": evil.issue_cert(HOST),
        "crl": str(crl),
        "crl_dir": str(crl_dir),
        "cert": str(cert),
        "key": str(key),
    }


def _handshake(context: ssl.SSLContext | None, leaf: object) -> ssl.SSLError | None:
    assert context is not None
    return memory_handshake(context, server_context(leaf), HOST)


def _quiet(options: TLSOptions) -> ssl.SSLContext | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureContextWarning)
        return options.create_context()


@pytest.fixture(autouse=True)
def _no_libpq_home_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """libpq's ~/.postgresql/root.crt must not come from the machine running the tests."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


# --- dialect and scheme ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "dialect", "tls"),
    [
        ("postgresql://u:p@h/db", "postgresql", True),
        ("postgres://h/db?sslmode=disable", "postgresql", False),
        ("mysql://h/db", "mysql", True),
        ("mariadb://h/db?ssl-mode=DISABLED", "mysql", False),
        ("redis://h:6379/0", "redis", False),
        ("rediss://h:6380/0", "redis", True),
        ("mongodb://h/?tls=true", "mongodb", True),
    ],
)
def test_scheme_picks_the_dialect(uri: str, dialect: str, tls: bool) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureContextWarning)
        options = TLSOptions.from_uri(uri)
    assert (options.dialect, options.tls) == (dialect, tls)


def test_tls_off_gives_no_context() -> None:
    for uri in ("postgresql://h/?sslmode=disable", "mysql://h/?ssl_mode=disabled", "redis://h"):
        assert trustresolve.context_from_uri(uri) is None


def test_from_kwargs_default_dialect_is_mongodb() -> None:
    assert TLSOptions.from_kwargs(tls=True).dialect == "mongodb"
    with pytest.raises(ConfigurationError, match=r"dialect='sqlite' is not valid.*postgresql"):
        TLSOptions.from_kwargs(dialect="sqlite")


# --- PostgreSQL --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "verify_mode", "check_hostname"),
    [
        ("allow", ssl.CERT_NONE, False),
        ("prefer", ssl.CERT_NONE, False),
        ("require", ssl.CERT_NONE, False),
        ("verify-ca", ssl.CERT_REQUIRED, False),
        ("verify-full", ssl.CERT_REQUIRED, True),
    ],
)
def test_libpq_modes(mode: str, verify_mode: ssl.VerifyMode, check_hostname: bool) -> None:
    options = TLSOptions.from_kwargs(dialect="postgresql", sslmode=mode)
    assert (options.verify_mode, options.check_hostname) == (verify_mode, check_hostname)


@pytest.mark.parametrize("mode", ["allow", "prefer", "require"])
def test_weak_modes_warn_naming_the_mode(mode: str) -> None:
    options = TLSOptions.from_uri(f"postgresql://h/db?sslmode={mode}")
    with pytest.warns(InsecureContextWarning, match=f"sslmode={mode}"):
        context = options.create_context()
    assert context is not None and context.verify_mode == ssl.CERT_NONE


def test_require_with_a_root_file_verifies_the_chain(pki: dict[str, object]) -> None:
    # libpq: "if a root CA file exists, sslmode=require behaves like verify-ca".
    options = TLSOptions.from_kwargs(
        dialect="postgresql", sslmode="require", sslrootcert=pki["ca_pem"]
    )
    context = options.create_context()
    assert (options.verify_mode, options.check_hostname) == (ssl.CERT_REQUIRED, False)
    assert _handshake(context, pki["wrong_host"]) is None
    assert _handshake(context, pki["evil"]) is not None


def test_default_root_file_in_home_counts(pki: dict[str, object], tmp_path: Path) -> None:
    (tmp_path / ".postgresql").mkdir()
    (tmp_path / ".postgresql" / "root.crt").write_bytes(Path(str(pki["ca_pem"])).read_bytes())
    options = TLSOptions.from_uri("postgresql://h/db?sslmode=prefer")
    assert options.verify_mode == ssl.CERT_REQUIRED
    assert _handshake(options.create_context(), pki["evil"]) is not None
    kwargs = options.driver_kwargs()
    assert kwargs["sslrootcert"] == str(tmp_path / ".postgresql" / "root.crt")


def test_verify_full_and_verify_ca_against_the_named_ca(pki: dict[str, object]) -> None:
    uri = f"postgresql://u@{HOST}/db?sslrootcert={pki['ca_pem']}&sslmode="
    full = trustresolve.context_from_uri(uri + "verify-full")
    ca_only = trustresolve.context_from_uri(uri + "verify-ca")
    assert _handshake(full, pki["good"]) is None
    assert _handshake(full, pki["wrong_host"]) is not None
    assert _handshake(ca_only, pki["wrong_host"]) is None
    for context in (full, ca_only):
        assert _handshake(context, pki["evil"]) is not None
    assert full is not None and full.get_ca_certs()[0]["subject"]
    assert len(full.get_ca_certs()) == 1  # sslrootcert replaces the store


def test_verify_full_without_a_ca_uses_the_resolved_store(pki: dict[str, object]) -> None:
    with pinned_store({"SSL_CERT_FILE": str(pki["ca_pem"])}):
        for uri in (
            "postgresql://h/db?sslmode=verify-full",
            "postgresql://h/db?sslrootcert=system",
        ):
            options = TLSOptions.from_uri(uri)
            assert options.check_hostname
            context = options.create_context()
            assert _handshake(context, pki["good"]) is None
            assert _handshake(context, pki["evil"]) is not None
            kwargs = options.driver_kwargs()
            assert kwargs["sslmode"] == "verify-full"
            assert kwargs["sslrootcert"] == trustresolve.where()


def test_system_refuses_weak_modes() -> None:
    with pytest.raises(ConfigurationError, match="weak sslmode 'require' may not be used"):
        TLSOptions.from_uri("postgresql://h/?sslrootcert=system&sslmode=require")


def test_direct_negotiation_needs_a_strong_mode() -> None:
    with pytest.raises(ConfigurationError, match="sslnegotiation=direct"):
        TLSOptions.from_uri("postgresql://h/?sslnegotiation=direct")
    options = TLSOptions.from_uri("postgresql://h/?sslnegotiation=direct&sslmode=verify-full")
    assert options.driver_kwargs()["sslnegotiation"] == "direct"


def test_crl_revokes_and_crl_dir_too(pki: dict[str, object]) -> None:
    base_ = {"dialect": "postgresql", "sslmode": "verify-full", "sslrootcert": pki["ca_pem"]}
    for extra in ({"sslcrl": pki["crl"]}, {"sslcrldir": pki["crl_dir"]}):
        context = TLSOptions.from_kwargs(**base_, **extra).create_context()
        assert _handshake(context, pki["good"]) is None
        error = _handshake(context, pki["revoked"])
        assert error is not None and "revoked" in str(error)


def test_crl_dir_with_a_certificate_is_refused(pki: dict[str, object], tmp_path: Path) -> None:
    crls = tmp_path / "crls"
    crls.mkdir()
    (crls / "x.0").write_bytes(Path(str(pki["ca_pem"])).read_bytes())
    options = TLSOptions.from_kwargs(
        dialect="postgresql", sslmode="verify-full", sslcrldir=str(crls)
    )
    with pytest.raises(ConfigurationError, match="sslcrldir"):
        options.create_context()


def test_crl_with_a_mode_that_verifies_nothing_is_refused(pki: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match=r"sslcrl=.*sslmode=require"):
        TLSOptions.from_kwargs(dialect="postgresql", sslmode="require", sslcrl=pki["crl"])


def test_protocol_versions_and_alpn(pki: dict[str, object]) -> None:
    options = TLSOptions.from_uri(
        "postgresql://h/?sslmode=verify-full&ssl_min_protocol_version=TLSv1.3"
        f"&ssl_max_protocol_version=tlsv1.3&sslrootcert={pki['ca_pem']}"
    )
    context = options.create_context()
    assert context is not None
    assert (context.minimum_version, context.maximum_version) == (
        ssl.TLSVersion.TLSv1_3,
        ssl.TLSVersion.TLSv1_3,
    )
    with pytest.raises(ConfigurationError, match="range is empty"):
        TLSOptions.from_uri(
            "postgresql://h/?ssl_min_protocol_version=TLSv1.3&ssl_max_protocol_version=TLSv1.2"
        )


def test_client_certificate_with_a_separate_key(pki: dict[str, object]) -> None:
    ca = pki["ca"]
    assert isinstance(ca, trustme.CA)
    server = server_context(pki["good"], client_ca=ca)
    options = TLSOptions.from_kwargs(
        dialect="postgresql",
        sslmode="verify-full",
        sslrootcert=pki["ca_pem"],
        sslcert=pki["cert"],
        sslkey=pki["key"],
    )
    context = options.create_context()
    assert context is not None
    assert memory_handshake(context, server, HOST) is None
    bare = TLSOptions.from_kwargs(
        dialect="postgresql", sslmode="verify-full", sslrootcert=pki["ca_pem"]
    )
    bare_context = bare.create_context()
    assert bare_context is not None
    assert memory_handshake(bare_context, server, HOST) is not None
    with pytest.raises(ConfigurationError, match=r"sslkey=.*give sslcert"):
        TLSOptions.from_kwargs(dialect="postgresql", sslkey=pki["key"])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sslmode=bogus", "sslmode=bogus is not valid for PostgreSQL.*disable, allow, prefer"),
        ("sslmode=VERIFY-FULL", "sslmode=VERIFY-FULL is not valid"),
        ("sslrootcert=/nonexistent/ca.pem", "sslrootcert: cannot read '/nonexistent/ca.pem'"),
        ("sslsni=2", "sslsni=2 is not valid.*1 \\(send SNI\\) or 0"),
        ("ssl_ca_certs=/x", "'ssl_ca_certs' is a Redis.*use sslrootcert"),
        ("tlsCAFile=/x", "'tlsCAFile' is a MongoDB option .*use sslrootcert"),
        ("ssl-mode=REQUIRED", "'ssl-mode' is a MySQL/MariaDB option.*use sslmode"),
        ("sslmdoe=require", "did you mean sslmode"),
        ("sslmode=require&sslmode=disable", "sslmode is given twice"),
    ],
)
def test_libpq_rejections(query: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        TLSOptions.from_uri(f"postgresql://user:secret@h/db?{query}")


def test_other_uri_parameters_are_left_to_the_driver() -> None:
    options = TLSOptions.from_uri(
        "postgresql://h/db?application_name=x&connect_timeout=3&sslmode=verify-full"
    )
    assert options.as_dict() == {"sslmode": "verify-full"}


def test_password_is_never_shown(pki: dict[str, object]) -> None:
    options = TLSOptions.from_kwargs(
        dialect="postgresql", sslcert=pki["cert"], sslpassword="hunter2", sslmode="verify-full"
    )
    assert "hunter2" not in repr(options)
    with pytest.raises(ConfigurationError) as info:
        TLSOptions.from_kwargs(dialect="redis", ssl=True, ssl_password=b"hunter2")
    assert "hunter2" not in str(info.value)


def test_merged_overrides_and_removes(pki: dict[str, object]) -> None:
    options = TLSOptions.from_uri(f"postgresql://h/?sslmode=verify-ca&sslrootcert={pki['ca_pem']}")
    stronger = options.merged(sslmode="verify-full")
    assert stronger.check_hostname and stronger.dialect == "postgresql"
    assert options.merged(sslrootcert=None).ca_file is None
    context = trustresolve.context_from_uri(
        "postgresql://h/?sslmode=verify-ca", sslrootcert=pki["ca_pem"]
    )
    assert _handshake(context, pki["evil"]) is not None


def test_libpq_driver_kwargs_are_explicit(pki: dict[str, object]) -> None:
    options = TLSOptions.from_kwargs(
        dialect="postgresql",
        sslmode="verify-ca",
        sslrootcert=pki["ca_pem"],
        sslcrl=pki["crl"],
        sslsni=False,
    )
    assert options.driver_kwargs() == {
        "sslmode": "verify-ca",
        "sslrootcert": pki["ca_pem"],
        "sslcrl": pki["crl"],
        "sslsni": "0",
        "ssl_min_protocol_version": "TLSv1.2",
    }
    assert TLSOptions.from_uri("postgres://h/?sslmode=disable").driver_kwargs() == {
        "sslmode": "disable"
    }


# --- MySQL / MariaDB ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "tls", "verify_mode", "check_hostname"),
    [
        ({}, True, ssl.CERT_NONE, False),
        ({"ssl_mode": "DISABLED"}, False, ssl.CERT_NONE, False),
        ({"ssl_disabled": True}, False, ssl.CERT_NONE, False),
        ({"ssl-mode": "preferred"}, True, ssl.CERT_NONE, False),
        ({"ssl_mode": "REQUIRED"}, True, ssl.CERT_NONE, False),
        ({"ssl_mode": "VERIFY_CA"}, True, ssl.CERT_REQUIRED, False),
        ({"ssl_mode": "VERIFY_IDENTITY"}, True, ssl.CERT_REQUIRED, True),
        # PyMySQL's ssl_ca alone would not verify at all; here it means VERIFY_IDENTITY.
        ({"ssl_ca": "CA"}, True, ssl.CERT_REQUIRED, True),
        ({"ssl_ca": "CA", "ssl_verify_cert": True}, True, ssl.CERT_REQUIRED, True),
        ({"ssl_ca": "CA", "ssl_verify_identity": False}, True, ssl.CERT_REQUIRED, False),
        ({"ssl_verify_cert": False}, True, ssl.CERT_NONE, False),
        ({"ssl": {"ca": "CA"}}, True, ssl.CERT_REQUIRED, True),
        ({"ssl": {"ca": "CA", "check_hostname": False}}, True, ssl.CERT_REQUIRED, False),
        ({"ssl": {"verify_mode": "none"}}, True, ssl.CERT_NONE, False),
    ],
)
def test_mysql_modes(
    pki: dict[str, object],
    options: dict[str, object],
    tls: bool,
    verify_mode: ssl.VerifyMode,
    check_hostname: bool,
) -> None:
    def fill(value: object) -> object:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return pki["ca_pem"] if value == "CA" else value

    parsed = TLSOptions.from_kwargs(dialect="mysql", **{k: fill(v) for k, v in options.items()})
    assert (parsed.tls, parsed.verify_mode, parsed.check_hostname) == (
        tls,
        verify_mode,
        check_hostname,
    )


def test_mysql_required_with_a_ca_does_not_use_it_and_says_so(pki: dict[str, object]) -> None:
    options = TLSOptions.from_uri(f"mysql://h/db?ssl-mode=REQUIRED&ssl-ca={pki['ca_pem']}")
    with pytest.warns(InsecureContextWarning, match="ssl-mode=REQUIRED; ssl-ca is not used"):
        context = options.create_context()
    assert _handshake(context, pki["evil"]) is None  # REQUIRED encrypts, verifies nothing


def test_mysql_verify_modes_against_real_handshakes(pki: dict[str, object]) -> None:
    # MySQL Shell wraps a path in parentheses instead of percent-encoding it.
    uri = f"mariadb://app@{HOST}/shop?ssl-ca=({pki['ca_pem']})&ssl-mode="
    identity = trustresolve.context_from_uri(uri + "VERIFY_IDENTITY")
    ca_only = trustresolve.context_from_uri(uri + "VERIFY_CA")
    assert _handshake(identity, pki["good"]) is None
    assert _handshake(identity, pki["wrong_host"]) is not None
    assert _handshake(ca_only, pki["wrong_host"]) is None
    assert _handshake(ca_only, pki["evil"]) is not None
    revoking = TLSOptions.from_kwargs(dialect="mysql", ssl_ca=pki["ca_pem"], ssl_crl=pki["crl"])
    assert _handshake(revoking.create_context(), pki["revoked"]) is not None


def test_mysql_without_a_ca_verifies_against_the_resolved_store(pki: dict[str, object]) -> None:
    with pinned_store({"SSL_CERT_FILE": str(pki["ca_pem"])}):
        options = TLSOptions.from_uri("mysql://h/db?ssl_mode=VERIFY_IDENTITY")
        context = options.create_context()
        assert _handshake(context, pki["good"]) is None
        assert _handshake(context, pki["evil"]) is not None
        kwargs = options.driver_kwargs()
        assert set(kwargs) == {"ssl"}
        assert _handshake(kwargs["ssl"], pki["evil"]) is not None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"ssl_mode": "VERIFY_FULL"},
            "ssl_mode=VERIFY_FULL is not valid for MySQL/MariaDB.*"
            "DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY",
        ),
        ({"ssl_mode": "REQUIRED", "ssl_verify_cert": True}, "contradicts ssl_mode=REQUIRED"),
        ({"ssl_mode": "VERIFY_CA", "ssl_disabled": True}, "ssl_disabled=True contradicts"),
        ({"ssl_verify_identity": True, "ssl_verify_cert": False}, "cannot be used with"),
        ({"tls_version": "TLSv1.2,TLSv1.4"}, "tls_version=TLSv1.2,TLSv1.4 is not valid"),
        ({"tls_version": "TLSv1,TLSv1.3"}, "leaves a gap"),
        ({"sslmode": "require"}, "'sslmode' is a PostgreSQL.*use ssl_mode"),
        ({"ssl": {"cipher": "AES"}}, "key 'cipher'"),
        ({"ssl": ssl.create_default_context()}, "is an ssl.SSLContext"),
        ({"ssl_mode": "REQUIRED", "ssl_crl": "CRL"}, "ssl_crl=.*verifies nothing"),
    ],
)
def test_mysql_rejections(pki: dict[str, object], options: dict[str, object], message: str) -> None:
    options = {k: (pki["crl"] if v == "CRL" else v) for k, v in options.items()}
    with pytest.raises(ConfigurationError, match=message):
        TLSOptions.from_kwargs(dialect="mysql", **options)


def test_mysql_tls_version_list() -> None:
    options = TLSOptions.from_uri("mysql://h/?ssl-mode=VERIFY_CA&tls-version=TLSv1.3")
    assert options.as_dict()["tls_version"] == (ssl.TLSVersion.TLSv1_3,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureContextWarning)
        context = TLSOptions.from_uri("mysql://h/?tls_version=TLSv1.2,TLSv1.3&ssl-mode=REQUIRED")
        built = context.create_context()
    assert built is not None
    assert (built.minimum_version, built.maximum_version) == (
        ssl.TLSVersion.TLSv1_2,
        ssl.TLSVersion.TLSv1_3,
    )


def test_mysql_driver_kwargs_when_off() -> None:
    assert TLSOptions.from_uri("mysql://h/?ssl-mode=DISABLED").driver_kwargs() == {
        "ssl_disabled": True
    }


# --- Redis -------------------------------------------------------------------------------------


def test_redis_tls_needs_rediss_or_ssl_true(pki: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match=r"TLS is off.*ssl_ca_certs=.*use rediss://"):
        TLSOptions.from_uri(f"redis://h/0?ssl_ca_certs={pki['ca_pem']}")
    with pytest.raises(ConfigurationError, match="use the rediss:// scheme"):
        TLSOptions.from_uri("redis://h/0?ssl=true")
    assert TLSOptions.from_kwargs(dialect="redis", ssl=True).tls


@pytest.mark.parametrize(
    ("query", "verify_mode", "check_hostname"),
    [
        ("", ssl.CERT_REQUIRED, True),
        ("ssl_cert_reqs=required", ssl.CERT_REQUIRED, True),
        ("ssl_cert_reqs=optional", ssl.CERT_OPTIONAL, True),
        ("ssl_cert_reqs=required&ssl_check_hostname=false", ssl.CERT_REQUIRED, False),
        ("ssl_cert_reqs=none", ssl.CERT_NONE, False),
    ],
)
def test_redis_cert_reqs(query: str, verify_mode: ssl.VerifyMode, check_hostname: bool) -> None:
    options = TLSOptions.from_uri(f"rediss://:pw@h:6380/0?{query}")
    assert (options.verify_mode, options.check_hostname) == (verify_mode, check_hostname)


def test_redis_none_warns_and_verifies_nothing(pki: dict[str, object]) -> None:
    with pytest.warns(InsecureContextWarning, match="ssl_cert_reqs=none"):
        context = trustresolve.context_from_uri("rediss://h/0?ssl_cert_reqs=none")
    assert _handshake(context, pki["evil"]) is None


def test_redis_ca_file_path_and_data(pki: dict[str, object], tmp_path: Path) -> None:
    ca = pki["ca"]
    assert isinstance(ca, trustme.CA)
    hashed = tmp_path / "hashed"
    hashed.mkdir()
    subject_hash = trustresolve_subject_hash(Path(str(pki["ca_pem"])))
    (hashed / f"{subject_hash}.0").write_bytes(ca.cert_pem.bytes())
    for extra in (
        {"ssl_ca_certs": pki["ca_pem"]},
        {"ssl_ca_data": ca.cert_pem.bytes().decode()},
        {"ssl_ca_path": str(hashed)},
    ):
        context = TLSOptions.from_kwargs(dialect="redis", ssl=True, **extra).create_context()
        assert _handshake(context, pki["good"]) is None
        assert _handshake(context, pki["wrong_host"]) is not None
        assert _handshake(context, pki["evil"]) is not None


def trustresolve_subject_hash(pem: Path) -> str:
    import subprocess

    out = subprocess.run(
        ["openssl", "x509", "-noout", "-subject_hash", "-in", str(pem)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"ssl_cert_reqs": "CERT_NONE"},
            "ssl_cert_reqs=CERT_NONE is not valid for Redis.*none, optional, required",
        ),
        ({"ssl_cert_reqs": "none", "ssl_check_hostname": True}, "cannot be used with"),
        ({"ssl_min_version": "TLSv1.9"}, "ssl_min_version=TLSv1.9 is not valid"),
        ({"ssl_ca_data": ""}, "ssl_ca_data= is not valid"),
        ({"sslrootcert": "x"}, "'sslrootcert' is a PostgreSQL.*use ssl_ca_certs"),
        ({"tlsCAFile": "x"}, "'tlsCAFile' is a MongoDB option .*use ssl_ca_certs"),
        ({"ssl_ca_data": "not a certificate"}, "ssl_ca_data could not be loaded"),
    ],
)
def test_redis_rejections(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        TLSOptions.from_kwargs(dialect="redis", ssl=True, **options).create_context()


def test_redis_min_version_forms() -> None:
    for raw in ("771", "TLSv1_2", "TLSv1.2", ssl.TLSVersion.TLSv1_2):
        options = TLSOptions.from_kwargs(dialect="redis", ssl=True, ssl_min_version=raw)
        assert options.driver_kwargs()["ssl_min_version"] == ssl.TLSVersion.TLSv1_2


def test_redis_driver_kwargs_fill_in_the_resolved_store(pki: dict[str, object]) -> None:
    with pinned_store({"SSL_CERT_FILE": str(pki["ca_pem"])}):
        kwargs = TLSOptions.from_uri("rediss://h:6380/0").driver_kwargs()
        assert kwargs == {
            "ssl": True,
            "ssl_cert_reqs": "required",
            "ssl_check_hostname": True,
            "ssl_min_version": ssl.TLSVersion.TLSv1_2,
            "ssl_ca_certs": trustresolve.where(),
        }
    assert TLSOptions.from_uri("redis://h").driver_kwargs() == {"ssl": False}
    named = TLSOptions.from_kwargs(dialect="redis", ssl=True, ssl_ca_certs=pki["ca_pem"])
    assert named.driver_kwargs()["ssl_ca_certs"] == pki["ca_pem"]


# --- MongoDB keeps its behaviour; its driver_kwargs --------------------------------------------


def test_mongodb_driver_kwargs(pki: dict[str, object]) -> None:
    options = TLSOptions.from_uri(f"mongodb://h/?tls=true&tlsCAFile={pki['ca_pem']}")
    assert options.driver_kwargs() == {"tls": True, "tlsCAFile": pki["ca_pem"]}
    assert TLSOptions.from_uri("mongodb://h/").driver_kwargs() == {"tls": False}
    with pinned_store({"SSL_CERT_FILE": str(pki["ca_pem"])}):
        filled = TLSOptions.from_kwargs(tls=True).driver_kwargs()
        assert filled == {"tls": True, "tlsCAFile": trustresolve.where()}


def test_equality_includes_the_dialect() -> None:
    a = TLSOptions.from_uri("postgresql://h/?sslmode=verify-full")
    assert a == TLSOptions.from_kwargs(dialect="postgresql", sslmode="verify-full")
    assert a != TLSOptions.from_kwargs(dialect="postgresql", sslmode="verify-ca")
    assert a != TLSOptions.from_kwargs(tls=True)


def test_context_from_options_takes_the_dialect(pki: dict[str, object]) -> None:
    context = trustresolve.context_from_options(
        dialect="postgres", sslmode="verify-full", sslrootcert=pki["ca_pem"]
    )
    assert _handshake(context, pki["good"]) is None
    assert _handshake(context, pki["evil"]) is not None
    assert trustresolve.context_from_options(dialect="redis") is None
    assert TLSOptions.from_kwargs(dialect="mariadb").dialect == "mysql"
