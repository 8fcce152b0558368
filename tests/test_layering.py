"""The packages' import arrows point one way and no modules import each other in a circle.

maps ← routing ← dispatch ← web, and simulations uses dispatch and routing but never web; only
``routing/`` imports OR-Tools. Every import counts, also those inside functions or under
``TYPE_CHECKING``: a lazy import hides a cycle from Python, not from the next reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mae", "maps", "routing", "dispatch", "simulations", "web")

#: What each package may import from the others: packages, or single modules. ``mae`` holds the
#: root error, which every package imports, and the CLI, which imports every package; so the
#: others may import only ``mae.errors``, or they could reach upwards through the CLI's modules.
ALLOWED: dict[str, set[str]] = {
    "maps": {"mae.errors"},
    "routing": {"mae.errors", "maps"},
    "dispatch": {"mae.errors", "maps", "routing"},
    "simulations": {"mae.errors", "maps", "routing", "dispatch"},
    "web": {"mae.errors", "maps", "routing", "dispatch", "simulations"},
    "mae": {"maps", "routing", "dispatch", "simulations", "web"},
}


def _allowed(package: str, dep: str) -> bool:
    top = dep.split(".")[0]
    return top == package or top in ALLOWED[package] or dep in ALLOWED[package]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str) -> set[str]:
    """Every module ``path`` imports anywhere in its body, resolved to absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            # ``from pkg import module`` names a module too
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    return {name: {m for m in _imports(path, name) if m in modules and m != name}
            for name, path in modules.items()}


GRAPH = _graph()


def test_the_graph_is_read_from_the_source() -> None:
    """A guard for the guard: the graph sees known edges, lazy ones included."""
    assert "dispatch.events" in GRAPH["dispatch.state"]
    assert "maps.graph" in GRAPH["routing.engine"]
    assert any(dep.startswith("web.") for dep in GRAPH["mae.cli"] | GRAPH["web.cli"])


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_point_one_way(package: str) -> None:
    wrong = sorted(f"{name} imports {dep}" for name, deps in GRAPH.items()
                   if name.split(".")[0] == package for dep in deps if not _allowed(package, dep))
    assert not wrong, wrong


def test_a_lower_package_may_not_reach_up_through_the_cli_package() -> None:
    assert _allowed("routing", "mae.errors") and _allowed("routing", "maps.graph")
    assert not _allowed("routing", "mae.overview") and not _allowed("dispatch", "web.app")


def test_only_routing_imports_ortools() -> None:
    importers = []
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            name = _module_name(path)
            if any(m == "ortools" or m.startswith("ortools.") for m in _imports(path, name)):
                importers.append(name)
    assert importers and all(name.startswith("routing.") for name in importers), importers


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_in_a_circle() -> None:
    # a package's __init__ re-exporting its modules is the one allowed loop back to it
    graph = {name: {d for d in deps if not name.startswith(d + ".")}
             for name, deps in GRAPH.items()}
    cycles = _cycles(graph)
    assert not cycles, cycles
