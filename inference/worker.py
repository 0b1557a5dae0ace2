"""A job worker for the distributed mode: ``python -m inference.worker [--models a,b] [--concurrency N]``.

It reads the same config.yaml as the API replicas (``jobs.broker_url`` and ``jobs.database_url`` must be set, or
``CHATVLM_BROKER_URL`` / ``CHATVLM_DATABASE_URL``), takes the units of the models it serves from their queues (all
the configured models by default) and reads them with the same core as a single process. Models load once per
worker process (a threads pool: never a model per forked child). A cancelled job's running pages stop within a
second (a watcher reads the store); every ``jobs.sweep_s`` one worker sends again the units of jobs that stalled.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import OperationalError

from .callbacks import POLL_S, Deliverer
from .cancel import CancelToken
from .celery_jobs import OPEN_TASK, READ_TASK, CeleryQueue, open_queue_name, queue_name, shown
from .errors import Cancelled, ConfigError, Overloaded
from .job_store import RUNNING, JobStore
from .job_work import JobWork, worker_name
from .routing import AUTO
from .service import InferenceService
from .settings import Settings, load_settings

log = logging.getLogger("inference.worker")

DB_RETRY_S = 300.0  # how long a unit waits for a database that does not answer before it gives up (the sweep resends)


class Watch:
    """The cancel tokens of the units running here, by job; :meth:`check` cancels those whose job stopped running."""

    def __init__(self, store: JobStore):
        self.store = store
        self._tokens: dict[str, set[CancelToken]] = {}
        self._lock = threading.Lock()

    def add(self, job_id: str) -> CancelToken:
        token = CancelToken()
        with self._lock:
            self._tokens.setdefault(job_id, set()).add(token)
        return token

    def remove(self, job_id: str, token: CancelToken) -> None:
        with self._lock:
            tokens = self._tokens.get(job_id, set())
            tokens.discard(token)
            if not tokens:
                self._tokens.pop(job_id, None)

    def check(self) -> None:
        with self._lock:
            ids = list(self._tokens)
        for job_id in ids:
            job = self.store.job(job_id)
            if job is None or job.state != RUNNING:
                with self._lock:
                    tokens = list(self._tokens.get(job_id, ()))
                for token in tokens:
                    token.cancel()


def _every(seconds: float, call: Callable[[], Any], stop: threading.Event, name: str) -> None:
    def loop() -> None:
        while not stop.wait(seconds):
            try:
                call()
            except Exception as exc:  # a database or broker away for a while: tried again next time
                log.warning("%s: %s", name, type(exc).__name__)

    threading.Thread(target=loop, name=name, daemon=True).start()


def _retrying(call: Callable[[], Any], stop: threading.Event) -> Any:
    """``call()``, tried again while the database does not answer (a PostgreSQL restart), up to :data:`DB_RETRY_S`."""
    deadline = time.monotonic() + DB_RETRY_S
    while True:
        try:
            return call()
        except OperationalError:
            if time.monotonic() > deadline or stop.is_set():
                raise
            log.warning("the jobs database does not answer; trying again")
            stop.wait(2.0)


def build(settings: Settings, models: list[str], name: str) -> tuple[Any, InferenceService, threading.Event]:
    """The Celery app with the two tasks bound to this process's core; (app, service, stop event)."""
    service = InferenceService(settings)
    assert settings.jobs.database_url is not None
    store = _retrying(lambda: JobStore(settings.jobs.database_url), threading.Event())
    sender = CeleryQueue(settings, store)
    work = JobWork(store, service.pages, service.inputs.catalog, name)
    watch = Watch(store)
    stop = threading.Event()
    app = sender.app

    @app.task(name=OPEN_TASK)
    def open_job(job_id: str) -> None:
        if _retrying(lambda: work.open_job(job_id), stop):
            sender.refill(store.key_of(job_id))  # its first pages, in its key's window

    @app.task(name=READ_TASK)
    def read_page(job_id: str, idx: int, page: int, key: str | None = None) -> None:
        token = watch.add(job_id)
        try:
            while not stop.is_set():
                try:
                    _retrying(lambda: work.read_page(job_id, idx, page, token), stop)
                    return
                except Overloaded as exc:  # this worker's queue for the model is full: wait for room
                    stop.wait(min(exc.retry_after, 2))
                except Cancelled:
                    return  # the job was cancelled (or this worker stops: the unit is delivered again)
        finally:
            watch.remove(job_id, token)
            if not stop.is_set():
                _retrying(lambda: sender.refill(key if key is not None else store.key_of(job_id)), stop)

    _every(1.0, watch.check, stop, "cancel-watch")
    _every(settings.jobs.sweep_s, sender.sweep, stop, "sweep")
    _every(POLL_S, Deliverer(store, settings.jobs).deliver_due, stop, "callbacks")  # signed webhooks of ended jobs
    for model in models:
        if model != AUTO:
            service.catalog.handle(model)  # an unknown id stops the worker at start, with the id named
    return app, service, stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ChatVLMLLM job worker (Celery; distributed mode).")
    parser.add_argument("--models", help="comma-separated model ids this worker serves (default: every configured model)")
    parser.add_argument("--concurrency", type=int, help="pages read at once (default: jobs.workers)")
    parser.add_argument("--name", help="the worker's name (default: host:pid)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
        if not settings.jobs.distributed:
            raise ConfigError(
                "A worker needs jobs.broker_url and jobs.database_url (or CHATVLM_BROKER_URL and CHATVLM_DATABASE_URL); "
                "without them `python app.py` reads its jobs itself."
            )
        every = [m.id for m in settings.models] + [AUTO]  # model=auto's jobs have their own queue
        models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else every
        name = args.name or worker_name()
        if args.models:  # the models it was told to serve load now, not at their first page
            settings.server.preload = [m for m in models if m != AUTO]
        app, service, stop = build(settings, models, name)
        service.preload()
    except (ConfigError, Exception) as exc:
        print(f"Configuration error: {exc}" if isinstance(exc, ConfigError) else f"Cannot start: {exc}", file=sys.stderr)
        return 2
    concurrency = args.concurrency or settings.jobs.workers
    log.info(
        "worker %s: models %s, %d at once, broker %s, database %s",
        name,
        ", ".join(models),
        concurrency,
        shown(settings.jobs.broker_url),
        shown(settings.jobs.database_url),
    )
    try:
        app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={concurrency}",
                f"--queues={','.join(q for m in models for q in (open_queue_name(m), queue_name(m)))}",
                f"--hostname={name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
            ]
        )
    finally:
        stop.set()
        service.close(grace_s=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
