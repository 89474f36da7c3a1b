"""The backend order (architecture §2) and its import-on-turn rows (``_backends/order.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from support.cli import CHILD_TIMEOUT, clean_env
from trustresolve._backends import order
from trustresolve._backends.base import wrong_os
from trustresolve._backends.native import NativeBackend
from trustresolve._machine.facts import PlatformFacts

_MODULES = "trustresolve._backends."


def test_each_row_names_its_backend_as_the_class_does() -> None:
    # A backend that is not tried is listed by the row's name, without importing its class.
    assert [row.backend().name for row in order.BACKENDS] == list(order.BACKEND_NAMES)


def test_native_is_handed_the_backends_after_it_in_order() -> None:
    native = order.NATIVE
    assert isinstance(native, NativeBackend)
    after = [backend.name for backend in native.snapshot_backends]
    assert after == list(order.BACKEND_NAMES[3:])
    assert order.NATIVE is native  # one backend, made once


def test_a_row_probes_as_its_backend_does() -> None:
    facts = PlatformFacts.current()
    for row in order.BACKENDS[:2]:
        assert row.probe(facts) == row.backend().probe(facts)


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NOPE"):
        order.NOPE  # noqa: B018 - the attribute access is the test


_CHILD = """
import json, sys, trustresolve
trustresolve.create_default_context()
modules = sorted(m for m in sys.modules if m.startswith("trustresolve._backends."))
print(json.dumps([modules, trustresolve.resolve().source.backend]))
"""


def _first_use(environ: dict[str, str]) -> tuple[set[str], str]:
    """The backend modules a first run imported, and the backend that found the store."""
    found = subprocess.run(
        [sys.executable, "-c", _CHILD],
        env=clean_env(**environ),
        capture_output=True,
        text=True,
        check=True,
        timeout=CHILD_TIMEOUT,
    )
    modules, backend = json.loads(found.stdout)
    return {name[len(_MODULES) :] for name in modules}, backend


def test_ssl_cert_file_imports_no_other_backend(tmp_path: os.PathLike[str]) -> None:
    import trustme

    bundle = os.path.join(tmp_path, "bundle.pem")
    trustme.CA().cert_pem.write_to_path(bundle)
    cache = os.path.join(tmp_path, "cache")
    modules, backend = _first_use({"SSL_CERT_FILE": bundle, "TRUSTRESOLVE_CACHE_DIR": cache})
    assert backend == "env"
    assert modules == {"order", "base", "candidates", "env"}


@pytest.mark.skipif(sys.platform != "linux", reason="this machine's own store: a Linux one")
def test_a_distribution_store_imports_the_backends_up_to_distro(
    tmp_path: os.PathLike[str],
) -> None:
    cache = os.path.join(tmp_path, "cache")
    modules, backend = _first_use({"TRUSTRESOLVE_CACHE_DIR": cache})
    tried = order.BACKEND_NAMES[: order.BACKEND_NAMES.index(backend) + 1]
    linux = PlatformFacts(platform="linux")
    for_linux = {name for name in tried if wrong_os(name, linux) is None}
    assert for_linux == {"env", "config", "distro"}
    assert {name.replace("-", "_") for name in for_linux} <= modules
    # Neither the untried backends nor those for other OS families were imported.
    assert not {name.replace("-", "_") for name in set(order.BACKEND_NAMES) - for_linux} & modules


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32", "freebsd13"])
def test_a_row_says_what_its_backend_says_on_an_os_it_is_not_for(platform: str) -> None:
    # One rule (base.wrong_os), two readers: the row, before importing, and the backend.
    facts = PlatformFacts(platform=platform)
    elsewhere = [row for row in order.BACKENDS if wrong_os(row.name, facts) is not None]
    assert elsewhere  # every platform has backends that are for another one
    for row in elsewhere:
        answer = row.probe(facts)
        assert answer == row.backend().probe(facts)
        (attempt,) = answer.attempts
        assert attempt.outcome == "skipped"
        assert attempt.detail.startswith("does not apply: ")
