"""Thread-safe model manager: load on first use, unload, and the state of each model.

States: ``unloaded -> loading -> ready``; a failed load leaves ``error`` with its
message (the next request tries again); ``unavailable`` when the backend cannot
run on this host at all. An unload waits for the requests using the model
(in-flight counts), so a model is never pulled from under a running request.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .backends.base import Backend
from .errors import ModelUnavailable
from .registry import Registry

log = logging.getLogger(__name__)

UNLOADED, LOADING, READY, ERROR, UNAVAILABLE = "unloaded", "loading", "ready", "error", "unavailable"


@dataclass
class ModelStatus:
    id: str
    state: str
    error: str | None = None
    load_seconds: float | None = None
    in_flight: int = 0


class _Slot:
    def __init__(self, model_id: str):
        self.id = model_id
        self.cond = threading.Condition()
        self.backend: Backend | None = None
        self.state = UNLOADED
        self.error: str | None = None
        self.load_seconds: float | None = None
        self.in_flight = 0
        self.unloading = False


class ModelManager:
    def __init__(self, registry: Registry):
        self.registry = registry
        self._slots = {model_id: _Slot(model_id) for model_id in registry.ids()}

    def _slot(self, model_id: str) -> _Slot:
        self.registry.get(model_id)  # UnknownModel with the list of valid ids
        return self._slots[model_id]

    def _ensure_loaded(self, slot: _Slot) -> Backend:
        """Called with slot.cond held; returns the ready backend or raises ModelUnavailable."""
        while True:
            while slot.state == LOADING or slot.unloading:
                slot.cond.wait()
            if slot.state == READY and slot.backend is not None:
                return slot.backend
            reason = self.registry.unavailable_reason(slot.id)
            if reason:
                raise ModelUnavailable(f"Model '{slot.id}' cannot run on this server: {reason}")
            slot.state, slot.error = LOADING, None
            slot.cond.release()
            backend, error, started = None, None, time.perf_counter()
            try:
                backend = self.registry.backend_class(slot.id)(self.registry.get(slot.id))
                backend.load()
            except ModelUnavailable as exc:
                error = str(exc)
            except Exception as exc:  # any load failure becomes a readable state, never a crash
                log.exception("loading model %s failed", slot.id)
                error = f"Model '{slot.id}' could not be loaded ({type(exc).__name__}); the server log has the details."
            finally:
                slot.cond.acquire()
            if error is None:
                slot.backend, slot.state = backend, READY
                slot.load_seconds = round(time.perf_counter() - started, 3)
                log.info("model %s loaded in %.2fs", slot.id, slot.load_seconds)
            else:
                slot.backend, slot.state, slot.error = None, ERROR, error
            slot.cond.notify_all()
            if error is not None:
                raise ModelUnavailable(error)

    @contextmanager
    def acquire(self, model_id: str) -> Iterator[Backend]:
        """Use a model for one request: loads it on first use and pins it until the block ends."""
        slot = self._slot(model_id)
        with slot.cond:
            backend = self._ensure_loaded(slot)
            slot.in_flight += 1
        try:
            yield backend
        finally:
            with slot.cond:
                slot.in_flight -= 1
                slot.cond.notify_all()

    def load(self, model_id: str) -> ModelStatus:
        slot = self._slot(model_id)
        with slot.cond:
            self._ensure_loaded(slot)
        return self.status(model_id)

    def unload(self, model_id: str) -> bool:
        """Release a model's memory; True when it was loaded. Waits for its running requests."""
        slot = self._slot(model_id)
        with slot.cond:
            while slot.state == LOADING or slot.unloading:
                slot.cond.wait()
            if slot.state != READY:
                slot.state, slot.error = UNLOADED, None
                return False
            slot.unloading = True
            while slot.in_flight:
                slot.cond.wait()
            backend, slot.backend = slot.backend, None
            try:
                if backend is not None:
                    backend.unload()
            finally:
                slot.state, slot.unloading = UNLOADED, False
                slot.cond.notify_all()
        del backend
        gc.collect()
        log.info("model %s unloaded", model_id)
        return True

    def unload_all(self) -> None:
        for model_id in self._slots:
            self.unload(model_id)

    def status(self, model_id: str) -> ModelStatus:
        slot = self._slot(model_id)
        with slot.cond:
            state = slot.state
            if state in (UNLOADED, ERROR) and self.registry.unavailable_reason(model_id):
                return ModelStatus(model_id, UNAVAILABLE, self.registry.unavailable_reason(model_id))
            return ModelStatus(model_id, state, slot.error, slot.load_seconds, slot.in_flight)

    def statuses(self) -> list[ModelStatus]:
        return [self.status(model_id) for model_id in self._slots]

    def loaded(self) -> list[str]:
        return [s.id for s in self.statuses() if s.state == READY]

