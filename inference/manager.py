"""Thread-safe model manager: load on first use, unload, and the state of each model.

States: ``unloaded -> loading -> ready -> unloading -> unloaded``; a failed load leaves ``error`` with
its message (the next request tries again); ``unavailable`` when the backend cannot run on this host at
all. A loaded model is a backend plus its :class:`~inference.runner.Runner`, which executes every request;
an unload closes the runner first (no new requests, queued ones served or failed), then unloads the backend.
Locks are held only to read or change a state, never while loading, running or unloading, so a status
(``/health``, ``/models``) never waits behind inference work.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .backends.base import Backend
from .cancel import Deadline
from .errors import ModelUnavailable
from .registry import Registry
from .runner import Runner, RunnerClosed
from .tickets import Ticket
from .values import Work

log = logging.getLogger(__name__)

UNLOADED, LOADING, READY, UNLOADING, ERROR, UNAVAILABLE = (
    "unloaded", "loading", "ready", "unloading", "error", "unavailable")


@dataclass
class ModelStatus:
    id: str
    state: str
    error: str | None = None
    load_seconds: float | None = None
    waiting: int = 0
    running: int = 0


class _Slot:
    def __init__(self, model_id: str):
        self.id = model_id
        self.cond = threading.Condition()
        self.backend: Backend | None = None
        self.runner: Runner | None = None
        self.state = UNLOADED
        self.error: str | None = None
        self.load_seconds: float | None = None


class ModelManager:
    def __init__(self, registry: Registry, queue_size: Callable[[Backend], int] = lambda backend: 64,
                 unload_grace_s: float = 300.0):
        """``queue_size(backend)`` is each runner's wait-queue bound; ``unload_grace_s`` how long an unload lets
        queued and running requests finish (they stop at their own deadlines anyway)."""
        self.registry = registry
        self._queue_size = queue_size
        self._unload_grace_s = unload_grace_s
        self._slots = {model_id: _Slot(model_id) for model_id in registry.ids()}

    def _slot(self, model_id: str) -> _Slot:
        self.registry.get(model_id)  # UnknownModel with the list of valid ids
        return self._slots[model_id]

    def runner(self, model_id: str, deadline: Deadline | None = None) -> Runner:
        """The model's runner, loading the model first if needed (waits while another thread loads or unloads
        it, until ``deadline``)."""
        slot = self._slot(model_id)
        with slot.cond:
            while slot.state in (LOADING, UNLOADING):
                if deadline is not None and deadline.expired():
                    raise deadline.error()
                slot.cond.wait(None if deadline is None else deadline.remaining())
            if slot.state == READY and slot.runner is not None:
                return slot.runner
            reason = self.registry.unavailable_reason(model_id)
            if reason:
                raise ModelUnavailable(f"Model '{model_id}' cannot run on this server: {reason}")
            slot.state, slot.error = LOADING, None
        return self._load(slot)

    def _load(self, slot: _Slot) -> Runner:
        """Load outside the lock (other models' states stay readable), then publish the result."""
        backend, runner, error, started = None, None, None, time.perf_counter()
        try:
            backend = self.registry.backend_class(slot.id)(self.registry.get(slot.id))
            backend.load()
            runner = Runner(backend, name=slot.id, max_queue=self._queue_size(backend))
        except ModelUnavailable as exc:
            error = str(exc)
            log.warning("model %s cannot be loaded: %s", slot.id, getattr(exc, "log_detail", exc))
        except Exception:  # any load failure becomes a readable state, never a crash
            log.exception("loading model %s failed", slot.id)
            error = f"Model '{slot.id}' could not be loaded; the server log has the details."
        with slot.cond:
            if error is None:
                slot.backend, slot.runner, slot.state = backend, runner, READY
                slot.load_seconds = round(time.perf_counter() - started, 3)
                log.info("model %s loaded in %.2fs", slot.id, slot.load_seconds)
            else:
                slot.backend, slot.runner, slot.state, slot.error = None, None, ERROR, error
            slot.cond.notify_all()
        if error is not None:
            raise ModelUnavailable(error)
        assert runner is not None
        return runner

    def submit(self, model_id: str, works: Sequence[Work], deadline: Deadline, streaming: bool = False) -> list[Ticket]:
        """Admit work to the model's runner (loading the model on first use); Overloaded at once when its
        queue is full. A runner that closes in between (an unload) is replaced by loading the model again."""
        while True:
            runner = self.runner(model_id, deadline)
            try:
                return runner.submit(works, deadline, streaming)
            except RunnerClosed:
                continue

    def check_room(self, model_id: str, count: int) -> None:
        """Overloaded at once when a loaded model's queue has no room for ``count`` more requests."""
        slot = self._slot(model_id)
        with slot.cond:
            runner = slot.runner if slot.state == READY else None
        if runner is not None:
            runner.check_room(count)

    def load(self, model_id: str) -> ModelStatus:
        self.runner(model_id)
        return self.status(model_id)

    def unload(self, model_id: str, grace_s: float | None = None) -> bool:
        """Release a model's memory; True when it was loaded. Queued and running requests get ``grace_s`` (the
        manager's unload grace by default) to finish; those still waiting then fail, those running stop."""
        slot = self._slot(model_id)
        with slot.cond:
            while slot.state in (LOADING, UNLOADING):
                slot.cond.wait()
            if slot.state != READY:
                slot.state, slot.error = UNLOADED, None
                return False
            slot.state = UNLOADING
            backend, runner = slot.backend, slot.runner
        try:
            if runner is not None:
                runner.close(self._unload_grace_s if grace_s is None else grace_s)
            if backend is not None:
                backend.unload()
        finally:
            with slot.cond:
                slot.backend = slot.runner = None
                slot.state = UNLOADED
                slot.cond.notify_all()
        del backend, runner
        gc.collect()
        log.info("model %s unloaded", model_id)
        return True

    def unload_all(self, grace_s: float | None = None) -> None:
        for model_id in self._slots:
            self.unload(model_id, grace_s)

    def status(self, model_id: str) -> ModelStatus:
        slot = self._slot(model_id)
        with slot.cond:
            state, runner = slot.state, slot.runner
            error, load_seconds = slot.error, slot.load_seconds
        if state in (UNLOADED, ERROR) and self.registry.unavailable_reason(model_id):
            return ModelStatus(model_id, UNAVAILABLE, self.registry.unavailable_reason(model_id))
        waiting, running = (runner.waiting, runner.running) if runner is not None else (0, 0)
        return ModelStatus(model_id, state, error, load_seconds, waiting, running)

    def statuses(self) -> list[ModelStatus]:
        return [self.status(model_id) for model_id in self._slots]

    def loaded(self) -> list[str]:
        return [s.id for s in self.statuses() if s.state == READY]

    def loaded_backend(self, model_id: str) -> Backend | None:
        """The backend of a loaded model, or None (for tests and benchmarks that inspect a model)."""
        slot = self._slot(model_id)
        with slot.cond:
            return slot.backend if slot.state == READY else None
