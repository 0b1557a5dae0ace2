"""What tests need to look at the core's state, through its public API only (no hooks in the product)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from inference.manager import ModelManager
from inference.results import ModelState


def wait_until(condition: Callable[[], bool], timeout: float, every: float = 0.005) -> bool:
    """Poll ``condition()`` until it holds or ``timeout`` seconds pass; whether it holds."""
    end = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(every)


def loaded_backend(manager: ModelManager, model_id: str) -> Any:
    """The backend of a loaded model (its runner's), or None when the model is not loaded."""
    if manager.status(model_id).state != ModelState.READY:
        return None
    return manager.runner(model_id).backend


def unload_all(manager: ModelManager, grace_s: float | None = None) -> None:
    for status in manager.statuses():
        manager.unload(status.id, grace_s)
