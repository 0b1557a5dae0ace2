"""Jobs on Celery: the units of a job (open it, read a page) as tasks on a Redis broker, one queue per model
(``chatvlm.pages.<model id>``), so a worker takes only the models it serves (``python -m inference.worker``).

The store (PostgreSQL) is the truth; a message only says "do this unit". Late acks and a visibility timeout tied to
``limits.request_timeout_s`` deliver a killed worker's unit again; a periodic sweep sends again the units of a job
that has not moved for a while (its messages lost with a restarted Redis, or an API replica killed between its
write and its send). Units are idempotent, so a unit done twice is written once.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from celery import Celery

from .job_store import JobStore
from .settings import Settings

log = logging.getLogger("inference.jobs")

QUEUE_PREFIX = "chatvlm.pages."
OPEN_TASK = "chatvlm.open_job"
READ_TASK = "chatvlm.read_page"
SWEEP_LOCK = "chatvlm:sweep"
OPEN_PREFIX = "chatvlm.open."


def queue_name(model_id: str) -> str:
    return QUEUE_PREFIX + model_id


def open_queue_name(model_id: str) -> str:
    """The queue of a model's jobs to open: apart from its pages, so that a job is opened (and its pages take their
    turn) without waiting behind other jobs' pages."""
    return OPEN_PREFIX + model_id


def key_window(settings: Settings) -> int:
    """Pages of one key sent to a model's queue and not yet read, at most: enough to keep the workers busy for a key
    alone, few enough that another key's pages soon come between them."""
    return 4 * settings.jobs.workers


def visibility_timeout(settings: Settings) -> float:
    """How long a unit a worker took may stay unacknowledged before the broker gives it to another: the longest a
    page may take, and a margin."""
    return settings.limits.request_timeout_s + 30.0


def resend_after(settings: Settings) -> float:
    """How long a job may stay still before the sweep sends its units again."""
    return settings.limits.request_timeout_s + settings.jobs.sweep_s


def make_celery(settings: Settings) -> Celery:
    app = Celery("chatvlm", broker=settings.jobs.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,  # a unit is acknowledged once done: a worker killed mid-page leaves it to another
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a busy worker does not hoard pages others could read
        task_ignore_result=True,  # results are in the store, not in a result backend
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": visibility_timeout(settings)},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a restarted Redis is waited for
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_default_queue=QUEUE_PREFIX + "default",
    )
    return app


class CeleryQueue:
    """The sending side (API replicas, and workers for the pages of a job they opened; the sweep)."""

    def __init__(self, settings: Settings, store: JobStore):
        self.settings = settings
        self.store = store
        self.app = make_celery(settings)
        self._redis = None

    # the Dispatcher protocol
    def start(self) -> None:
        pass

    def stop(self, timeout: float) -> None:
        pass

    def add_job(self, job_id: str, owner: str | None, model: str, priority: int = 1) -> None:
        """Send the job's opening unit; when the broker does not answer, the sweep sends it later (the job is kept).
        (``priority`` is the job's: its pages are sent in its key's turn, its highest-priority jobs first.)"""
        self._send(OPEN_TASK, [job_id], model, open_queue_name(model))

    def refill(self, key: str | None) -> int:
        """Send the next pages of ``key``'s jobs, up to :func:`key_window` sent and not yet read (called when a job
        was opened and after each of its pages): a model's queue then holds at most a window of each key's pages, so
        keys take turns in it, and a key's jobs by priority, then in turns. How many were sent."""
        if key is None:
            return 0
        claimed = self.store.claim_window(key, key_window(self.settings))
        for job_id, model, idx, page in claimed:
            self._send(READ_TASK, [job_id, idx, page, key], model)
        return len(claimed)

    def cancel(self, job_id: str) -> None:
        """Nothing to send: workers drop a cancelled job's queued units when they take them (one query each), and
        stop its running pages within a second (they watch the store)."""

    def _send(self, task: str, args: list, model: str, queue: str | None = None) -> None:
        try:
            self.app.send_task(task, args=args, queue=queue or queue_name(model), retry=True, retry_policy={"max_retries": 2})
        except Exception as exc:  # the broker is away: the sweep sends it once it is back
            log.warning("could not send %s%s to the broker (%s); the sweep will", task, args, type(exc).__name__)

    # the broker itself
    @property
    def redis(self):
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.settings.jobs.broker_url, socket_timeout=2, socket_connect_timeout=2)
        return self._redis

    def problem(self) -> str | None:
        try:
            self.redis.ping()
        except Exception:
            return "the broker (Redis) does not answer"
        return None

    def depths(self, models: list[str]) -> dict[str, int]:
        """Units waiting in each model's queue (what an autoscaler reads)."""
        out = {}
        for model in models:
            try:
                out[model] = int(self.redis.llen(queue_name(model)))
            except Exception:
                continue
        return out

    def sweep(self) -> int:
        """Send again the units of every job that has not moved for :func:`resend_after` while its model's queue is
        empty (one sweeper at a time, across every worker: a lock in Redis); how many units were sent. A unit a killed
        worker held comes back by the visibility timeout; this finds those that the broker lost (a Redis restarted
        without its append-only file, a replica killed between its write and its send)."""
        try:
            if not self.redis.set(SWEEP_LOCK, "1", nx=True, ex=max(1, int(self.settings.jobs.sweep_s * 0.8))):
                return 0
        except Exception:
            return 0  # no broker, nothing to send to
        sent, busy = 0, {}
        for job in self.store.stalled(time.time() - resend_after(self.settings)):
            if job.model not in busy:
                busy[job.model] = self.depths([job.model]).get(job.model, 1) > 0
            if busy[job.model]:  # its units may only be waiting behind others' (a lost unit is sent once it drains)
                continue
            if job.state == "queued":
                self.add_job(job.id, job.owner, job.model)
                sent += 1
            else:
                self.store.unsend(job.id)  # its messages were lost: its pages wait to be sent again, in its key's turn
                sent += self.refill(self.store.key_of(job.id))
            self.store.touch(job.id)
            log.info("job %s had not moved: its units are sent again", job.id)
        return sent


def shown(url: str | None) -> str:
    """A URL as a log line may show it (no password)."""
    if not url:
        return "-"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}{parts.path}"
