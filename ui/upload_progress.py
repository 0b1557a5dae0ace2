"""Gradio's upload progress, within bounds.

Gradio follows an upload's progress by the ``upload_id`` the client names (``POST /gradio_api/upload?upload_id=...``,
read by ``GET /gradio_api/upload_progress?upload_id=...``), in one process-wide table that forgot nothing but the
uploads whose progress was read to the end: a progress asked for an id no upload had left an entry (its name and an
event) after its 404, and so did an upload whose progress nobody read. Reads start no work and are not rate-limited:
4,000 such GETs with 60 KB ids from one client held 256 MB more, for good, in 62 s (an attack pass). Now an id is at
most 64 characters (longer: 400, ``api/gradio_calls.py``; Gradio's page names 9-13) and the table holds the
:data:`TRACKED` most recent ids (an older upload's progress is no longer reported: the upload itself goes on).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

TRACKED = 4096  # upload ids whose progress is kept (about 1 MB at most)


class Recent(OrderedDict):
    """A table of at most ``size`` entries, the least recently written forgotten first; a missing entry read is made
    by ``make`` when given (as a defaultdict makes it)."""

    def __init__(self, size: int, make: Callable[[], Any] | None = None, items: Any = ()):
        super().__init__()
        self.size, self.make = size, make
        for key, value in dict(items).items():
            self[key] = value

    def __missing__(self, key: Any) -> Any:
        if self.make is None:
            raise KeyError(key)
        self[key] = value = self.make()
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


def bound(size: int = TRACKED) -> None:
    """Gradio's progress table (``gradio.routes.file_upload_statuses``) keeps the ``size`` most recent ids, and an id
    whose progress was read to its end is forgotten whole. Idempotent."""
    from gradio import routes

    progress = getattr(routes, "file_upload_statuses", None)
    statuses, signals = getattr(progress, "_statuses", None), getattr(progress, "_signals", None)
    if isinstance(statuses, Recent):
        return
    if not isinstance(statuses, dict) or not isinstance(signals, dict):  # (another Gradio: nothing known to bound)
        log.warning("Gradio's upload progress has changed: its table is not bounded")
        return
    progress._statuses = Recent(size, None, statuses)
    progress._signals = Recent(size, asyncio.Event, signals)
    stop = progress.stop_tracking

    def stop_tracking(upload_id: str) -> None:
        stop(upload_id)
        progress._signals.pop(upload_id, None)

    progress.stop_tracking = stop_tracking
