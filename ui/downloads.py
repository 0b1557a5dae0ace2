"""The files the UI writes: downloads (an OCR result's .txt, .md and .json; a batch's .csv and .json) and its own
example images and icon, all under one folder of the process's, deleted when the process exits.

Gradio copies a file an event returns into its cache, where ``delete_cache`` deletes the copy limits.upload_ttl_s
after its last use; the file written here is needed only until it is copied. So each download gets a folder of its
own, and folders older than ``KEEP_S`` are deleted as new ones are made: an OCR result (of a private document,
perhaps) does not stay on the server's disk after its copy is gone, nor do a long-running server's downloads fill it.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import time
from pathlib import Path

KEEP_S = 300.0  # a download's own file, kept this long (Gradio copies it at once, when the event returns)
DOWNLOADS = "download-"  # the prefix of a download's folder (the only folders deleted while the process runs)

_root: Path | None = None
_lock = threading.Lock()


def root() -> Path:
    """The process's folder (made on first use, deleted at exit)."""
    global _root
    with _lock:
        if _root is None:
            _root = Path(tempfile.mkdtemp(prefix="chatvlm-ui-"))
            atexit.register(shutil.rmtree, _root, True)
        return _root


def clean_up() -> None:
    """Delete the process's folder now, at the process's end (a pytest-xdist worker ends before its exit handlers run;
    the example images are not made again)."""
    global _root
    with _lock:
        if _root is not None:
            shutil.rmtree(_root, ignore_errors=True)
            _root = None


def folder(name: str) -> Path:
    """A folder of the process's that stays while it runs (the example images, the icon)."""
    path = root() / name
    path.mkdir(exist_ok=True)
    return path


def download_folder(keep_s: float = KEEP_S) -> Path:
    """A new folder for one event's downloads; the process's download folders older than ``keep_s`` are deleted."""
    base = root()
    cutoff = time.time() - keep_s
    for old in base.glob(f"{DOWNLOADS}*"):
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # (deleted by another event's call)
            continue
    return Path(tempfile.mkdtemp(prefix=DOWNLOADS, dir=base))
