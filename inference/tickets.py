"""A request admitted by a model's runner: its work, deadline, state, stop signal and answer.

The waiter blocks on :meth:`Ticket.result` (or reads :meth:`Ticket.next_piece` for a stream);
:meth:`Ticket.cancel` drops the work while it waits in the queue or, once it runs, makes its stop signal
true, so a generation stops within one decoding step. The runner drives the other side (``_start``,
``_emit``, ``_settle``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from .cancel import Deadline
from .errors import Cancelled, ChatVLMError
from .values import Output, Work

WAITING, RUNNING, DONE = "waiting", "running", "done"
_END: Any = object()  # the end of a stream's pieces


class Ticket:
    """One admitted request: its work, deadline, state, stop signal and answer (a future; pieces for a stream)."""

    def __init__(
        self, work: Work, deadline: Deadline, streaming: bool, forget: Callable[[Ticket], None], background: bool = False
    ):
        """``forget(ticket)``: the queue this ticket waits in drops it (called when it is abandoned while waiting);
        ``background``: a job's work, which waits behind requests."""
        self.work: Work | Any = work  # (None once settled: see _settle)
        self.background = background
        self.caller: str | None = None  # whose request it is, and when it came (the runner's turns: inference.turns)
        self.arrival = 0
        self.deadline = deadline
        self.streaming = streaming
        self.future: Future = Future()
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self._pieces: queue.SimpleQueue | None = queue.SimpleQueue() if streaming else None
        self._forget = forget
        self._lock = threading.Lock()
        self._state = WAITING
        self._cancelled = False

    @property
    def state(self) -> str:
        return self._state

    def stopped(self) -> bool:
        """The stop signal backends poll: true once the caller is gone or the deadline has passed."""
        return self._cancelled or self.deadline.expired()

    @property
    def run_seconds(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.perf_counter()) - self.started_at

    # ---- the waiter's side ------------------------------------------------------------------------
    def result(self) -> Output:
        """The answer; raises the request's error, TimedOut at the deadline, or Cancelled."""
        try:
            return self.future.result(timeout=self.deadline.remaining())
        except FutureTimeout:
            self.expire()
            return self.future.result()

    def expire(self) -> None:
        """The deadline has passed: drop the work while it waits, stop it once it runs."""
        self._abandon(self.deadline.error())

    def next_piece(self, timeout: float) -> str | None:
        """A stream's next piece of text; None when none came within ``timeout``; StopIteration at the end
        (after which :meth:`result` has the output). Raises the stream's error, or TimedOut at the deadline."""
        assert self._pieces is not None, "not a streaming ticket"
        wait = min(timeout, self.deadline.remaining())
        try:
            piece = self._pieces.get(timeout=wait) if wait > 0 else self._pieces.get_nowait()
        except queue.Empty:
            if self.deadline.expired():
                self.expire()
                self.future.result()  # raises TimedOut (or the stream's own error if it ended first)
            return None
        if piece is _END:
            self._pieces.put(_END)  # later calls see the end too
            self.future.result()  # raises the stream's error, if any
            raise StopIteration
        return piece

    def cancel(self) -> None:
        """The caller is gone: drop the work while it waits, stop it once it runs."""
        self._abandon(Cancelled("The request was cancelled before it finished."))

    def _abandon(self, error: ChatVLMError) -> None:
        with self._lock:
            if self._state == DONE:
                return
            self._cancelled = True
            waiting = self._state == WAITING
        if waiting:
            self._forget(self)
        self._settle(error=error)

    # ---- the runner's side ------------------------------------------------------------------------
    def _start(self) -> bool:
        """WAITING -> RUNNING; False when the request was cancelled or expired in the queue (it is settled)."""
        with self._lock:
            if self._state != WAITING or self._cancelled:
                return False
            if not self.deadline.expired():
                self._state, self.started_at = RUNNING, time.perf_counter()
                return True
        self._settle(error=self.deadline.error())
        return False

    def _emit(self, piece: str) -> None:
        if piece and self._pieces is not None and not self._cancelled:
            self._pieces.put(piece)

    def _settle(self, result: Any = None, error: BaseException | None = None) -> None:
        with self._lock:
            if self.future.done():
                return
            self._state, self.finished_at = DONE, time.perf_counter()
            self.work = None  # (its page is let go, though the request's cancel token holds the ticket to its end)
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(result)
        if self._pieces is not None:
            self._pieces.put(_END)
