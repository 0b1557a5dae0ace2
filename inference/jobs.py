"""Jobs: long OCR work (many files, long PDFs) that a client submits, polls and fetches later.

Kept in a :class:`~inference.job_store.JobStore` (a committed page survives a SIGKILL), so a restarted server
picks its unfinished jobs up where they were, page by page, and no finished result is lost. One worker thread
runs the jobs in the order they came, each page through :class:`~inference.pages.Pages` like any request (so jobs
share the models fairly with interactive requests); results expire ``server.job_results_ttl_s`` after the job
ended. Who may see a job is decided here once (:func:`owner_for`), for every edge.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import images, languages
from .cancel import CancelToken, Deadline
from .documents import check_pages
from .errors import BadInput, Cancelled, ChatVLMError, NotFound, NotReady, Overloaded, redact_paths
from .inputs import Inputs, OcrRequest
from .job_store import CANCELLED, DONE, ENDED, FAILED, QUEUED, RUNNING, JobRecord, JobStore
from .page_results import PageRead, batch_result
from .pages import Pages
from .results import BatchResult, JobState, JobStatus
from .settings import Settings

log = logging.getLogger(__name__)

__all__ = ["CANCELLED", "DONE", "ENDED", "FAILED", "QUEUED", "RUNNING", "JobState", "JobStatus", "JobStore", "Jobs", "owner_for"]


def data_dir(settings: Settings) -> Path:
    """Where the jobs are kept: ``server.data_dir`` (relative to the config file's folder when relative)."""
    folder = Path(settings.server.data_dir).expanduser()
    if not folder.is_absolute() and settings.config_path is not None:
        folder = Path(settings.config_path).resolve().parent / folder
    return folder


def owner_for(principal: Any, keys_on: bool, creating: bool = False) -> str | None:
    """Whose jobs a caller may see (None: every job), and whose a job it creates is. ``principal``: who asks, as an
    object with ``role`` and ``name`` or as Gradio's user name ``"role:name"`` (None when nobody signed in). With API
    keys on, a key sees its own jobs (an admin every job, but what it creates is its own); with keys off, all."""
    if principal is None:
        return None
    if isinstance(principal, str):
        role, _, name = principal.partition(":") if ":" in principal else ("", "", principal)
    else:
        role, name = principal.role, principal.name
    if not keys_on or not name or (role == "admin" and not creating):
        return None
    return name


class Jobs:
    """Submit, look at, cancel and run jobs (one worker thread; started by :meth:`start`)."""

    def __init__(
        self,
        pages: Pages,
        inputs: Inputs,
        data_dir: Path,
        ttl_s: float,
        charge: Callable[[str | None], None] = lambda caller: None,
    ):
        """``charge(caller)``: one request on the caller's rate-limit budget (the service's)."""
        self.pages = pages
        self.inputs = inputs
        self.charge = charge
        self.store = JobStore(data_dir)
        self.ttl_s = ttl_s
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._current: tuple[str, CancelToken] | None = None
        self._thread: threading.Thread | None = None
        resumed = self.store.requeue_running()  # the server stopped while these ran: they go on where they were
        if resumed:
            log.info("resuming %d unfinished job(s): %s", len(resumed), ", ".join(resumed))

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
    ) -> JobStatus:
        """Check the request as /batch/ocr does (cheap checks, each file's size), keep its files, queue it (one
        request on ``caller``'s rate-limit budget, as a batch)."""
        self.charge(caller)
        request = self.inputs.batch(files, model, language)
        limits = self.pages.limits
        check_pages(pages)  # the syntax, now; each file's page count when it is read
        waiting = self.store.unfinished()
        if waiting >= limits.max_unfinished_jobs:
            raise Overloaded(f"The server has {waiting} jobs waiting, its limit; try again later.", retry_after=30)
        kept = []
        for name, source in files:
            data = images.read_bytes(source, limits, name)  # type: ignore[arg-type]
            if not data:
                raise BadInput(f"'{images.shown(name)}' is empty (0 bytes).")
            kept.append((images.shown(name), data))
        job_id = uuid.uuid4().hex
        self.store.add(job_id, owner, request.model.id, language, pages, force_ocr, kept)
        self._wake.set()
        return self.status(job_id, owner)

    def _record(self, job_id: str, owner: str | None) -> JobRecord:
        record = self.store.job(job_id) if len(job_id) <= 64 else None
        if record is None or (owner is not None and record.owner not in (None, owner)):
            raise NotFound(f"No job '{job_id[:64]}': it never existed, it expired, or it is another key's.")
        return record

    def _status(self, job: JobRecord) -> JobStatus:
        return JobStatus(
            id=job.id,
            state=job.state,
            model=job.model,
            files=job.files,
            pages_done=job.pages_done,
            pages_total=job.pages_total,
            error=job.error,
            created_at=job.created,
            started_at=job.started,
            ended_at=job.ended,
            expires_at=job.ended + self.ttl_s if job.ended else None,
            result_url=f"/jobs/{job.id}/result" if job.state == DONE else None,
        )

    def status(self, job_id: str, owner: str | None = None) -> JobStatus:
        self.expire()
        return self._status(self._record(job_id, owner))

    def jobs_of(self, owner: str | None = None) -> list[JobStatus]:
        """The jobs ``owner`` may see (every job for None), oldest first."""
        self.expire()
        return [self._status(job) for job in self.store.jobs(owner)]

    def result(self, job_id: str, owner: str | None = None) -> BatchResult:
        status = self.status(job_id, owner)
        if status.state != DONE:
            detail = f" ({status.error})" if status.error else ""
            raise NotReady(
                f"Job {job_id} is {status.state}{detail}; its result is there once it is done "
                f"({status.pages_done} of {status.pages_total or '?'} pages read so far)."
            )
        infos = [info for _, info in self.store.files(job_id)]
        job = self._record(job_id, owner)
        return batch_result(infos, self.store.reads(job_id), status.model, job.seconds)

    def cancel(self, job_id: str, owner: str | None = None) -> JobStatus:
        """Cancel the job if it has not ended, then delete it, its files and its result; returns its last state
        (``cancelled``, or how it ended). A deleted job is gone: GET answers 404."""
        self._record(job_id, owner)
        if self.store.move(job_id, (QUEUED, RUNNING), state=CANCELLED, ended=time.time()):
            current = self._current
            if current is not None and current[0] == job_id:
                current[1].cancel()
        last = self.status(job_id, owner)
        self.store.delete(job_id)
        return last

    def expire(self) -> None:
        self.store.expire(time.time() - self.ttl_s)

    # ---- the worker -----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="jobs", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        current = self._current
        if current is not None:
            current[1].cancel()  # the job stays 'running' in the database: the next start resumes it
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            job = self.store.claim_next()
            if job is None:
                self._wake.wait(timeout=5.0)
                self._wake.clear()
                self.expire()
                continue
            try:
                self._run(job)
            except Exception:  # the worker never dies: the job says what happened
                if self._gone(job.id):  # its rows and files went with a cancel while it ran: nothing failed
                    log.info("job %s was cancelled while it ran", job.id)
                    self.store.drop_files(job.id)
                    continue
                log.exception("job %s failed", job.id)
                self.store.move(
                    job.id, (RUNNING,), state=FAILED, error="Unexpected error while running the job.", ended=time.time()
                )
                self.store.drop_files(job.id)

    def _gone(self, job_id: str) -> bool:
        """Whether the job was cancelled (and so deleted, its files with it) while the worker held it."""
        job = self.store.job(job_id)
        return job is None or job.state == CANCELLED

    def _file(self, job_id: str, idx: int) -> bytes:
        """A job's file; a file deleted by a cancel racing the worker is a cancel, not an error."""
        try:
            return self.store.file_data(job_id, idx)
        except FileNotFoundError:
            if self._gone(job_id):
                raise Cancelled("The job was cancelled.") from None
            raise

    def _run(self, job: JobRecord) -> None:
        job_id, token, started = job.id, CancelToken(), time.perf_counter()
        self._current = (job_id, token)
        docs: list = []
        try:
            request = OcrRequest(self.inputs.catalog.handle(job.model), languages.parse(job.language), job.pages, job.force_ocr)
            files = [(info.name, lambda idx=idx: self._file(job_id, idx)) for idx, info in self.store.files(job_id)]

            def opened(i: int, doc, seconds: float, error: str | None) -> None:
                multipage, numbers = (doc.multipage, [p.number for p in doc.pages]) if doc else (False, [])
                self.store.set_file(job_id, i, multipage, numbers, seconds, error)

            docs = self.pages.open_each(files, request, opened)
            self.store.set(job_id, pages_total=sum(len(d.pages) if d is not None else 1 for d in docs))
            present = [i for i, d in enumerate(docs) if d is not None]
            done = self.store.pages_read(job_id)  # the pages read before (an earlier run), then as the queue frees

            def saved(read: PageRead) -> None:
                if isinstance(read.error, Cancelled) or token.cancelled:
                    return  # not a result: read again when the job goes on (after a restart)
                read.doc = present[read.doc]
                self.store.save_read(job_id, read)
                now = self.store.job(job_id)
                if now is None or now.state != RUNNING:  # cancelled (by this process or another), or deleted
                    token.cancel()

            timeout = self.pages.limits.request_timeout_s
            woken = threading.Event()  # a cancel (the client's, or Jobs.stop at shutdown) ends a wait for room at once
            token.on_cancel(woken.set)
            while True:
                try:
                    self.pages.read(
                        request,
                        [docs[i] for i in present],
                        lambda: Deadline(timeout),
                        token,
                        saved,
                        skip=lambda d, page: (present[d], page) in done,
                    )
                    break
                except Overloaded as exc:  # interactive requests fill the queue: wait, then go on where we were
                    if woken.wait(exc.retry_after) or token.cancelled:
                        raise Cancelled("The job was cancelled.") from None
                    done.update(self.store.pages_read(job_id))
            if token.cancelled:
                raise Cancelled("The job was cancelled.")
            self.store.move(
                job_id, (RUNNING,), state=DONE, ended=time.time(), seconds=(job.seconds or 0) + time.perf_counter() - started
            )  # never over a cancel
            self.store.drop_files(job_id)
        except Cancelled:
            if self._stopping.is_set():
                self.store.move(job_id, (RUNNING,), state=QUEUED)  # shutting down: resumed at the next start
            else:  # cancelled (and deleted) by its client
                self.store.drop_files(job_id)
        except (BadInput, ChatVLMError) as exc:
            self.store.move(job_id, (RUNNING,), state=FAILED, error=redact_paths(str(exc)), ended=time.time())
            self.store.drop_files(job_id)
        finally:
            self._current = None
            for doc in docs:
                if doc is not None:
                    doc.close()
