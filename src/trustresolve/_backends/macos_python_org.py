"""Backend ``macos-python-org``: python.org framework builds' private OpenSSL cafile.

The macOS installers from python.org ship their own OpenSSL, which ignores the keychain and has
no CA bundle: ``/Library/Frameworks/Python.framework/Versions/X.Y/etc/openssl/cert.pem`` exists
only after "Install Certificates.command" has run (it pip-installs certifi and links the file to
certifi's ``cacert.pem``). Until then every HTTPS request through the plain ``ssl`` module fails
with ``CERTIFICATE_VERIFY_FAILED`` (architecture §7). trustresolve never runs the script
(it needs pip and a writable framework, and chmods certifi's file): the attempt names the fix.
"""

from __future__ import annotations

from .._machine.facts import PlatformFacts
from .._machine.model import Attempt
from .base import Probe, wrong_os
from .candidates import check_bundle, source_from_checks

__all__ = ["FRAMEWORK_PREFIX", "MacOSPythonOrgBackend", "is_python_org_build"]

FRAMEWORK_PREFIX = "/Library/Frameworks/Python.framework/"


def is_python_org_build(facts: PlatformFacts) -> bool:
    cafile = facts.default_verify_paths.openssl_cafile or ""
    return facts.executable.startswith(FRAMEWORK_PREFIX) or cafile.startswith(FRAMEWORK_PREFIX)


def _version(facts: PlatformFacts, cafile: str) -> str:
    # .../Python.framework/Versions/3.12/etc/openssl/cert.pem names the installer's version.
    parts = cafile[len(FRAMEWORK_PREFIX) :].split("/")
    if len(parts) > 1 and parts[0] == "Versions" and parts[1]:
        return parts[1]
    return ".".join(str(part) for part in facts.python_version_info)


def _fix(facts: PlatformFacts, cafile: str) -> str:
    version = _version(facts, cafile)
    return (
        f'fix: run "/Applications/Python {version}/Install Certificates.command" (it installs '
        f"certifi and links {cafile} to its bundle), or let trustresolve supply the store "
        "(trustresolve.create_default_context(), or pass trustresolve.where() as the CA file)"
    )


class MacOSPythonOrgBackend:
    name = "macos-python-org"

    def probe(self, facts: PlatformFacts) -> Probe:
        elsewhere = wrong_os(self.name, facts)
        if elsewhere is not None:
            return elsewhere
        cafile = facts.default_verify_paths.openssl_cafile
        if not is_python_org_build(facts):
            detail = (
                f"not a python.org framework build (executable {facts.executable}, "
                f"openssl_cafile {cafile or 'unset'})"
            )
            return Probe((Attempt(self.name, None, "skipped", detail),))
        if not cafile:
            detail = "a python.org framework build whose ssl module names no openssl_cafile"
            return Probe((Attempt(self.name, None, "skipped", detail),))
        check = check_bundle(facts.fs, cafile)
        if check.ok:
            note = (
                "the python.org build's OpenSSL cafile, installed by Install Certificates.command "
                "(certifi's Mozilla bundle: keychain and corporate roots are not in it)"
            )
            source = source_from_checks(self.name, check)
            return Probe((check.attempt(self.name, note=note),), source)
        if check.outcome == "missing" and check.located.problem == "dangling":
            why = (
                f"{cafile} is a dangling link{check.located.link_note}: the certifi bundle that "
                '"Install Certificates.command" linked it to is gone'
            )
        elif check.outcome == "missing":
            why = (
                f'{cafile} does not exist: "Install Certificates.command" has not been run for '
                "this python.org build"
            )
        else:
            why = f"{cafile} {check.detail}"
        detail = (
            f"{why}. This build's private OpenSSL ignores the macOS keychain and has no other CA "
            "bundle, so HTTPS through the plain ssl module fails with CERTIFICATE_VERIFY_FAILED "
            f"(unable to get local issuer certificate); {_fix(facts, cafile)}"
        )
        return Probe((Attempt(self.name, cafile, check.outcome, detail, check.warnings),))
