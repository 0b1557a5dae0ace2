"""The layer rules of ARCHITECTURE.md ("Layer rules", "Target layout"), read from the code's imports.

Every module of inference/, api/, ui/ and app.py is parsed with ast; every import counts, wherever it stands
(module level, inside a function, under ``if TYPE_CHECKING:``): a lazy or type-only import still hides a call
back up. ``from X import Y`` is an edge to ``X.Y`` when that is a module, else to ``X``; relative imports are
resolved; importing ``a.b.c`` is an edge to ``a.b.c`` only (not to the packages above it). Imports of anything
outside these packages are ignored.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = next(folder for folder in Path(__file__).resolve().parents if (folder / "app.py").is_file())  # wherever this file is
TOP = ("inference", "api", "ui", "app", "assembly")  # the packages (and the top-level modules) whose imports are read

# The kernel: what every layer may use, and which itself imports nothing of inference above it (other kernel
# modules only). `callers` (who is calling: the uploader) and `rate_limit` (the moving-window limiter) joined it
# with the security fixes; `pinned_fetch` (an HTTP fetch pinned to a checked address) imports only the kernel;
# `markdown` renders a result (kernel types) as Markdown; `blocks` is a page's structure (lines, blocks, tables);
# `markdown_blocks` and `grounding` read a page VLM's answer (Markdown, HTML tables, LightOnOCR's grounding) as blocks.
# `page_structure` (a page's lines assigned to layout regions) and `page_marginals` (running headers found by
# repetition across pages) build it.
KERNEL = [
    "settings",
    "routing_settings",
    "errors",
    "values",
    "blocks",
    "results",
    "images",
    "languages",
    "layout",
    "device",
    "cancel",
    "observe",
    "callers",
    "rate_limit",
    "pinned_fetch",
    "markdown",
    "markdown_blocks",
    "grounding",
    "page_structure",
    "page_marginals",
    "heap",
    "text_distance",
]
KERNEL_MODULES = frozenset(f"inference.{name}" for name in KERNEL)
# What REST and UI may import of inference, besides the kernel: the package facade (InferenceService, error types).
FACADE = frozenset({"inference"})
BACKENDS = "inference.backends"

MAX_LINES = 350
SERVICE = ("inference.service", 300)  # the facade stays small

# What the target layout names (issue #18, point 1): these modules exist, and the backends are in packages by family.
TARGET_MODULES = [
    "inference.service",
    "inference.catalog",
    "inference.inputs",
    "inference.pages",
    "inference.job_store",
    "inference.jobs",
]
TARGET_PACKAGES = ["inference.backends.ocr", "inference.backends.hf", "inference.backends.remote"]


# -- the checker (also run on a synthetic tree below, so it is known to fail) --------------------------------------


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


# -- the rules ----------------------------------------------------------------------------------------------------

GRAPH = import_graph()


def test_no_import_cycles():
    cycles = find_cycles(GRAPH)
    assert not cycles, f"{len(cycles)} import cycle(s) (type-only and lazy imports count):" + listing(
        [" -> ".join(cycle) + component_of(GRAPH, cycle) for cycle in cycles]
    )


def test_kernel_imports_nothing_above_it():
    bad = crossings(GRAPH, lambda m: m in KERNEL_MODULES, lambda m, t: t in KERNEL_MODULES)
    assert not bad, "the kernel imports only the kernel (KERNEL at the top of this file):" + listing(bad)


def test_backends_import_only_the_kernel_and_backends():
    bad = crossings(GRAPH, lambda m: in_package(m, BACKENDS), lambda m, t: t in KERNEL_MODULES or in_package(t, BACKENDS))
    assert not bad, "backends import only the kernel and other backends (never the core, REST, UI):" + listing(bad)


def test_inference_knows_no_edge():
    bad = crossings(GRAPH, lambda m: in_package(m, "inference"), lambda m, t: in_package(t, "inference"))
    assert not bad, "inference/ imports neither REST (api/), the UI (ui/) nor the assembly (app):" + listing(bad)


def edge_allowed(home: str):
    return lambda m, t: t in FACADE or t in KERNEL_MODULES or in_package(t, home)


# `uvicorn api:app` (the API guide's command): the package's `__getattr__` looks the assembled app up in
# assembly.py on first access. That one lookup, from `api` itself, is the REST edge's only reach above it.
API_SHIM = ("api", "assembly")


def test_rest_imports_only_the_facade_and_the_kernel():
    allowed = edge_allowed("api")
    bad = crossings(GRAPH, lambda m: in_package(m, "api"), lambda m, t: (m, t) == API_SHIM or allowed(m, t))
    assert not bad, (
        "api/ imports only `inference` (the facade) and kernel modules: never ui/, app, a backend or "
        "the core's parts:" + listing(bad)
    )


def test_ui_imports_only_the_facade_and_the_kernel():
    bad = crossings(GRAPH, lambda m: in_package(m, "ui"), edge_allowed("ui"))
    assert not bad, (
        "ui/ imports only `inference` (the facade) and kernel modules: never api/, app, a backend or "
        "the core's parts:" + listing(bad)
    )


def test_rest_never_imports_the_assembly():
    bad = crossings(GRAPH, lambda m: in_package(m, "api"), lambda m, t: t != "app")
    assert not bad, "api/ never imports app.py (serve `uvicorn api:app` through a shim the rules allow):" + listing(bad)


def line_counts(root: Path = ROOT, top: Iterable[str] = TOP) -> dict[str, int]:
    return {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in module_files(root, top).items()}


def test_no_module_over_350_lines():
    counts = line_counts()
    big = [f"{name}: {lines} lines" for name, lines in sorted(counts.items(), key=lambda item: -item[1]) if lines > MAX_LINES]
    assert not big, f"modules over {MAX_LINES} lines:" + listing(big)


def test_the_service_facade_is_small():
    name, most = SERVICE
    lines = line_counts()[name]
    assert lines <= most, f"{name} is {lines} lines; the facade stays at {most} at most"


def test_the_target_layout_exists():
    modules = module_files(ROOT)
    missing = [name for name in TARGET_MODULES if name not in modules]
    missing += [f"{name} (a package)" for name in TARGET_PACKAGES if name not in modules or not is_package(modules[name])]
    assert not missing, "modules the target layout (ARCHITECTURE.md) names are missing:" + listing(missing)


# -- the checker can fail -----------------------------------------------------------------------------------------


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_finds_cycles_and_crossings(tmp_path):
    write(
        tmp_path,
        {
            "inference/__init__.py": "from .service import Service\n",
            "inference/service.py": "from .jobs import Jobs\nclass Service: ...\n",
            "inference/jobs.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from inference.service import Service\n"
            ),
            "inference/errors.py": "import os\n",
            "inference/backends/__init__.py": "",
            "inference/backends/a.py": "from ..errors import X\nfrom .. import jobs\n",
            "api/__init__.py": "def __getattr__(name):\n    import app\n    return app.app\n",
            "api/routes/ocr.py": "from ...inference import errors, Service\nfrom inference.jobs import Jobs\n",
            "app.py": "import api\n",
        },
    )
    graph = import_graph(tmp_path)
    assert graph["inference.backends.a"] == {"inference.errors", "inference.jobs"}
    assert graph["api.routes.ocr"] == {"inference.errors", "inference", "inference.jobs"}
    assert find_cycles(graph) == [["api", "app", "api"], ["inference.jobs", "inference.service", "inference.jobs"]]
    assert crossings(graph, lambda m: in_package(m, BACKENDS), lambda m, t: t in KERNEL_MODULES or in_package(t, BACKENDS)) == [
        "inference.backends.a -> inference.jobs"
    ]
    assert crossings(graph, lambda m: in_package(m, "api"), edge_allowed("api")) == [
        "api -> app",
        "api.routes.ocr -> inference.jobs",
    ]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a", "b"}}) == [["a", "b", "c", "a"]]
