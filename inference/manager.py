"""Thread-safe model manager: load on first use, unload, shut down, and the state of each model.

States: ``unloaded -> loading -> ready -> unloading -> unloaded``; a failed load leaves ``error`` with
its message (the next request tries again); ``unavailable`` when the backend cannot run on this host at
all. A loaded model is a backend plus its :class:`~inference.runner.Runner`, which executes every request;
an unload closes the runner first (no new requests, queued ones served or failed), then unloads the backend.
Locks are held only to read or change a state, never while loading, running or unloading, so a status
(``/health``, ``/models``) never waits behind inference work. Requests that wait for a model to load or
unload count against its queue bound too, so nothing waits without bound.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import heap
from .backends.base import Backend
from .cancel import CancelToken, Deadline
from .catalog import Catalog, ModelHandle, Sizing
from .errors import SHUTTING_DOWN, Cancelled, ChatVLMError, ModelUnavailable, Overloaded, redact_paths
from .manager_room import RoomKeeper
from .model_reports import ModelReports
from .model_room import GB, MIN_RESIDENT_S
from .observe import Observers
from .results import ModelState
from .runner import Runner, RunnerClosed
from .shares import Waiting
from .tickets import Ticket
from .values import Work

log = logging.getLogger(__name__)

UNLOADED, LOADING, READY, UNLOADING, ERROR, UNAVAILABLE = ModelState


@dataclass
class ModelStatus:
    id: str
    state: ModelState
    error: str | None = None
    load_seconds: float | None = None
    waiting: int = 0
    running: int = 0


class _Slot:
    def __init__(self, handle: ModelHandle):
        self.handle = handle
        self.id = handle.id
        self.cond = threading.Condition()
        self.backend: Backend | None = None
        self.runner: Runner | None = None
        self.state = UNLOADED
        self.error: str | None = None
        self.load_seconds: float | None = None
        self.loads_ended = 0  # loads finished so far: a waiter can tell that the load it waited for failed
        self.pending = Waiting()  # requests waiting for a load or an unload to end, per caller
        self.max_queue: int | None = None
        self.weights: tuple[str, int] | None = None  # (device, bytes) its weights take, from its last load (model_room)
        self.pinned = False  # a server.preload model: requests never unload it to make room (an administrator may)
        self.refusal: tuple[str, int] | None = None  # why its last load found no room, Retry-After (told to its waiters)
        self.jobs_waiting: float | None = None  # since when jobs' pages have found no room for it (model_room)
        self.room_wait: float | None = None  # since when its load has waited for others to make way (said by /models)


class ModelManager(RoomKeeper, ModelReports):
    def __init__(
        self,
        catalog: Catalog,
        queue_size: Callable[[Sizing], int] = lambda sizing: 64,
        unload_grace_s: float = 15.0,
        observers: Observers | None = None,
        memory_gb: float = 0.0,
        resident_s: float = MIN_RESIDENT_S,
    ):
        """``queue_size(sizing)`` is each model's wait-queue bound; ``unload_grace_s`` how long an unload lets
        queued and running requests finish before it fails or stops them. Models are named by their resolved
        :class:`~inference.catalog.ModelHandle` (an id is resolved through ``catalog``). ``memory_gb``: what loaded
        models' weights may take together (0: their device's free memory decides), ``resident_s`` how long a loaded model
        stays before it may make way for another (and twice its load time; see ``inference.model_room``)."""
        self.catalog = catalog
        self._queue_size = queue_size
        self._unload_grace_s = unload_grace_s
        self.observers = observers or Observers()
        self._closed = False
        self._slots = {handle.id: _Slot(handle) for handle in catalog.handles()}
        self._budget, self._resident_s = int(memory_gb * GB), resident_s
        self._room = threading.Lock()  # one model at a time makes room (and reserves it) before it loads

    def _slot(self, model: ModelHandle | str) -> _Slot:
        return self._slots[(model if isinstance(model, ModelHandle) else self.catalog.handle(model)).id]

    def _bound(self, slot: _Slot) -> int:
        """The model's queue bound (its sizing is known before a load)."""
        if slot.max_queue is None:
            slot.max_queue = self._queue_size(slot.handle.sizing)
        return slot.max_queue

    def runner(
        self,
        model: ModelHandle | str,
        deadline: Deadline | None = None,
        cancel: CancelToken | None = None,
        fetch: bool = False,
        background: bool = False,
        wait: bool = True,
    ) -> Runner:
        """The model's runner, loading the model first if needed (fetching absent weights only when ``fetch``: an
        administrator's load). While another thread loads or unloads it, waits (until ``deadline``) if the model's
        queue has room for one more, else refuses at once (Overloaded)."""
        slot = self._slot(model)
        model_id = slot.id
        with slot.cond:
            seen = slot.loads_ended
            while slot.state in (LOADING, UNLOADING):
                if self._closed:
                    raise ModelUnavailable(SHUTTING_DOWN)
                if not wait:  # (model=auto's page: the CPU engine's reading stands rather than wait for a load)
                    raise Overloaded(f"Model '{model_id}' is being loaded or unloaded.", retry_after=5)
                slot.pending.check(model_id, self._bound(slot))
                if deadline is not None and deadline.expired():
                    raise deadline.error()
                with slot.pending.one():
                    slot.cond.wait(None if deadline is None else deadline.remaining())
            if self._closed:
                raise ModelUnavailable(SHUTTING_DOWN)
            if slot.state == READY and slot.runner is not None:
                return slot.runner
            if slot.state == ERROR and slot.loads_ended != seen:  # the load this request waited for failed: say why
                raise ModelUnavailable(slot.error or f"Model '{model_id}' could not be loaded.")
            if slot.refusal is not None and slot.loads_ended != seen:  # ...found no room: the same answer, not a wait more
                raise Overloaded(*slot.refusal)
            slot.handle.check_startable(fetch)
            if cancel is not None and cancel.cancelled:  # nobody is waiting for this load
                raise Cancelled("The request was cancelled before it started.")
            if deadline is not None and deadline.expired():
                raise deadline.error()
            slot.state, slot.error, slot.weights, slot.refusal = LOADING, None, None, None  # (its size: counted again)
        return self._load(slot, background, deadline, cancel, wait)

    def _load(
        self,
        slot: _Slot,
        background: bool = False,
        deadline: Deadline | None = None,
        cancel: CancelToken | None = None,
        wait: bool = True,
    ) -> Runner:
        """Load outside the lock (other models' states stay readable), then publish the result; first, room is made
        for its weights (``_make_room``): when there is none, the model stays unloaded and the request is refused."""
        try:
            self._make_room(slot, background, deadline, cancel, wait)  # (a job's page never makes other models unload)
        except Exception as exc:
            with slot.cond:
                slot.loads_ended += 1
                slot.state = UNLOADED
                timely = deadline is None or deadline.remaining() > 1  # (it waited the room out, not its own deadline)
                waited = isinstance(exc, Overloaded) and wait and not background and timely
                slot.refusal = (str(exc), exc.retry_after) if waited else None
                slot.cond.notify_all()
            if isinstance(exc, ChatVLMError):
                raise
            log.exception("making room for model %s failed", slot.id)
            raise ModelUnavailable(f"Model '{slot.id}' could not be loaded; the server log has the details.") from None
        backend, runner, error, started = None, None, None, time.perf_counter()
        try:
            backend = slot.handle.build()
            backend.load()
            runner = Runner(backend, name=slot.id, max_queue=self._bound(slot), observers=self.observers)
        except ModelUnavailable as exc:
            error = redact_paths(str(exc))
            log.warning("model %s cannot be loaded: %s", slot.id, exc.log_detail or exc)
        except Exception:  # any load failure becomes a readable state, never a crash
            log.exception("loading model %s failed", slot.id)
            error = f"Model '{slot.id}' could not be loaded; the server log has the details."
        with slot.cond:
            slot.loads_ended += 1
            if error is None:
                slot.backend, slot.runner, slot.state = backend, runner, READY
                if slot.weights is None:  # (weights this load fetched, an administrator's: counted from now on)
                    slot.weights = slot.handle.backend_class.memory_needs(slot.handle.spec)
                slot.load_seconds = round(time.perf_counter() - started, 3)
                log.info("model %s loaded in %.2fs", slot.id, slot.load_seconds)
            else:
                slot.backend, slot.runner, slot.state, slot.error = None, None, ERROR, error
            slot.cond.notify_all()
        if error is not None:
            raise ModelUnavailable(error)
        assert runner is not None
        return runner

    def submit(
        self,
        model: ModelHandle | str,
        works: Sequence[Work],
        deadline: Deadline,
        streaming: bool = False,
        cancel: CancelToken | None = None,
        background: bool = False,
        continuing: bool = False,
        wait: bool = True,
    ) -> list[Ticket]:
        """Admit work to the model's runner (loading the model on first use); Overloaded at once when its
        queue is full. A runner that closes in between (an unload) is replaced by loading the model again.
        Cancelling ``cancel`` later drops or stops the admitted work; ``background`` work waits behind requests;
        ``continuing``: the next page of a request under way (a model making way still takes it); ``wait``: for room in
        memory, when the model must be loaded (``inference.model_room``)."""
        while True:
            runner = self.runner(model, deadline, cancel, background=background, wait=wait)
            try:
                tickets = runner.submit(works, deadline, streaming, background, continuing)
                break
            except RunnerClosed:
                if self._closed:
                    raise ModelUnavailable(SHUTTING_DOWN) from None
        if cancel is not None:
            for ticket in tickets:
                cancel.on_cancel(ticket.cancel)
        return tickets

    def check_room(self, model: ModelHandle | str, count: int) -> None:
        """Overloaded at once when the model's queue has no room for ``count`` more requests (a cheap look
        before decoding their images)."""
        slot = self._slot(model)
        model_id = slot.id
        with slot.cond:
            if self._closed:
                raise ModelUnavailable(SHUTTING_DOWN)
            runner = slot.runner if slot.state == READY else None
            if slot.state in (LOADING, UNLOADING):  # (a batch waits for it in one place, as one request)
                slot.pending.check(model_id, self._bound(slot))
        if runner is not None:
            runner.check_room(count)

    def load(self, model: ModelHandle | str) -> ModelStatus:
        """An administrator's load (or ``server.preload``'s): it may fetch absent weights."""
        self.runner(model, fetch=True)
        return self.status(model)

    def unload(self, model: ModelHandle | str, grace_s: float | None = None, collect: bool = True) -> bool:
        """Release a model's memory; True when it was loaded. Queued and running requests get ``grace_s`` (the
        manager's unload grace by default) to finish; those still waiting then fail, those running stop.
        ``collect=False``: no garbage collection and no heap trim (a shutdown unloads every model as the process ends)."""
        slot = self._slot(model)
        model_id = slot.id
        with slot.cond:
            while slot.state in (LOADING, UNLOADING):
                slot.cond.wait()
            if slot.state != READY:
                if slot.state == ERROR:
                    slot.state, slot.error = UNLOADED, None
                return False
            slot.state = UNLOADING
            backend, runner = slot.backend, slot.runner
        self._release(slot, backend, runner, self._unload_grace_s if grace_s is None else grace_s, collect)
        log.info("model %s unloaded", model_id)
        return True

    def _release(self, slot: _Slot, backend: Backend | None, runner: Runner | None, grace_s: float, collect: bool) -> None:
        """A model set UNLOADING: its runner closed (``grace_s`` for its work), its backend unloaded, its memory freed."""
        try:
            if runner is not None:
                runner.close(grace_s)
            if backend is not None:
                backend.unload()
        finally:
            with slot.cond:
                slot.backend = slot.runner = None
                slot.state = UNLOADED
                slot.cond.notify_all()
        del backend, runner
        if collect:
            gc.collect()
            heap.trim()  # what the model and its requests' pages held goes back to the system, not to malloc's arenas

    def shutdown(self, grace_s: float) -> None:
        """Stop admitting everywhere at once (no model loads again), let queued and running requests finish for
        up to ``grace_s`` in all models together, then fail or stop what is left and unload everything. No garbage
        collection: the process is ending (a full collection of a heap holding torch, transformers and the UI takes
        a second on a slow core, for memory nobody will use)."""
        self._closed = True
        runners = []
        for slot in self._slots.values():
            with slot.cond:
                slot.cond.notify_all()  # requests waiting for a load or an unload learn of the shutdown
                if slot.runner is not None:
                    runners.append(slot.runner)
        for runner in runners:
            runner.stop_admitting()
        end = time.monotonic() + grace_s
        for model_id in list(self._slots):
            self.unload(model_id, grace_s=max(0.0, end - time.monotonic()), collect=False)

    def status(self, model: ModelHandle | str) -> ModelStatus:
        slot = self._slot(model)
        with slot.cond:
            state, runner = slot.state, slot.runner
            error, load_seconds = slot.error, slot.load_seconds
        if state in (UNLOADED, ERROR) and slot.handle.unavailable:
            return ModelStatus(slot.id, UNAVAILABLE, slot.handle.unavailable)
        waiting, running = (runner.waiting, runner.running) if runner is not None else (0, 0)
        return ModelStatus(slot.id, state, error, load_seconds, waiting, running)

    def statuses(self) -> list[ModelStatus]:
        return [self.status(model_id) for model_id in self._slots]

    def loaded(self) -> list[str]:
        return [s.id for s in self.statuses() if s.state == READY]

    def preload(self, ids: Sequence[str], done: threading.Event) -> threading.Thread:
        """Load ``ids`` one after another in a background thread, then set ``done``; a model that fails says why in
        its state, and the others still load."""

        for model_id in ids:
            self._slot(model_id).pinned = True  # (requests never unload it to make room)

        def load_all() -> None:
            try:
                for model_id in ids:
                    try:
                        self.load(model_id)
                    except ChatVLMError as exc:
                        log.warning("preloading %s failed: %s", model_id, exc)
            finally:
                done.set()

        thread = threading.Thread(target=load_all, name="preload", daemon=True)
        thread.start()
        return thread
