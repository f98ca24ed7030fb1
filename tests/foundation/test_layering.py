"""The service layer's shape, checked from the source (like tests/checks/test_engine_is_pure.py).

* No service module imports the web layer: services are called by views, CLI commands and jobs,
  never the other way round.
* No import cycles between service modules, nor between the service packages (each direct child of
  ``statuspage/services`` is one node: ``incidents``, ``notifications``, ``page``, …).
* No service module imports another part of the app inside a function: such an import is how a cycle
  hides from the module graph.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "statuspage" / "services"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """Absolute names a `from … import …` refers to (the module, and each name as a submodule)."""
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def _imports() -> dict[str, list[tuple[str, int, bool]]]:
    """module → [(imported statuspage module, line, inside a function?)] for every service module."""
    known = {_module_name(p) for p in (ROOT / "statuspage").rglob("*.py")}
    graph: dict[str, list[tuple[str, int, bool]]] = {}
    for path in sorted(SERVICES.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(), str(path))
        nested = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for n in ast.walk(f) if n is not f}
        edges = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                targets = _resolve(module, path.name == "__init__.py", node)
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                if target in known and target != module:
                    edges.append((target, node.lineno, id(node) in nested))
        graph[module] = edges
    return graph


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:3]) if len(parts) > 2 else module


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
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
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_service_imports_the_web_layer():
    offenders = [f"{m} → {t} (line {line})" for m, edges in _imports().items() for t, line, _ in edges
                 if t == "statuspage.web" or t.startswith("statuspage.web.")]
    assert offenders == []


def test_no_service_imports_the_app_inside_a_function():
    offenders = [f"{m} → {t} (line {line})" for m, edges in _imports().items() for t, line, inner in edges
                 if inner]
    assert offenders == []


def test_service_modules_have_no_import_cycles():
    graph = _imports()
    edges = {m: {t for t, _, _ in e if t.startswith("statuspage.services")} for m, e in graph.items()}
    assert _cycles(edges) == []


def test_service_packages_have_no_import_cycles():
    edges: dict[str, set[str]] = defaultdict(set)
    for module, imported in _imports().items():
        for target, _, _ in imported:
            if target.startswith("statuspage.services.") and _package(target) != _package(module):
                edges[_package(module)].add(_package(target))
    assert _cycles(edges) == []


def test_every_service_module_says_what_it_holds():
    missing = [_module_name(p) for p in SERVICES.rglob("*.py") if ast.get_docstring(ast.parse(p.read_text())) is None]
    assert missing == []


def test_the_checker_sees_a_cycle_and_a_hidden_import():
    # The checks above must be able to fail: a two-module cycle is found, a lone module is not.
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    tree = ast.parse("def f():\n    from ..web import admin\n")
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert _resolve("statuspage.services.x", False, node)[0] == "statuspage.web"
