"""Gradio without its type-stub writer: imported by ``ui/__init__.py`` before Gradio itself.

At every import, Gradio's component metaclass (``gradio.component_meta.create_or_modify_pyi``) reads the source of
each of its ~80 component classes, parses it and rewrites the ``.pyi`` stub beside it in site-packages when the
generated text differs: a tool for Gradio's own developers and IDEs. For a server it is 1.6-1.8 s of CPU at every
start, in every process that imports the UI (measured: ``import gradio`` 5.0 s of CPU -> 3.3 s), and a write into
the installed package (on a read-only install a missing stub fails the import: gradio-app/gradio#10121). The wheel
ships its stubs; nothing at run time reads them.

The writer is replaced by a no-op as soon as ``gradio.component_meta`` has run, before the first component class is
made (it is looked up by name at each class definition). Nothing else of Gradio changes.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

MODULE = "gradio.component_meta"
WRITER = "create_or_modify_pyi"


def skip_stub_writes(*_args, **_kwargs) -> None:
    """In place of Gradio's writer: the installed stubs are left as they are."""


def _quiet(module: ModuleType) -> None:
    if hasattr(module, WRITER):
        setattr(module, WRITER, skip_stub_writes)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds ``gradio.component_meta`` as Python would, and quiets it once its code has run."""

    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            _quiet(module)

        spec.loader.exec_module = exec_module  # this spec's loader (one per file), not the class's
        return spec


def install() -> None:
    """Quiet the writer now if Gradio is loaded, else when it loads (once per process)."""
    if MODULE in sys.modules:
        _quiet(sys.modules[MODULE])
    elif not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


install()
