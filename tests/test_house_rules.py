"""The house rules the code layout keeps (architecture §1): no import circles, one table each.

These read the source with ``ast``; they fail when a lazy import brings a circle back or a
second copy of a shared table appears.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trustresolve._switches import DRIVER_WORDS, SWITCH_WORDS, switch_value
from trustresolve._x509.der import PRINTABLE_STRING, STRING_UNITS, decode_string

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "trustresolve"


def _module_name(path: Path) -> str:
    parts = ["trustresolve", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(sub) for sub in ast.walk(node))
    return skipped


def _imported(module: str, is_package: bool, node: ast.ImportFrom | ast.Import) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = module.split(".") if is_package else module.split(".")[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    prefix = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
    return [str(prefix)] + [f"{prefix}.{alias.name}" for alias in node.names]


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports at run time (lazy imports included)."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skipped or not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _imported(name, path.name == "__init__.py", node):
                related = target.startswith(name + ".") or name.startswith(target + ".")
                if target in paths and target != name and not related:
                    graph[name].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_lazy_imports() -> None:
    graph = import_graph()
    # resolve() imports the backend order inside a function: the graph must see it.
    assert "trustresolve._backends.order" in graph["trustresolve._store.resolve"]
    assert "trustresolve._tls.context" in graph["trustresolve._tls.options"]


def test_no_import_circles() -> None:
    assert circles(import_graph()) == []


def test_a_circle_would_be_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_the_builder_does_not_import_the_options() -> None:
    assert "trustresolve._tls.options" not in import_graph()["trustresolve._tls.context"]


@pytest.mark.parametrize(
    ("word", "meaning"),
    [("1", True), (" Yes ", True), ("ON", True), ("true", True), ("0", False), ("off", False)],
)
def test_switch_words(word: str, meaning: bool) -> None:
    assert switch_value(word) is meaning


def test_driver_words_are_the_strict_subset() -> None:
    assert DRIVER_WORDS == {"true": True, "false": False}
    assert all(SWITCH_WORDS[word] is value for word, value in DRIVER_WORDS.items())
    assert switch_value("maybe") is None


def test_printable_string_reads_as_latin1_everywhere() -> None:
    # OpenSSL's ASN1_STRING_to_UTF8 reads the one-byte types as Latin-1; so do the names.
    assert STRING_UNITS[PRINTABLE_STRING] == 1
    assert decode_string(PRINTABLE_STRING, b"Caf\xe9") == "Caf\u00e9"
    assert decode_string(0x04, b"octets") is None


def test_no_second_string_table() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.name == "der.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert '"utf-16-be"' not in text, f"{path} decodes DER strings itself"


def test_hooks_installed_by_the_previous_release_still_activate(tmp_path: Path) -> None:
    # A .pth written before the move runs `from trustresolve._hook import activate`.

    import trustme

    trustme.CA().cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    (tmp_path / "trustresolve.ini").write_text("[trustresolve]\ncafile = ca.pem\nnative = false\n")
    env = {k: v for k, v in os.environ.items() if k not in {"SSL_CERT_FILE", "SSL_CERT_DIR"}}
    env["TRUSTRESOLVE_CONFIG"] = str(tmp_path / "trustresolve.ini")
    code = (
        "import os\nfrom trustresolve._hook import activate\n"
        "pairs = activate()\nprint(os.environ['SSL_CERT_FILE'] == dict(pairs)['SSL_CERT_FILE'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
