"""Jobs: long OCR work (many files, long PDFs) that a client submits, polls and fetches later.

Kept in a :class:`~inference.job_store.JobStore` (a committed page survives a SIGKILL), so a restarted server
picks its unfinished jobs up where they were, page by page, and no finished result is lost. The work is done in
units (open a job, read a page: :mod:`~inference.job_work`) by the process's own threads in turns
(:mod:`~inference.job_queue`), or, with ``jobs.broker_url`` and ``jobs.database_url``, by Celery workers
(:mod:`~inference.celery_jobs`) that any API replica sends them to. Results expire ``server.job_results_ttl_s``
after the job ended. Who may see a job is decided here once (:func:`owner_for`), for every edge.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.exc import OperationalError

from . import images
from .callbacks import Deliverer, check_url, succeeded
from .data_lock import hold
from .documents import check_pages, page_count
from .errors import BadInput, ModelUnavailable, NotFound, NotReady
from .inputs import Inputs
from .job_events import pages_after
from .job_queue import LocalQueue
from .job_quotas import check_files, check_jobs, check_places
from .job_store import CANCELLED, DONE, ENDED, FAILED, QUEUED, RUNNING, JobRecord, JobStore, database_url
from .job_store_quota import Load
from .job_work import JobWork
from .pages import Pages
from .result_stream import result_json, result_without_lines
from .results import BatchResult, CallbackStatus, JobPageEvent, JobState, JobStatus
from .settings import Settings

log = logging.getLogger(__name__)

__all__ = ["CANCELLED", "DONE", "ENDED", "FAILED", "QUEUED", "RUNNING", "JobState", "JobStatus", "JobStore", "Jobs", "owner_for"]


def data_dir(settings: Settings) -> Path:
    """Where the jobs are kept: ``server.data_dir`` (relative to the config file's folder when relative)."""
    folder = Path(settings.server.data_dir).expanduser()
    if not folder.is_absolute() and settings.config_path is not None:
        folder = Path(settings.config_path).resolve().parent / folder
    return folder


def claim_data_dir(settings: Settings) -> None:
    """One process per data directory (jobs kept in SQLite): :class:`~inference.errors.ConfigError` naming the
    directory and what to do when another server holds it. Nothing to claim when jobs are distributed."""
    if not settings.jobs.distributed:
        folder = data_dir(settings)
        folder.mkdir(parents=True, exist_ok=True)
        hold(folder)


EXPIRE_EVERY_S = 1.0  # finished jobs past their time are looked for at most this often (each listing and status asks)
PRIORITIES = ("low", "normal", "high")  # a job's priority among its key's own jobs (its index is stored)


def redact_url(text: str) -> str:
    """``text`` with any URL's password hidden (a database or broker URL in an error or a log line)."""
    return re.sub(r"(\w+://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


def owner_for(principal: Any, keys_on: bool, creating: bool = False) -> str | None:
    """Whose jobs a caller may see (None: every job), and whose a job it creates is. ``principal``: who asks, as an object
    with ``role`` and ``name`` or as Gradio's ``"role:name"`` (None: nobody signed in). With API keys on, a key sees its
    own jobs alone, not those made with keys off (an admin every job; what it creates is its own); with keys off, all."""
    if principal is None:
        return None
    role, name = role_and_name(principal)
    if not keys_on or not name or (role == "admin" and not creating):
        return None
    return name


def role_and_name(principal: Any) -> tuple[str | None, str]:
    """(role, name) of ``principal``: an object with ``role`` and ``name``, or Gradio's ``"role:name"``."""
    if isinstance(principal, str):
        role, _, name = principal.partition(":") if ":" in principal else ("", "", principal)
        return role or None, name
    return principal.role, principal.name


def role_of(principal: Any) -> str | None:
    """The role of ``principal`` (None for nobody)."""
    return None if principal is None else role_and_name(principal)[0]


class Dispatcher(Protocol):
    """Where a job's units go: the process's own threads, or Celery workers."""

    def start(self) -> None: ...
    def stop(self, timeout: float) -> None: ...
    def add_job(self, job_id: str, owner: str | None, model: str, priority: int = 1) -> None: ...
    def cancel(self, job_id: str) -> None: ...
    def depths(self, models: list[str]) -> dict[str, int]: ...


class Jobs:
    """Submit, look at, cancel and run jobs (the work starts with :meth:`start`)."""

    def __init__(
        self, pages: Pages, inputs: Inputs, settings: Settings, charge: Callable[[str | None], None] = lambda caller: None
    ):
        """``charge(caller)``: one request on the caller's rate-limit budget (the service's)."""
        self.pages = pages
        self.inputs = inputs
        self.charge = charge
        self.settings = settings
        self.ttl_s, self._expired = settings.server.job_results_ttl_s, float("-inf")
        self.dispatcher: Dispatcher
        if settings.jobs.distributed:
            from .celery_jobs import CeleryQueue  # Celery only where it is used

            assert settings.jobs.database_url is not None
            self.store = JobStore(settings.jobs.database_url)
            self.dispatcher = CeleryQueue(settings, self.store)
        else:
            claim_data_dir(settings)  # one process per data directory (another refuses to start)
            self.store = JobStore(database_url(data_dir(settings)))
            self.dispatcher = LocalQueue(JobWork(self.store, pages, inputs.catalog), self.store, settings.jobs.workers)
        self.deliverer = None if settings.jobs.distributed else Deliverer(self.store, settings.jobs)  # (workers deliver)

    @property
    def distributed(self) -> bool:
        return self.settings.jobs.distributed

    # ---- the client's side ----------------------------------------------------------------------------
    def submit(
        self,
        files: Sequence[tuple[str, images.ImageSource]],
        model: str | None,
        language: str | None,
        pages: str | None,
        force_ocr: bool,
        owner: str | None = None,
        caller: str | None = None,
        priority: str = "normal",
        callback_url: str | None = None,
    ) -> JobStatus:
        """Check the request as /batch/ocr does (cheap checks, each file's size), and against the quotas of
        ``caller`` (its unfinished jobs and pages), keep its files, queue it (one request on ``caller``'s rate-limit
        budget, as a batch). ``priority`` (low, normal, high) orders the caller's own jobs; ``callback_url`` is
        POSTed to, signed, when the job ends (:mod:`~inference.callbacks`)."""
        self.charge(caller)
        callback = check_url(callback_url, self.settings.jobs) if callback_url and callback_url.strip() else None
        request = self.inputs.batch(files, model, language)
        limits = self.pages.limits
        check_pages(pages)  # the syntax, now; each file's page count when it is read
        if priority not in PRIORITIES:
            raise BadInput(f"priority must be one of {', '.join(PRIORITIES)}, not {str(priority)[:20]!r}.")
        if caller is None:  # (the server's own: its places alone)
            check_places(Load(0, 0, 0, waiting=self._db(self.store.unfinished)), limits)
        else:  # (a first look, before the files are read; checked again with the insert)
            check_jobs(load := self._db(lambda: self.store.load_of(caller)), limits)
            check_places(load, limits)
        kept = []
        for name, source in files:
            data = images.read_bytes(source, limits, name)  # type: ignore[arg-type]
            if not data:
                raise BadInput(f"'{images.shown(name)}' is empty (0 bytes).")
            kept.append((images.shown(name), data))
        estimate, size = sum(page_count(data, pages, limits) for _, data in kept), sum(len(data) for _, data in kept)
        job_id = uuid.uuid4().hex
        rank = PRIORITIES.index(priority)
        model_id = request.model_id  # 'auto' when routed: each page is routed when it is read

        def check(load: Load) -> None:  # (in the job's insert: jobs sent at once pass one by one)
            if caller is not None:  # (the server's own jobs: its places alone, no share)
                check_jobs(load, limits)
                check_files(load, limits, estimate, size)
            check_places(load if caller is not None else load._replace(jobs=0), limits)

        row = (job_id, owner, model_id, language, pages, force_ocr, kept, rank, caller, estimate, callback)
        self._db(lambda: self.store.add(*row, check=check))
        self.dispatcher.add_job(job_id, owner, model_id, rank)
        return self.status(job_id, owner)

    def _db(self, call: Callable[[], Any]) -> Any:
        """A store call; a database that does not answer is a 503 (the jobs are there once it is back)."""
        try:
            return call()
        except OperationalError as exc:
            log.warning("the jobs database does not answer: %s", redact_url(str(exc).splitlines()[0]))
            raise ModelUnavailable("The jobs database does not answer; try again shortly.") from None

    def _record(self, job_id: str, owner: str | None) -> JobRecord:
        record = self._db(lambda: self.store.job(job_id)) if len(job_id) <= 64 else None
        if record is None or (owner is not None and record.owner != owner):
            raise NotFound(f"No job '{job_id[:64]}': it never existed, it expired, or it is another key's.")
        return record

    def _status(self, job: JobRecord, show_owner: bool = False) -> JobStatus:
        return JobStatus(
            priority=PRIORITIES[job.priority] if 0 <= job.priority < len(PRIORITIES) else "normal",
            owner=job.owner if show_owner else None,
            **{name: getattr(job, name) for name in ("id", "state", "model", "files", "pages_done", "pages_total", "error")},
            result_bytes=job.result_bytes or 0,
            created_at=job.created,
            started_at=job.started,
            ended_at=job.ended,
            expires_at=job.ended + self.ttl_s if job.ended else None,
            result_url=f"/jobs/{job.id}/result" if job.state == DONE else None,
            callback=callback_status(job),
        )

    def status(self, job_id: str, owner: str | None = None) -> JobStatus:
        self.expire()
        return self._status(self._record(job_id, owner))

    def listing(
        self, owner: str | None, state: str | None = None, limit: int = 20, cursor: str | None = None, show_owner: bool = False
    ) -> tuple[list[JobStatus], str | None]:
        """A page of the jobs ``owner`` may see (every job for None), newest first; the cursor of the next page (None
        at the end). ``cursor``: what the previous page gave."""
        if not 1 <= limit <= 100:
            raise BadInput("limit must be between 1 and 100.")
        if state is not None and state not in (QUEUED, RUNNING, *ENDED):
            raise BadInput(f"state must be one of {', '.join((QUEUED, RUNNING, *ENDED))}.")
        after = None
        if cursor:
            created, _, job_id = cursor.partition("-")
            try:
                after = (float(created), job_id[:64])
            except ValueError:
                raise BadInput("cursor is not one a listing gave.") from None
        self.expire()
        records = self._db(lambda: self.store.page_of_jobs(owner, state, limit + 1, after))
        more = len(records) > limit
        records = records[:limit]
        following = f"{records[-1].created!r}-{records[-1].id}" if more else None
        return [self._status(job, show_owner) for job in records], following

    def jobs_of(self, owner: str | None = None) -> list[JobStatus]:
        """The jobs ``owner`` may see (every job for None), oldest first."""
        self.expire()
        return [self._status(job) for job in self._db(lambda: self.store.jobs(owner))]

    def result(self, job_id: str, owner: str | None = None, lines: bool = True) -> BatchResult:
        """A finished job's result built whole; not ``lines``: without them (the Batch tab's: a twentieth of it or less)."""
        if not lines:
            return result_without_lines(*self._finished(job_id, owner))
        return BatchResult.model_validate_json("".join(self.result_json(job_id, owner)))

    def result_json(self, job_id: str, owner: str | None = None) -> Iterator[str]:
        """A finished job's result as pieces of JSON, a few pages fetched at a time (``result_stream``); NotReady at once."""
        return result_json(*self._finished(job_id, owner))

    def _finished(self, job_id: str, owner: str | None) -> tuple[Any, ...]:
        job = self._record(job_id, owner)  # (its files, pages read, their reads' fetch, model, time: result_stream's)
        if job.state != DONE:
            detail = f" ({job.error})" if job.error else ""
            so_far = f"{job.pages_done} of {job.pages_total or '?'} pages read so far"
            raise NotReady(f"Job {job_id} is {job.state}{detail}; its result is there once it is done ({so_far}).")
        files, read = self._db(lambda: self.store.files(job_id)), self._db(lambda: self.store.read_keys(job_id))
        fetch = lambda idx, numbers: self._db(lambda: self.store.raw_reads(job_id, idx, numbers))  # noqa: E731
        return files, read, fetch, job.model, job.seconds

    def cancel(self, job_id: str, owner: str | None = None, ended_too: bool = True) -> JobStatus:
        """Cancel the job if it has not ended (its queued pages dropped, its running ones stopped), then delete it, its
        files and its result (not ``ended_too``: only if it had not ended); returns its last state (``cancelled``, or
        how it ended). A deleted job is gone: GET answers 404."""
        self._record(job_id, owner)
        if cancelled := self._db(lambda: self.store.cancel(job_id)):
            self.dispatcher.cancel(job_id)
        last = self.status(job_id, owner)
        if cancelled or ended_too:
            self._db(lambda: self.store.delete(job_id))
        return last

    def expire(self) -> None:
        if time.monotonic() - self._expired >= EXPIRE_EVERY_S:  # (finished jobs past their time: each listing asks)
            self._expired = time.monotonic()
            self._db(lambda: self.store.expire(time.time() - self.ttl_s))

    def ready(self) -> str | None:
        """Why jobs cannot be taken now (the database or the broker does not answer), or None."""
        try:
            self.store.ping()
        except OperationalError:
            return "the jobs database does not answer"
        problem = getattr(self.dispatcher, "problem", None)
        return problem() if problem is not None else None

    def metrics(self) -> tuple[dict[str, int], dict[str, int]]:
        """(units waiting per model's queue, pages read per worker) for /metrics."""
        return self.dispatcher.depths(self.inputs.catalog.ids()), self._db(self.store.pages_per_worker)

    # ---- the work -------------------------------------------------------------------------------------
    def start(self) -> None:
        self.dispatcher.start()
        if self.deliverer is not None:
            self.deliverer.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self.deliverer is not None:
            self.deliverer.stop()
        self.dispatcher.stop(timeout)
        self.store.close()

    # ---- issue 20: live events (GET /jobs/{id}/events) ----------------------------------------------------
    def progress(
        self, job_id: str, owner: str | None, after: int, limit: int = 100
    ) -> tuple[JobStatus | None, list[JobPageEvent]]:
        """The job as it is now (None once it is gone: deleted or expired) and up to ``limit`` of its pages written
        after event ``after``, in order. NotFound when ``owner`` may not see it. The job is read before its pages:
        when it has ended, every page it has is in this answer or the next ones."""
        record = self._db(lambda: self.store.job(job_id)) if len(job_id) <= 64 else None
        if record is None:
            return None, []
        if owner is not None and record.owner != owner:
            raise NotFound(f"No job '{job_id[:64]}': it never existed, it expired, or it is another key's.")
        reads = self._db(lambda: pages_after(self.store, job_id, after, limit))
        names = self._db(lambda: self.store.file_names(job_id)) if reads else []
        events = [
            JobPageEvent(
                seq=read.seq,
                file=names[read.doc] if read.doc < len(names) else "",
                file_index=read.doc,
                page=read.page,
                text=read.text,
                error=read.error,
                pages_done=read.seq,
                pages_total=record.pages_total,
            )
            for read in reads
        ]
        return self._status(record), events


def callback_status(job: JobRecord) -> CallbackStatus | None:
    """What a job's client sees of its callback's deliveries (None: it has no callback_url)."""
    if not job.callback_url:
        return None
    last = job.callback_last
    return CallbackStatus(
        attempts=job.callback_attempts or 0,
        last_status=int(last) if last and last.isdigit() else None,
        last_error=last if last and not last.isdigit() else None,
        delivered=succeeded(last),
        next_attempt_at=job.callback_due,
    )
