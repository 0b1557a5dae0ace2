"""One process's job workers: ``jobs.workers`` threads take the units of every job (open it, read a page) in turns —
by key first, then by job — so a 500-page job never holds a 1-page job behind it, and one key's jobs never hold
another key's. Each page goes through the model's runner like any request (interactive requests keep their share:
a full queue makes a job's page wait, never a request). The store is the truth: a restart finds what was left.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass

from .cancel import CancelToken
from .errors import Cancelled, Overloaded
from .job_store import QUEUED, RUNNING, JobStore
from .job_work import JobWork

log = logging.getLogger("inference.jobs")

OPEN = -1  # the unit that opens a job (its page number)


@dataclass(frozen=True)
class Unit:
    job: str
    idx: int
    page: int  # OPEN: open the job


class FairQueue:
    """Units by owner, then by job, taken in turns (round robin between owners; within an owner, between its jobs of
    the highest priority waiting)."""

    def __init__(self) -> None:
        self._owners: OrderedDict[str, OrderedDict[str, deque[Unit]]] = OrderedDict()
        self._priority: dict[str, int] = {}
        self._lock = threading.Condition()

    def add(self, owner: str | None, units: list[Unit], front: bool = False, priority: int | None = None) -> None:
        if not units:
            return
        with self._lock:
            if priority is not None:
                self._priority[units[0].job] = priority
            jobs = self._owners.setdefault(owner or "", OrderedDict())
            queue = jobs.setdefault(units[0].job, deque())
            if front:
                queue.extendleft(reversed(units))
            else:
                queue.extend(units)
            self._lock.notify_all()

    def take(self, timeout: float) -> Unit | None:
        with self._lock:
            if not self._owners:
                self._lock.wait(timeout)
            if not self._owners:
                return None
            owner, jobs = next(iter(self._owners.items()))
            top = max(self._priority.get(job, 1) for job in jobs)
            job = next(job for job in jobs if self._priority.get(job, 1) == top)
            queue = jobs[job]
            unit = queue.popleft()
            if queue:
                jobs.move_to_end(job)
            else:
                del jobs[job]
            if jobs:
                self._owners.move_to_end(owner)
            else:
                del self._owners[owner]
            return unit

    def drop(self, job_id: str) -> None:
        with self._lock:
            self._priority.pop(job_id, None)
            for owner in list(self._owners):
                self._owners[owner].pop(job_id, None)
                if not self._owners[owner]:
                    del self._owners[owner]

    def wake(self) -> None:
        with self._lock:
            self._lock.notify_all()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(q) for jobs in self._owners.values() for q in jobs.values())


class LocalQueue:
    """The in-process dispatcher (see the module doc)."""

    def __init__(self, work: JobWork, store: JobStore, threads: int):
        self.work = work
        self.store = store
        self.threads = threads
        self.queue = FairQueue()
        self._owners: dict[str, str | None] = {}
        self._running: dict[str, set[CancelToken]] = {}  # job -> tokens of its units in progress
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Queue what an earlier run left (jobs to open, pages to read), then start the threads."""
        left = self.store.jobs(states=(QUEUED, RUNNING))
        for job in left:
            if job.state == QUEUED:
                self.add_job(job.id, job.owner, job.model, job.priority)
            else:
                self.queue.add(job.owner, [Unit(job.id, i, p) for i, p in self.store.pending(job.id)], priority=job.priority)
                self._owners[job.id] = job.owner
        if left:
            log.info("resuming %d unfinished job(s): %s", len(left), ", ".join(job.id for job in left))
        for i in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"jobs-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def add_job(self, job_id: str, owner: str | None, model: str | None = None, priority: int = 1) -> None:
        self._owners[job_id] = owner
        self.queue.add(owner, [Unit(job_id, 0, OPEN)], priority=priority)

    def add_pages(self, job_id: str, owner: str | None, todo: list[tuple[int, int]]) -> None:
        self._owners[job_id] = owner
        self.queue.add(owner, [Unit(job_id, idx, page) for idx, page in todo])

    def cancel(self, job_id: str) -> None:
        """Drop the job's queued units and stop those running (the store already says cancelled)."""
        self.queue.drop(job_id)
        with self._lock:
            tokens = list(self._running.get(job_id, ()))
        for token in tokens:
            token.cancel()

    def stop(self, timeout: float) -> None:
        self._stopping.set()
        with self._lock:
            tokens = [t for ts in self._running.values() for t in ts]
        for token in tokens:
            token.cancel()  # the page is not written: the next start reads it again
        self.queue.wake()
        for thread in self._threads:
            thread.join(timeout)
        self.work.docs.close()

    def depths(self, models: list[str]) -> dict[str, int]:
        """Units waiting (one queue for every model here: under "*")."""
        return {"*": len(self.queue)}

    def _loop(self) -> None:
        while not self._stopping.is_set():
            unit = self.queue.take(timeout=1.0)
            if unit is None:
                continue
            token = CancelToken()
            with self._lock:
                self._running.setdefault(unit.job, set()).add(token)
            try:
                self._do(unit, token)
            except Overloaded as exc:  # interactive requests fill the model's queue: this unit waits its turn
                self.queue.add(self._owners.get(unit.job), [unit], front=True)
                self._stopping.wait(min(exc.retry_after, 2))
            except Cancelled:
                pass  # cancelled by its client (dropped), or the server stops (read again at the next start)
            except Exception:  # a worker thread never dies: the job says what happened
                log.exception("job %s failed", unit.job)
                self.store.fail(unit.job, "Unexpected error while running the job.")
                self.queue.drop(unit.job)
            finally:
                with self._lock:
                    tokens = self._running.get(unit.job)
                    if tokens is not None:
                        tokens.discard(token)
                        if not tokens:
                            del self._running[unit.job]

    def _do(self, unit: Unit, token: CancelToken) -> None:
        if unit.page == OPEN:
            todo = self.work.open_job(unit.job)
            if todo:
                self.add_pages(unit.job, self._owners.get(unit.job), todo)
        else:
            after = self.work.read_page(unit.job, unit.idx, unit.page, token)
            if after is not None and after.state != RUNNING:
                self._owners.pop(unit.job, None)
                self.queue.drop(unit.job)  # nothing of it is left: its priority goes
