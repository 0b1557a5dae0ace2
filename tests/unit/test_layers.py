"""The layer rules of ARCHITECTURE.md ("Layer rules", "Target layout"), read from the code's imports by
tests/import_graph.py (every import counts: lazy and type-only ones too)."""

from __future__ import annotations

from pathlib import Path

from tests.import_graph import (
    ROOT,
    TOP,
    component_of,
    crossings,
    find_cycles,
    import_graph,
    in_package,
    is_package,
    line_counts,
    listing,
    module_files,
)

# The kernel: what every layer may use, and which itself imports nothing of inference above it (other kernel
# modules only). `callers` (who is calling: the uploader) and `rate_limit` (the moving-window limiter) joined it
# with the security fixes; `pinned_fetch` (an HTTP fetch pinned to a checked address) imports only the kernel;
# `markdown` renders a result (kernel types) as Markdown (`markdown_text`: plain text in it); `blocks` is a page's
# structure (lines, blocks, tables);
# `markdown_blocks` and `grounding` read a page VLM's answer (Markdown, HTML tables, LightOnOCR's grounding) as blocks.
# `page_structure` (a page's lines assigned to layout regions), `page_margins` (its header and footer by their place)
# and `page_marginals` (running headers found by repetition across pages) build it; `drop_caps` joins a paragraph's
# large first letter to its line. `tiff_tags` bounds the TIFF directories Pillow reads while `images` decodes.
KERNEL = [
    "settings",
    "routing_settings",
    "limit_settings",
    "errors",
    "values",
    "blocks",
    "results",
    "images",
    "image_headers",
    "languages",
    "layout",
    "device",
    "cancel",
    "observe",
    "callers",
    "turns",
    "rate_limit",
    "pinned_fetch",
    "markdown",
    "markdown_text",
    "markdown_code",
    "markdown_blocks",
    "grounding",
    "page_structure",
    "page_margins",
    "page_marginals",
    "heap",
    "text_distance",
    "drop_caps",
    "tiff_tags",
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


def test_no_module_over_350_lines():
    counts = line_counts(ROOT, (*TOP, "tests", "bench"))  # the tests and benchmarks too
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
