"""Fuzzing: PEM text, DER bytes and platform.json documents.

Any input gives a valid result or one of trustresolve's own errors, never another exception.
The URI and keyword-argument properties live beside the options tests.
"""

from __future__ import annotations

import base64
import contextlib
import json
import tempfile
from pathlib import Path

import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustresolve import ConfigurationError, TrustResolveError
from trustresolve._backends.candidates import check_bundle
from trustresolve._machine.facts import PlatformFacts
from trustresolve._machine.fs import FileSystem
from trustresolve._store.resolve import probe_all
from trustresolve._x509.der import DERError, parse_certificate
from trustresolve._x509.pem import scan_pem

_CA_DER = trustme.CA().cert_pem.bytes()
_REAL_DER = base64.b64decode(b"".join(_CA_DER.split(b"\n")[1:-2]))


def _pem_block(label: bytes, body: bytes) -> bytes:
    return b"-----BEGIN " + label + b"-----\n" + body + b"\n-----END " + label + b"-----\n"


@st.composite
def mutated_der(draw: st.DrawFn) -> bytes:
    data = bytearray(_REAL_DER)
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) if draw(st.booleans()) else bytes(data)


@given(st.binary(max_size=2048))
@settings(max_examples=400)
def test_parse_certificate_raises_only_der_error(data: bytes) -> None:
    with contextlib.suppress(DERError):
        parse_certificate(data)


@given(mutated_der())
@settings(max_examples=400)
def test_mutated_certificates_parse_or_raise_der_error(data: bytes) -> None:
    try:
        cert = parse_certificate(data)
    except DERError:
        return
    assert cert.der == data


pem_documents = st.lists(
    st.one_of(
        st.binary(max_size=300),
        mutated_der().map(lambda der: _pem_block(b"CERTIFICATE", base64.encodebytes(der))),
        st.binary(max_size=200).map(lambda raw: _pem_block(b"CERTIFICATE", raw)),
        st.just(_CA_DER),
        st.sampled_from([b"TRUSTED CERTIFICATE", b"X509 CRL", b"PRIVATE KEY"]).map(
            lambda label: _pem_block(label, base64.encodebytes(_REAL_DER))
        ),
    ),
    max_size=6,
).map(b"".join)


@given(pem_documents)
@settings(max_examples=300)
def test_scan_pem_never_raises(document: bytes) -> None:
    scan = scan_pem(document)
    assert len(scan.certificates) <= document.count(b"-----BEGIN")


@given(pem_documents)
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_check_bundle_always_answers(document: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bundle.pem"
        path.write_bytes(document)
        check = check_bundle(FileSystem("/"), str(path))
        assert check.outcome in ("used", "empty", "invalid")
        assert check.ok == bool(check.certificates)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)
_KEYS = [
    "platform",
    "implementation",
    "python_version",
    "executable",
    "environ",
    "default_verify_paths",
    "truststore",
    "wincertstore",
    "windows_stores",
    "macos",
    "config_dirs",
]
platform_documents = st.dictionaries(
    st.sampled_from(_KEYS),
    json_values
    | st.sampled_from(["linux", "darwin", "win32", "freebsd14", "android", "sunos5"])
    | st.fixed_dictionaries({"SSL_CERT_FILE": st.sampled_from(["/etc/ca.pem", "", "/dev/zero"])})
    | st.fixed_dictionaries({"ROOT": st.lists(st.lists(json_values, max_size=3), max_size=2)}),
    max_size=6,
)


@given(platform_documents)
@settings(max_examples=200, deadline=None)
def test_platform_json_gives_facts_or_configuration_error(document: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory() as root:
        Path(root, "platform.json").write_text(json.dumps(document))
        Path(root, "etc").mkdir()
        Path(root, "etc", "ca.pem").write_bytes(_CA_DER)
        try:
            facts = PlatformFacts.from_root(root)
        except ConfigurationError:
            return
        try:
            resolution = probe_all(facts)
        except TrustResolveError:
            return
        assert resolution.source is not None
        assert resolution.source.cert_count >= 1
