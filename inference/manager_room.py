"""The model manager's side of the room in memory (``inference.model_room`` has the policy): before a model loads,
the models that must make way for it are unloaded, under one lock so that two loads never count the same room
(mixed into :class:`~inference.manager.ModelManager`, whose slots and unloading it uses)."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from . import heap
from .cancel import CancelToken, Deadline
from .device import free_memory, total_memory
from .errors import SHUTTING_DOWN, Cancelled, ModelUnavailable, Overloaded
from .model_room import ROOM_WAIT_S, Resident, plan_room
from .results import ModelState

log = logging.getLogger("inference.manager")

UNLOADED, LOADING, READY, UNLOADING, ERROR, UNAVAILABLE = ModelState
ROOM_POLL_S = 0.1  # how often a request waiting for room looks again
JOB_IDLE_FACTOR = 12  # a job's page makes a model unload only when nobody used it for this many residencies (60 s)
JOBS_TURN_FACTOR = 60  # ...or when jobs' pages have found no room for it for this many (5 minutes: then as a request)


class RoomKeeper:
    _slots: dict[str, Any]
    _budget: int
    _room: threading.Lock
    _closed: bool
    _release: Callable[..., None]
    _unload_grace_s: float
    _resident_s: float

    def _make_room(
        self, slot: Any, background: bool, deadline: Deadline | None, cancel: CancelToken | None = None, wait: bool = True
    ) -> None:
        """Unload the models that make way for this one (``inference.model_room``): for a request, idle ones and those
        reading only jobs' pages, the least recently used first, each once loaded long enough, never a pinned one; for
        a job's page (``background``), only models nobody has used for a while (:data:`JOB_IDLE_FACTOR`). A request
        waits for room held by others (``model_room.ROOM_WAIT_S`` at most, within its deadline), and once it has waited
        two residencies, the models holding it take no new request until it is loaded. Overloaded when the room stays
        held (a job's page, or ``wait`` false: at once); ModelUnavailable when it never fits."""
        needs = slot.handle.backend_class.memory_needs(slot.handle.spec)
        if needs is None:
            return
        started, yielding, wait = time.monotonic(), [], wait and not background
        # jobs' pages that found no room for long take their turn as a request would (without waiting): else a model
        # used once a minute kept a job at 0 pages for good
        since = slot.jobs_waiting if background else None
        turn = since is not None and started - since >= JOBS_TURN_FACTOR * self._resident_s
        try:
            while True:
                try:
                    self._take_room(slot, needs, background and not turn, deadline, wait)
                    slot.jobs_waiting = None
                    return
                except Overloaded as held:  # (a request waits for the room, and after a while takes its turn)
                    if background and slot.jobs_waiting is None:
                        slot.jobs_waiting = started
                    slot.room_wait = slot.room_wait or started
                    waited = time.monotonic() - started
                    if self._closed:
                        raise ModelUnavailable(SHUTTING_DOWN) from None
                    if not wait or waited >= ROOM_WAIT_S or (deadline is not None and deadline.remaining() <= ROOM_POLL_S):
                        raise
                    if cancel is not None and cancel.cancelled:  # (nobody waits for it any more)
                        raise Cancelled("The request was cancelled while it waited for memory.") from None
                    if waited >= min(2 * self._resident_s, ROOM_WAIT_S / 4):  # its turn: those holding it take no request
                        for runner in (self._slots[h].runner for h in getattr(held, "holders", ())):
                            if runner is not None and runner not in yielding:
                                runner.yield_to(+1)
                                yielding.append(runner)
                time.sleep(ROOM_POLL_S)
        finally:
            slot.room_wait = None
            for runner in yielding:
                runner.yield_to(-1)

    def _take_room(
        self, slot: Any, needs: tuple[str, int], background: bool, deadline: Deadline | None, wait: bool = True
    ) -> None:
        """Plan, unload the models that make way, and plan again with what they freed (by the device's free memory an
        unloaded model frees more than its weights: its caches), until the model fits (or RoomHeld)."""
        wait = None if deadline is None else max(0.0, deadline.remaining())
        if not self._room.acquire(timeout=-1 if wait is None else wait):
            raise Overloaded(f"Model '{slot.id}' waits for another model to be loaded; try again.", retry_after=5)
        try:
            while True:
                residents, loading = self._residents(slot, needs, background)
                free = None if self._budget else free_memory(needs[0])
                total = None if self._budget else total_memory(needs[0])
                room = None if free is None else free - loading
                victims = plan_room(slot.id, *needs, residents, self._budget, room, total, partial=wait)
                if not victims:
                    slot.weights = needs
                    return
                for victim in victims:
                    if not self._make_way(self._slots[victim]):
                        if self._closed:
                            raise ModelUnavailable(SHUTTING_DOWN)
                        raise Overloaded(f"Model '{victim}' took a request while it was to make way; try again.", retry_after=5)
                gc.collect()
                heap.trim()  # (once for all of them)
        finally:
            self._room.release()

    def _residents(self, slot: Any, needs: tuple[str, int], background: bool) -> tuple[list[Resident], int]:
        """The other loaded (or loading) models as the room sees them, for this model's load, and the bytes of those
        loading on its device (not in its free memory yet)."""
        residents, loading, now = [], 0, time.monotonic()
        for other in self._slots.values():
            with other.cond:
                if other is slot or other.weights is None or other.state not in (READY, LOADING, UNLOADING):
                    continue
                runner = other.runner
                if other.state != READY or runner is None:  # (loading or unloading: at work)
                    residents.append(Resident(other.id, *other.weights, now, False, None, other.pinned))
                    loading += other.weights[1] if other.state == LOADING and other.weights[0] == needs[0] else 0
                    continue
                working = runner.waiting + runner.running > 0 if background else runner.requests > 0
                stay = min(max(self._resident_s, 2 * (other.load_seconds or 0.0)), ROOM_WAIT_S / 2) if self._resident_s else 0.0
                left = stay - (now - runner.loaded_at)
                if background:  # (a job's page: only from a model nobody has used for a while)
                    left = max(left, JOB_IDLE_FACTOR * self._resident_s - (now - runner.last_used))
                wait_s = None if working or other.pinned else max(0.0, left)
                residents.append(Resident(other.id, *other.weights, runner.last_used, wait_s == 0.0, wait_s, other.pinned))
        return residents, loading

    def _make_way(self, slot: Any) -> bool:
        """Unload a model for another (no request queued or running: its jobs' pages are read later); True when it is
        unloaded (by this, or by an administrator's unload under way), False when a request came first."""
        with slot.cond:
            while slot.state == UNLOADING:
                slot.cond.wait()
            if slot.state == UNLOADED:
                return True
            runner = slot.runner
            if slot.state != READY or runner is None or not runner.make_way():
                return False
            slot.state, backend = UNLOADING, slot.backend
        idle = time.monotonic() - runner.last_used
        log.info("model %s unloaded to make room for another (last used %.0f s ago)", slot.id, idle)
        self._release(slot, backend, runner, self._unload_grace_s, collect=False)
        return True
