"""What each test process does to cost less CPU, loaded by tests/conftest.py (a plugin of it) before any test module.

Gradio without its type-stub writer: it loads in the test processes as it does in the server (ui/stub_writes.py:
~1.7 s of CPU in each process that imports it), whichever test module imports Gradio first.

The garbage collector skips what was imported: the core collects the garbage after each unload; with Gradio, torch
and transformers loaded, one full collection scanned ~600k objects (0.3-0.4 s on this machine), dozens of times a
run. Modules are never garbage: once the tests are collected, when the first test that loads the tiny models in this
process has imported what loading them imports (torch and transformers: ``tiny_build``), and after each test file
(its fixtures torn down, its garbage collected), everything alive moves out of the collector's sight (gc.freeze), and
each collection scans only what the tests made since. With the freeze after each file too, the collector's CPU in each
test process of the not-slow tier went from 13-16 s to ~6 s (what the files import as they run, Gradio's and the
servers' objects, no longer scanned again at every unload). What is frozen stays in memory if it becomes cyclic
garbage later (a session fixture's model unloaded in a later file): a test that checks that an unload frees a model
unfreezes first.
"""

from __future__ import annotations

import gc
import importlib.util
import sys

import pytest

from tests.servers import ROOT


def quiet_gradio_stub_writes() -> None:
    """ui/stub_writes.py loaded now on its own, under its own name, so that it is the module ``ui`` then imports
    (without loading the UI and Gradio now, in processes that may never need them)."""
    name = "ui.stub_writes"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "ui" / "stub_writes.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


quiet_gradio_stub_writes()


def freeze_what_is_alive() -> None:
    gc.collect()
    gc.freeze()


def pytest_collection_finish(session):
    freeze_what_is_alive()


@pytest.hookimpl(trylast=True)  # after the test's fixtures are torn down
def pytest_runtest_teardown(item, nextitem):
    if nextitem is not None and nextitem.path != item.path:  # the last file of a test process: nothing after it
        freeze_what_is_alive()
