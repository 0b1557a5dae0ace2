"""Cancellation of a request by whoever waits for it (a REST client that left, a Gradio job stopped).

The edge creates a :class:`CancelToken`, passes it to the service and cancels it when its caller goes
away; the service links it to the runner's tickets, so queued work is dropped and running work stops.
:func:`call_cancellable` runs a blocking service call from async code with such a token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import anyio

from .errors import Cancelled, TimedOut

T = TypeVar("T")

# Threads that wait for inference or for a PDF reader: many may wait at once, so they do not come out of the pool
# that serves the sync routes and /health (anyio's default of 40); the runners' bounded queues (and the PDF
# readers' turns) bound the real work.
_WAITERS: anyio.CapacityLimiter | None = None


class CancelToken:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], Any]] = []
        self.cancelled = False

    def cancel(self) -> None:
        with self._lock:
            if self.cancelled:
                return
            self.cancelled = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], Any]) -> None:
        """Call ``callback`` when cancelled (at once when already cancelled)."""
        with self._lock:
            if not self.cancelled:
                self._callbacks.append(callback)
                return
        callback()


def waiters() -> anyio.CapacityLimiter:
    """The thread limiter of everything that waits for inference (see _WAITERS)."""
    global _WAITERS
    if _WAITERS is None:
        _WAITERS = anyio.CapacityLimiter(512)
    return _WAITERS


async def call_cancellable(
    fn: Callable[..., T], *args: Any, gone: Callable[[], Awaitable[bool]] | None = None, poll_s: float = 0.2, **kwargs: Any
) -> T:
    """Run ``fn(*args, cancel=token, **kwargs)`` in a worker thread. The token is cancelled when this task is
    cancelled (a Gradio job stopped) or when ``gone()`` turns true (a REST client disconnected), so the
    request's queued or running work stops instead of costing compute for nobody."""
    token = CancelToken()
    call = partial(fn, *args, cancel=token, **kwargs)

    async def watch() -> None:
        while gone is not None and not token.cancelled:
            await anyio.sleep(poll_s)
            try:
                left = await gone()
            except Exception:  # cannot tell any more: treat the caller as gone rather than compute for nobody
                left = True
            if left:
                token.cancel()

    outcome: list[Any] = []
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(watch)
            try:
                outcome.append(await anyio.to_thread.run_sync(call, abandon_on_cancel=True, limiter=waiters()))
            except Exception as exc:  # raised below, not wrapped in the task group's ExceptionGroup
                outcome.append(exc)
            finally:
                group.cancel_scope.cancel()
    except anyio.get_cancelled_exc_class():
        token.cancel()
        raise
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return outcome[0]


class Deadline:
    """When a request must be done: ``limit_s`` seconds after it arrived (``limits.request_timeout_s``)."""

    def __init__(self, limit_s: float, start: float | None = None):
        self.limit_s = limit_s
        self.at = (time.monotonic() if start is None else start) + limit_s

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def error(self) -> TimedOut:
        return TimedOut(
            f"The request did not finish within the server's time limit of {self.limit_s:g} s "
            "and was stopped; try a smaller input or fewer tokens, or try again when the server is less busy."
        )


def deadline_for(cancel: CancelToken | None, limit_s: float) -> Deadline:
    """A new request's deadline (``limits.request_timeout_s``); Cancelled at once when it was cancelled already."""
    if cancel is not None and cancel.cancelled:
        raise Cancelled("The request was cancelled before it started.")
    return Deadline(limit_s)
