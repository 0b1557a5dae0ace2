"""One runner per loaded model: the one home of that model's execution.

The manager creates a runner when a model is loaded and closes it before unloading. The runner owns
what concurrency there is: a bounded wait queue (admission), its worker threads (one for a model that
batches, one per engine instance for the OCR engines), batching (:func:`collate` picks each batch),
per-request deadlines, cancellation and the shutdown order. Backends only compute: ``run_batch`` for a
batch of work, ``stream`` for one streamed answer, each with stop signals the runner gives them.

A request becomes a :class:`~inference.tickets.Ticket` when admitted: its waiter blocks on it, and
cancelling it drops the work from the queue or stops it once it runs. Callers (``inference.callers.CALLER``) take
turns (``inference.turns``), and one caller holds at most its share of the wait queue (``inference.shares``): a
client sending many requests at once neither fills the queue (others refused) nor keeps the others' requests behind
all of its.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Hashable, Sequence
from typing import Any

from .callers import CALLER
from .cancel import Deadline
from .errors import Cancelled, ModelUnavailable, OutOfMemory, Overloaded
from .observe import Observers
from .shares import refuse_past_share
from .tickets import Ticket
from .turns import Turns
from .values import Work

log = logging.getLogger(__name__)

STOP_WAIT_S = 1.0  # how long a close waits at least, after the grace, for the workers it told to stop
LATER = "The model was unloaded (an administrator, or it made way for another); this page is read later."


class RunnerClosed(Exception):
    """The runner stopped admitting (its model is being unloaded); the manager loads the model again."""


def collate(keys: Sequence[Hashable], max_batch: int) -> list[int]:
    """The batch to run next, as indices into ``keys`` (the batch keys of the waiting requests, oldest first):
    the oldest request and the later ones that share its key, at most ``max_batch``. Requests with other keys
    (other sampling settings, streams) keep their place for a later batch."""
    if not keys:
        return []
    first = keys[0]
    return [i for i, key in enumerate(keys) if key == first][: max(1, max_batch)]


def is_out_of_memory(exc: BaseException) -> bool:
    """A CUDA (or other accelerator) out-of-memory error, by type or by torch's message."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return "OutOfMemoryError" in names or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


