"""The files the UI writes: downloads (an OCR result's .txt, .md and .json; a batch's .csv, .json and .md) and its own
example images and icon, all under one folder of the process's, deleted when the process ends (``clean_up``: at exit,
and when ``python app.py`` is stopped with SIGTERM).

Gradio copies a file an event returns into its cache, where ``delete_cache`` deletes the copy limits.upload_ttl_s
after its last use (the link the user clicks is to the copy); the file written here is needed only until it is copied.
So each download gets a folder of its own, deleted ``KEEP_S`` on (checked every ``PRUNE_EVERY_S`` and whenever a new
one is made) and when the app shuts down (``remove_downloads``): an OCR result (of a private document, perhaps) does
not stay on the server's disk, nor do a long-running server's downloads fill it.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

KEEP_S = 300.0  # a download's own file, kept this long (Gradio copies it at once, when the event returns)
PRUNE_EVERY_S = 60.0  # ...and looked for this often, on an idle server too
DOWNLOADS = "download-"  # the prefix of a download's folder (the only folders deleted while the process runs)
CHECKED_BYTES = 8 * 2**20  # a download written from pieces: the disk's free space checked each time it grows this much

log = logging.getLogger(__name__)
_root: Path | None = None
_lock = threading.Lock()
_keep_free = 0  # bytes of disk an event's downloads leave free (limits.min_free_disk_mb: ``keep_free``)


def root() -> Path:
    """The process's folder (made on first use, with the thread that deletes old downloads; deleted at exit)."""
    global _root
    with _lock:
        if _root is None:
            _root = Path(tempfile.mkdtemp(prefix="chatvlm-ui-"))
            atexit.register(clean_up)
            threading.Thread(target=_prune_every, args=(_root,), name="ui-downloads", daemon=True).start()
        return _root


def clean_up() -> None:
    """Delete the process's folder, at the process's end (the example images are not made again)."""
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


def keep_free(size: int) -> None:
    """Downloads are written only while the disk keeps ``size`` bytes free after them (and Gradio's copies of them)."""
    global _keep_free
    _keep_free = max(0, size)


def written(files: dict[str, str | Iterator[str]]) -> list[str]:
    """The files (name: text, or its pieces: a job's whole result) of one event's downloads, written to a folder of their
    own (``download_folder``), as paths in order; none when the disk would keep less than ``keep_free`` free after them
    and Gradio's copy of each: the result is still shown, without its files (a batch's JSON can be tens of MB, and each
    follow of a job wrote it again). A file written from pieces is checked as it grows (every ``CHECKED_BYTES``)."""
    data = {name: text.encode("utf-8") for name, text in files.items() if isinstance(text, str)}
    size = sum(len(body) for body in data.values())
    if shutil.disk_usage(root()).free < 2 * size + _keep_free:
        log.warning("no downloads written (%d bytes): the disk would keep less than limits.min_free_disk_mb free", size)
        _close(files)
        return []
    folder = download_folder()
    try:
        for name, text in files.items():
            if name in data:
                (folder / name).write_bytes(data[name])
            elif not _written_from(text, folder / name):  # type: ignore[arg-type]
                _close(files)
                shutil.rmtree(folder, ignore_errors=True)
                return []
    except BaseException:  # (a job's result gone while written out, say: nothing half written is left)
        _close(files)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return [str(folder / name) for name in files]


def _written_from(pieces: Iterator[str], path: Path) -> bool:
    """The pieces written to ``path``; False (stopped) once the disk would keep less than ``keep_free`` free after it and
    Gradio's copy of it."""
    size = checked = 0
    with path.open("wb") as out:
        for piece in pieces:
            size += out.write(piece.encode("utf-8"))
            if size - checked >= CHECKED_BYTES:
                if not _room_for(size, path):
                    return False
                checked = size
    return _room_for(size, path)  # (and once whole)


def _room_for(size: int, path: Path) -> bool:
    """Whether the disk keeps ``keep_free`` free after a copy of ``size`` bytes more (Gradio's, of the file at ``path``)."""
    if shutil.disk_usage(path.parent).free >= size + _keep_free:
        return True
    log.warning("a download stopped at %d bytes: the disk would keep under limits.min_free_disk_mb free", size)
    return False


def _close(files: dict[str, str | Iterator[str]]) -> None:
    """Let go of the pieces not written (a job's result holds its place among those written out at once until then)."""
    for text in files.values():
        close = getattr(text, "close", None)
        if close is not None:
            close()


def download_folder() -> Path:
    """A new folder for one event's downloads (the process's download folders older than ``KEEP_S`` deleted first)."""
    base = root()
    remove_downloads(KEEP_S)
    return Path(tempfile.mkdtemp(prefix=DOWNLOADS, dir=base))


def remove_downloads(older_than_s: float = 0.0) -> None:
    """Delete the process's download folders older than this (all of them by default: the app shuts down)."""
    base = _root
    if base is None:
        return
    cutoff = time.time() - older_than_s
    for old in base.glob(f"{DOWNLOADS}*"):
        try:
            if older_than_s <= 0 or old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # (deleted by another call)
            continue


def _prune_every(base: Path) -> None:
    while _root is base:
        time.sleep(PRUNE_EVERY_S)
        remove_downloads(KEEP_S)
