"""Gather concurrent requests to one model into batches.

Callers block in :meth:`Batcher.submit`; one worker thread takes the first waiting
request, waits up to ``max_wait_s`` for more with the same key (requests with other
keys, e.g. other sampling settings, wait for a later batch), runs them together with
``run_batch`` and hands each caller its own result. When a whole batch fails, its
requests are run one by one, so a bad request fails only itself.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
_STOP: Any = object()

Req = TypeVar("Req")
Res = TypeVar("Res")


@dataclass
class _Pending(Generic[Req]):
    request: Req
    key: Hashable
    future: Future = field(default_factory=Future)


class Batcher(Generic[Req, Res]):
    def __init__(self, run_batch: Callable[[list[Req]], Sequence[Res]], *, max_batch: int, max_wait_s: float,
                 key: Callable[[Req], Hashable] = lambda _: None, name: str = "batcher", history: int = 1000):
        self.run_batch = run_batch
        self.max_batch = max(1, max_batch)
        self.max_wait_s = max(0.0, max_wait_s)
        self.key = key
        self.sizes: collections.deque[int] = collections.deque(maxlen=history)  # size of each batch run
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._held: list[_Pending] = []  # taken from the queue but of another key than the batch in hand
        self._closed = False
        self._worker = threading.Thread(target=self._loop, name=name, daemon=True)
        self._worker.start()

    def submit(self, request: Req) -> Res:
        """Run one request as part of a batch; returns its result or raises its own error."""
        if self._closed:
            raise RuntimeError("the model was unloaded before this request ran")
        pending = _Pending(request, self.key(request))
        self._queue.put(pending)
        return pending.future.result()

    def close(self) -> None:
        """Serve what is queued, then stop; later submits fail at once."""
        self._closed = True
        self._queue.put(_STOP)

    def _next(self, timeout: float | None) -> Any:
        if self._held:
            return self._held.pop(0)
        try:
            return self._queue.get(timeout=timeout) if timeout is None or timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return None

    def _gather(self, first: _Pending) -> list[_Pending]:
        batch, held = [first], []
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch:
            item = self._next(deadline - time.monotonic())
            if item is None:
                break
            if item is _STOP:
                self._queue.put(_STOP)  # stop after this batch
                break
            if item.key == first.key:
                batch.append(item)
            else:
                held.append(item)
        self._held = held + self._held
        return batch

    def _loop(self) -> None:
        while True:
            first = self._next(None)
            if first is _STOP:
                self._fail_waiting()
                return
            batch = self._gather(first)
            self.sizes.append(len(batch))
            self._run(batch)

    def _fail_waiting(self) -> None:
        """After close(): nobody may wait forever for a batch that will not run."""
        waiting, self._held = self._held, []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                waiting.append(item)
        for pending in waiting:
            pending.future.set_exception(RuntimeError("the model was unloaded before this request ran"))

    def _run(self, batch: list[_Pending]) -> None:
        try:
            results: Sequence[Any] = self.run_batch([p.request for p in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"batch of {len(batch)} gave {len(results)} results")
        except BaseException as exc:
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                return
            log.warning("batch of %d failed (%s); running its requests one by one", len(batch), exc)
            for pending in batch:
                self._run([pending])
            return
        for pending, result in zip(batch, results, strict=True):
            pending.future.set_result(result)
