"""The architecture, checked: module and function sizes, no import cycle in facecore, pages/bench/tools on
exported names only, and ruff clean. A failure names the file and what to do."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import facecore

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_PAGE_LINES = 250
#: The page scripts (pages/ top level, the project's required layout) and their helper packages: one per page,
#: named after it with a leading underscore (Streamlit's first session lists pages/*.py only), and _shared.
PAGE_SCRIPTS = {"dataset.py", "clusters.py", "similar.py", "people.py"}
PAGE_PACKAGES = {"_photos", "_clusters", "_similar", "_people", "_shared"}
#: facecore modules other code may import whole (constants and exceptions, one home each).
PUBLIC_MODULES = {"facecore.settings", "facecore.errors"}


def _py(*folders: str) -> list[Path]:
    return sorted(p for d in folders for p in (ROOT / d).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(name: str) -> bool:
    return (ROOT / name.replace(".", "/") / "__init__.py").is_file()


def _imports(path: Path) -> list[tuple[str, str | None, int]]:
    """Every import of ``path`` (inside functions too) as ``(module, name or None, line)``, relative ones resolved."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out += [(module, a.name, node.lineno) for a in node.names]
    return out


def test_every_facecore_module_is_at_most_400_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in _py("facecore") if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"split these modules (one job each, at most {MAX_MODULE_LINES} lines): {long}"


def test_every_function_is_at_most_60_lines() -> None:
    long = {}
    for path in _py("facecore", "pages", "bench", "tools"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                if (lines := node.end_lineno - start + 1) > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = lines
    assert not long, f"split these functions (at most {MAX_FUNCTION_LINES} lines): {long}"


def test_every_file_under_pages_is_at_most_250_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in _py("pages") if (n := len(p.read_text().splitlines())) > 250}
    assert not long, f"split these page files (at most {MAX_PAGE_LINES} lines): {long}"


def test_pages_holds_the_four_page_scripts_and_their_helpers_grouped_by_page() -> None:
    top = {p.name for p in (ROOT / "pages").iterdir() if p.name != "__pycache__"}
    assert top == PAGE_SCRIPTS | PAGE_PACKAGES, (
        f"pages/ holds only the page scripts {sorted(PAGE_SCRIPTS)} and the helper packages {sorted(PAGE_PACKAGES)} "
        f"(a helper goes in its page's package, or _shared when several pages use it); found {sorted(top)}"
    )
    for package in PAGE_PACKAGES:
        assert (ROOT / "pages" / package / "__init__.py").is_file(), f"pages/{package} needs an __init__.py"
        assert not [d for d in (ROOT / "pages" / package).iterdir() if d.is_dir() and d.name != "__pycache__"]


def _import_graph() -> dict[str, set[str]]:
    """facecore module -> the facecore modules it imports (``from pkg import module`` points at the module)."""
    modules = {_module_name(p) for p in _py("facecore")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for path in _py("facecore"):
        for module, name, _ in _imports(path):
            target = f"{module}.{name}" if name and f"{module}.{name}" in modules else module
            if target in modules:
                graph[_module_name(path)].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (or a module importing itself): Tarjan."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_facecore_has_no_import_cycle() -> None:
    graph = _import_graph()
    assert "facecore.people.grouping" in graph["facecore.people.report"]  # the graph sees the imports
    assert "facecore.search.similarity" in graph["facecore.cli.common"]  # ... inside functions too
    assert not _cycles(graph), f"import cycles (imports inside functions count): {_cycles(graph)}"


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _exported(module: str, name: str | None) -> bool:
    if module in PUBLIC_MODULES or (module == "facecore" and name is None):
        return True
    if module == "facecore":
        return name in facecore.__all__ or f"facecore.{name}" in PUBLIC_MODULES
    if name is not None and _is_package(module):
        return name in getattr(__import__(module, fromlist=["__all__"]), "__all__", ())
    return False


def test_pages_bench_and_tools_import_only_exported_facecore_names() -> None:
    bad = []
    for path in _py("pages", "bench", "tools") + [ROOT / "app.py"]:
        for module, name, line in _imports(path):
            if (module == "facecore" or module.startswith("facecore.")) and not _exported(module, name):
                bad.append(f"{path.relative_to(ROOT)}:{line} {module} {name}")
    assert not bad, f"export these (facecore's _LAZY or a subpackage's __all__) and import them from there: {bad}"


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed: pip install -r requirements-dev.txt")
    out = subprocess.run([ruff, "check", "facecore", "pages", "bench", "tools", "app.py", "tests"],
                         capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
