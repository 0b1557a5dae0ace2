"""Reads the import graph of the code (inference/, api/, ui/, app.py, assembly.py) with ast, and finds its cycles and the
edges that cross a rule: the checker of tests/unit/test_layers.py (which also runs it on a synthetic tree, so it is
known to fail).

Every import counts, wherever it stands (module level, inside a function, under ``if TYPE_CHECKING:``): a lazy or
type-only import still hides a call back up. ``from X import Y`` is an edge to ``X.Y`` when that is a module, else to
``X``; relative imports are resolved; importing ``a.b.c`` is an edge to ``a.b.c`` only (not to the packages above it).
Imports of anything outside these packages are ignored.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = next(folder for folder in Path(__file__).resolve().parents if (folder / "app.py").is_file())  # wherever this file is
TOP = ("inference", "api", "ui", "app", "assembly", "models")  # the packages (and the top-level modules) whose imports are read


def module_files(root: Path, top: Iterable[str] = TOP) -> dict[str, Path]:
    """Module name -> file, for every top-level package or module in ``top`` under ``root``."""
    found: dict[str, Path] = {}
    for name in top:
        single = root / f"{name}.py"
        if single.is_file():
            found[name] = single
        folder = root / name
        if folder.is_dir():
            for path in sorted(folder.rglob("*.py")):
                parts = list(path.relative_to(root).with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                found[".".join(parts)] = path
    return found


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ``modules`` that the module ``name`` (file ``path``) imports, anywhere in its body."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if is_package(path) else name.rpartition(".")[0]
    found: set[str] = set()

    def known(target: str) -> str | None:
        # the deepest known module that `target` names (`inference.errors.X` -> `inference.errors`)
        while target:
            if target in modules:
                return target
            target = target.rpartition(".")[0]
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (hit := known(alias.name)) is not None:
                    found.add(hit)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in modules:
                    found.add(sub)
                elif (hit := known(source)) is not None:
                    found.add(hit)
    found.discard(name)
    return found


def import_graph(root: Path = ROOT, top: Iterable[str] = TOP) -> dict[str, set[str]]:
    modules = module_files(root, top)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a -> b -> ... -> a) for each strongly connected component with more than one module (breaking it
    may leave another cycle in the same component: `component_of` lists them all)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def connect(start: str) -> None:  # Tarjan, iterative (no recursion limit on a big tree)
        nonlocal counter
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [shortest_cycle(graph, set(component)) for component in sorted(components)]


def shortest_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """The shortest cycle through the component's first module (breadth-first, inside the component)."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child not in component:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return sorted(component)


def component_of(graph: dict[str, set[str]], cycle: list[str]) -> str:
    """' (with a, b, ...)' when more modules than the cycle's are tied up with it, else ''."""

    def reach(start: str, edges: dict[str, set[str]]) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for child in edges.get(todo.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        return seen

    back: dict[str, set[str]] = {}
    for source, targets in graph.items():
        for target in targets:
            back.setdefault(target, set()).add(source)
    component = reach(cycle[0], graph) & reach(cycle[0], back)
    others = sorted(component - set(cycle))
    return f" (tied up with: {', '.join(others)})" if others else ""


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def crossings(graph: dict[str, set[str]], who, allowed) -> list[str]:
    """'a -> b' for every import of a module ``who`` selects that ``allowed(a, b)`` refuses."""
    return [
        f"{source} -> {target}"
        for source in sorted(graph)
        if who(source)
        for target in sorted(graph[source])
        if not allowed(source, target)
    ]


def listing(lines: list[str]) -> str:
    return "\n  " + "\n  ".join(lines)


def line_counts(root: Path = ROOT, top: Iterable[str] = TOP) -> dict[str, int]:
    return {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in module_files(root, top).items()}
