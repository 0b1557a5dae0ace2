"""Folders the tests make outside pytest's tmp_path (data directories, the caches set in the environment before
anything is imported): under one folder per test process, deleted when the process exits (with what the servers it
started wrote there)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(tempfile.mkdtemp(prefix=f"chatvlm-test-{os.getpid()}-"))
atexit.register(shutil.rmtree, ROOT, True)  # (pytest-xdist's workers: see clean_up)


def scratch(prefix: str) -> str:
    """A new folder under the process's."""
    return tempfile.mkdtemp(prefix=prefix, dir=ROOT)


def clean_up() -> None:
    """Delete the process's folder now (pytest_unconfigure: a pytest-xdist worker ends before its exit handlers run)."""
    shutil.rmtree(ROOT, ignore_errors=True)
