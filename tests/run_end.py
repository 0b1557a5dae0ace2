"""The end of a test run, without the seconds nothing needs: loaded by tests/conftest.py.

Measured here at the end of `python -m pytest -m "not slow"`: 7.9 s from the last test to the run's result, the
test processes' work done. Two parts of it were for nothing:

- pytest's check for unraisable exceptions (an exception in a ``__del__``) collects the garbage five times when a
  test process ends (``_pytest.unraisableexception.cleanup``, "a single collection doesn't necessarily collect
  everything"); with torch, transformers and Gradio loaded each collection takes 0.25-0.75 s. One collection still
  finds the garbage the tests left (what the check looks at); each test's own unraisable exceptions are reported at
  the test as before.
- A pytest-xdist worker, once it has sent its results and the controller has told it to go, tears down its
  interpreter (every module and object of torch, transformers, Gradio, ONNX Runtime: 1.5-2.7 s), and the run waits
  for it. A worker that finished normally ends at once instead, after the atexit handlers registered after this
  module (the libraries' own); one that did not (a crash, an interrupted run) ends as Python always does.
"""

from __future__ import annotations

import atexit
import os
import sys

import pytest

GC_PASSES = 1  # pytest's own default: 5

WORKER = os.environ.get("PYTEST_XDIST_WORKER")
FINISHED: list[bool] = []  # set when this test process's session ended normally


def pytest_configure(config):
    try:
        from _pytest.unraisableexception import gc_collect_iterations_key
    except ImportError:  # another pytest: its own number of passes
        return
    config.stash[gc_collect_iterations_key] = GC_PASSES


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    FINISHED.append(True)


def _end_now() -> None:
    if WORKER and FINISHED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


atexit.register(_end_now)  # registered at import (before torch and the others register theirs): runs after them
