"""Sphinx configuration for trustresolve's documentation."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "src")))

from trustresolve import __version__

project = "trustresolve"
author = "trustresolve developers"
copyright = "2026, trustresolve developers"
release = version = __version__

extensions = ["sphinx.ext.autodoc"]
html_theme = "furo"
html_static_path = ["_static"]
html_title = f"trustresolve {__version__}"
exclude_patterns = ["_build"]

nitpicky = True
# The builds run offline (no intersphinx inventory can be fetched), so references to the
# standard library and to typing constructs cannot resolve; everything of ours must.
nitpick_ignore_regex = [
    (r"py:mod", r"(ssl|site|dataclasses|inspect|ast|os|typing|importlib|platformdirs|certifi)"),
    # Internal classes in public signatures; a record's signature names them unqualified.
    (r"py:class", r"(trustresolve\._machine\.)?(facts\.)?DefaultVerifyPaths"),
    (r"py:class", r"(trustresolve\._machine\.)?(fs\.)?FileSystem"),
    (r"py:.*", r"(ssl|os|typing|collections\.abc|warnings|pathlib)\..*"),
    (
        r"py:class",
        r"(str|int|bool|bytes|object|dict|list|tuple|None|Any|Mapping|Sequence|Callable)",
    ),
    (r"py:class", r"(Outcome|SourceKind|EnumCertificates|SecurityRunner|WindowsStoreEntry|_Path)"),
    (r"py:class", r"(Exception|ValueError|Purpose|SSLContext|TLSVersion|VerifyMode)"),
]
autodoc_typehints = "description"
autodoc_member_order = "bysource"


def _write_unix_tables() -> None:
    """Render the distro backend's candidate tables, so the docs cannot drift from the code."""
    from trustresolve._backends.distro import TABLES

    titles = {
        "linux": "Linux (and unknown Unix-likes)",
        "android": "Android and Termux",
        "freebsd": "FreeBSD",
        "openbsd": "OpenBSD",
        "netbsd": "NetBSD",
        "dragonfly": "DragonFly BSD",
        "midnightbsd": "MidnightBSD",
        "solaris": "Solaris, illumos, OmniOS, SmartOS",
        "aix": "AIX",
        "haiku": "Haiku",
    }
    out = []
    for family, title in titles.items():
        table = TABLES[family]
        out += [
            title,
            "~" * len(title),
            "",
            "Bundles, in order (with the directories trusted beside each, see above):",
            "",
        ]
        for number, bundle in enumerate(table.bundles, 1):
            roles = [
                ("CApath", bundle.dirs),
                ("additions", bundle.additions),
                ("mirrors", bundle.mirrors),
            ]
            dirs = "; ".join(
                f"{role} " + ", ".join(f"``{d}``" for d in paths) for role, paths in roles if paths
            )
            out.append(f"{number}. ``{bundle.path}`` ({bundle.who}); {dirs or 'no directory'}")
        out.append("")
        if table.dirs:
            out += ["Directory-only stores, when no bundle is valid:", ""]
            out += [f"- ``{path}`` ({who})" for path, who in table.dirs]
            out.append("")
        if table.ignored:
            out += ["Never used as stores (reported when present):", ""]
            out += [f"- ``{path}``: {why}" for path, why in table.ignored]
            out.append("")
    target = os.path.join(os.path.dirname(__file__), "platforms", "_unix_tables.rst.inc")
    with open(target, "w", encoding="utf-8") as handle:
        handle.write("\n".join(out))


_write_unix_tables()