class Runner:
    """Admission, batching, deadlines, cancellation and shutdown for one loaded model (see the module doc)."""

    def __init__(self, backend: Any, *, name: str, max_queue: int, observers: Observers | None = None):
        self.backend = backend
        self.name = name
        self.observers = observers or Observers()
        self.max_queue = max(1, max_queue)
        self.workers = max(1, backend.workers)
        self.max_batch = max(1, backend.max_batch)
        self.max_wait_s = max(0.0, backend.batch_wait_s)
        self.batch_sizes: collections.deque[int] = collections.deque(maxlen=1000)  # size of each batch run
        self.completed = 0
        self.dropped = 0  # requests cancelled or expired before they ran
        self._seconds_per_item = 1.0  # moving average, for Retry-After
        self._cond = threading.Condition()
        self._waiting: collections.deque[Ticket] = collections.deque()
        self._turns = Turns()  # (requests only: a job's pages wait behind every request, in order)
        self._active: set[Ticket] = set()
        self._closing = False
        self.loaded_at = self.last_used = time.monotonic()  # last_used: a request taken or finished (LRU: model_room)
        self.yielding = 0  # requests for other models waiting for the memory this one holds (it takes no new request)
        backend.alone = lambda: len(self._active) <= 1 and not self._waiting  # (a hint: read without the lock)
        self._threads = [threading.Thread(target=self._loop, name=f"run-{name}-{i}", daemon=True) for i in range(self.workers)]
        for thread in self._threads:
            thread.start()

    # ---- admission --------------------------------------------------------------------------------
    def check_room(self, count: int) -> None:
        """Overloaded at once when ``count`` more requests would not fit in the wait queue now (a cheap look
        before decoding their images; :meth:`submit` decides)."""
        with self._cond:
            self._refuse_if_full(count, CALLER.get(), 1)  # (a batch starts when its first file has a place)

    def _refuse_if_full(self, count: int, caller: str | None = None, own: int | None = None) -> None:
        mine = sum(ticket.caller == caller for ticket in self._waiting) if caller is not None else 0
        adding = count if own is None else own
        refuse_past_share(caller, mine, adding, self.max_queue, f"model '{self.name}'", self._retry_after(count))
        if len(self._waiting) + count > self.max_queue:
            retry = self._retry_after(count)
            raise Overloaded(
                f"The server is busy: {len(self._waiting)} requests are waiting for model '{self.name}' "
                f"(at most {self.max_queue}). Try again in about {retry} s.",
                retry_after=retry,
            )

    def submit(
        self,
        works: Sequence[Work],
        deadline: Deadline,
        streaming: bool = False,
        background: bool = False,
        continuing: bool = False,
    ) -> list[Ticket]:
        """Admit all of ``works`` or none: Overloaded at once when the wait queue has no room for them. ``background``
        work (a job's pages) waits behind every request: a request goes before the background work that waits, so it
        is at most one batch behind a long job."""
        with self._cond:
            if self._closing:
                raise RunnerClosed(self.name)
            if self.yielding and not background and not continuing:  # (a request under way still gets its pages read)
                raise Overloaded(
                    f"Model '{self.name}' is making way for another model that waits for its memory; try again shortly.",
                    retry_after=5,
                )
            caller = None if background else CALLER.get()
            self._refuse_if_full(len(works), caller)
            tickets = [Ticket(work, deadline, streaming, self._forget, background) for work in works]
            for ticket in tickets:
                ticket.caller, ticket.arrival = caller, self._turns.arrival()
            self.last_used = time.monotonic()
            if background:
                self._waiting.extend(tickets)
            else:
                at = next((i for i, ticket in enumerate(self._waiting) if ticket.background), len(self._waiting))
                for offset, ticket in enumerate(tickets):
                    self._waiting.insert(at + offset, ticket)
            self._cond.notify_all()
        return tickets

    def _retry_after(self, extra: int) -> int:
        backlog = len(self._waiting) + len(self._active) + extra
        return int(min(60, max(1, round(backlog * self._seconds_per_item / (self.workers * self.max_batch)))))

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def running(self) -> int:
        return len(self._active)

    @property
    def requests(self) -> int:
        """Requests (not jobs' pages) queued or running."""
        return sum(not ticket.background for ticket in (*self._waiting, *self._active))

    def _forget(self, ticket: Ticket) -> None:
        with self._cond:
            try:
                self._waiting.remove(ticket)
                self.dropped += 1
            except ValueError:
                pass
            self._cond.notify_all()

    # ---- execution --------------------------------------------------------------------------------
    def _key(self, ticket: Ticket) -> Hashable:
        if ticket.streaming:
            return "stream", id(ticket)
        try:
            return self.backend.batch_key(ticket.work)
        except Exception:  # a request the backend cannot key runs alone (and fails there, with its own error)
            return "alone", id(ticket)

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                live = [ticket for ticket in batch if ticket._start()]
                if live:
                    self._run(live)
            except BaseException as exc:  # never leave a caller waiting, nor the model without a worker
                log.exception("model %s: a worker failed", self.name)
                for ticket in batch:
                    ticket._settle(error=exc if isinstance(exc, Exception) else RuntimeError("worker stopped"))
                if not isinstance(exc, Exception):
                    raise
            finally:
                with self._cond:
                    self._active.difference_update(batch)
                    self.last_used = time.monotonic()
                    self._cond.notify_all()

    def _take(self) -> list[Ticket] | None:
        """The next batch (the request whose turn it is first, see ``inference.turns``; a job's page when no request
        waits), or None once closing with nothing left to serve."""
        with self._cond:
            while not self._waiting:
                if self._closing:
                    return None
                self._cond.wait()
            requests = [ticket for ticket in self._waiting if not ticket.background]
            first = min(requests, key=lambda t: self._turns.rank(t.caller, t.arrival)) if requests else self._waiting[0]
            self._waiting.remove(first)
            self._turns.served(first.caller)
            self._active.add(first)
            self._cond.notify_all()
            if self.max_batch == 1 or first.streaming:
                return [first]
            end = time.monotonic() + self.max_wait_s
            while True:  # give concurrent requests a moment to join the batch
                picked = collate([self._key(first), *map(self._key, list(self._waiting))], self.max_batch)[1:]
                remaining = end - time.monotonic()
                if len(picked) + 1 >= self.max_batch or remaining <= 0 or self._closing:
                    break
                self._cond.wait(remaining)
            others = [self._waiting[i - 1] for i in picked]
            for ticket in others:
                self._waiting.remove(ticket)
                self._turns.served(ticket.caller)  # (it rides in the batch: its caller's turn is taken)
            self._active.update(others)
            self._cond.notify_all()
            return [first, *others]

    def _run(self, live: list[Ticket]) -> None:
        started = time.perf_counter()
        works = [ticket.work for ticket in live]  # (taken once: a request cancelled while others render lets its work go)
        try:
            for work in works:
                work.ready()  # (a large image left to its turn is decoded now: ``OcrWork.render``)
            if live[0].streaming:
                ticket = live[0]
                outputs = [self.backend.stream(works[0], ticket._emit, ticket.stopped)]
            else:
                outputs = list(self.backend.run_batch(works, [t.stopped for t in live]))
                if len(outputs) != len(live):
                    raise RuntimeError(f"a batch of {len(live)} gave {len(outputs)} results")
        except Exception as exc:
            self._failed(live, exc)
            return
        seconds = time.perf_counter() - started
        self.batch_sizes.append(len(live))
        self._seconds_per_item = 0.8 * self._seconds_per_item + 0.2 * seconds / len(live)
        tokens = sum(getattr(output, "completion_tokens", 0) for output in outputs)
        self.observers.batch_done(self.name, len(live), seconds, tokens)
        for ticket, output in zip(live, outputs, strict=True):
            self.completed += 1
            if ticket.deadline.expired():  # cut short by its deadline: not a complete answer
                ticket._settle(error=ticket.deadline.error())
            else:
                ticket._settle(result=output)

    def _failed(self, live: list[Ticket], exc: Exception) -> None:
        """A failed batch is retried one request at a time, so a bad request (or one too large for the
        accelerator's memory) fails alone; a lone request gets its error, out-of-memory as OutOfMemory."""
        if is_out_of_memory(exc):
            self.backend.release_memory()
        if len(live) > 1:
            log.warning(
                "model %s: a batch of %d failed (%s); running its requests one by one", self.name, len(live), type(exc).__name__
            )
            for ticket in live:
                if ticket.deadline.expired():
                    ticket._settle(error=ticket.deadline.error())
                elif ticket.stopped():
                    ticket._settle(error=Cancelled("The request was cancelled before it finished."))
                else:
                    self._run([ticket])
            return
        if is_out_of_memory(exc):
            log.error("model %s: out of memory for one request: %s", self.name, exc)
            exc = OutOfMemory(
                f"Model '{self.name}' ran out of accelerator memory for this request; try a smaller "
                "image, fewer max_tokens, or again when fewer requests are running."
            )
        live[0]._settle(error=exc)

    # ---- shutdown ---------------------------------------------------------------------------------
    def stop_admitting(self) -> None:
        """From now on :meth:`submit` raises RunnerClosed; what is queued and running goes on."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def yield_to(self, waiting: int) -> None:
        """``waiting`` (+1 or -1) more requests for other models wait for this one's memory (see ``yielding``)."""
        with self._cond:
            self.yielding += waiting

    def make_way(self) -> bool:
        """Stop admitting when no request is queued or running (nothing, or only jobs' pages): the model makes way for
        another (``inference.model_room``); the pages queued are answered Overloaded (their jobs read them later), those
        running finish within the close's grace. True when it stopped here."""
        with self._cond:
            if self._closing or self.requests:
                return False
            self._closing = True
            pages = list(self._waiting)
            self._waiting.clear()
            self._cond.notify_all()
        for ticket in pages:
            ticket._settle(error=Overloaded(LATER, retry_after=5))
        return True

    def close(self, grace_s: float) -> None:
        """Stop admitting; let queued and running requests finish for up to ``grace_s``; then fail what still
        waits, stop what still runs, and wait for the workers (the backend is unloaded after this)."""
        end = time.monotonic() + grace_s
        self.stop_admitting()
        with self._cond:
            while (self._waiting or self._active) and time.monotonic() < end:
                self._cond.wait(end - time.monotonic())
            leftovers, running = list(self._waiting), list(self._active)
            self._waiting.clear()
        gone = ModelUnavailable(f"Model '{self.name}' was unloaded before this request finished; send it again.")
        later = Overloaded(LATER, retry_after=5)  # (a job's page: its job reads it again when the model is back)
        for ticket in leftovers:
            ticket._settle(error=later if ticket.background else gone)
        for ticket in running:
            ticket._abandon(later if ticket.background else gone)
        join_until = time.monotonic() + max(STOP_WAIT_S, grace_s)  # told to stop: a worker ends at its next check
        for thread in self._threads:
            thread.join(timeout=max(0.1, join_until - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("model %s: workers %s still busy after close; unloading anyway", self.name, alive)
