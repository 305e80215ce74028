"""No import cycle between redirector's modules, counting every import: those
at the top of a module and those inside functions alike (a cycle hidden in a
function is still a cycle; it only fails later, and in one order of imports).

``from pkg import name`` is an import of the module ``pkg.name`` when there is
one, else of ``pkg`` itself. Run as a script, this file lists every cycle.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "redirector"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """(imported module of the package, line) for every import in the file."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, is_package, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:
                    yield sub, node.lineno
                elif target in known:
                    yield target, node.lineno


def import_graph() -> dict[str, dict[str, int]]:
    files = module_files()
    known = set(files)
    graph: dict[str, dict[str, int]] = {m: {} for m in files}
    for module, path in files.items():
        for target, line in imports_of(module, path, known):
            if target != module:
                graph[module].setdefault(target, line)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def describe(graph: dict[str, dict[str, int]], component: list[str]) -> str:
    members = set(component)
    return "\n".join(
        f"  {a} -> {b} (line {graph[a][b]})"
        for a in component
        for b in sorted(graph[a])
        if b in members
    )


def test_no_import_cycle() -> None:
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n\n".join(describe(graph, c) for c in found)


def test_the_graph_sees_imports_inside_functions() -> None:
    # The lazy ``create_app`` in redirector/__init__.py is an import inside a
    # function: the graph must hold it, or a cycle could hide there.
    assert "redirector.app" in import_graph()["redirector"]


if __name__ == "__main__":
    graph = import_graph()
    found = cycles(graph)
    for component in found:
        print(f"cycle of {len(component)}:\n{describe(graph, component)}\n")
    print(f"{len(found)} cycle(s) among {len(graph)} modules")
    sys.exit(1 if found else 0)
