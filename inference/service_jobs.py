"""The job part of the service's facade (POST /jobs and the Batch tab's long batches): the queue opened on first
use, and the one owner rule applied to every call (:func:`~inference.jobs.owner_for`). :class:`InferenceService`
is this plus the rest of the facade; the edges call these methods, never the queue itself."""

from __future__ import annotations

import logging
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from sqlalchemy.exc import SQLAlchemyError

from .errors import ConfigError, Forbidden, ModelUnavailable, Overloaded, RateLimited
from .idempotency import Idempotency, body_hash, check_key
from .images import ImageSource
from .inputs import Inputs
from .job_store import SQLITE_FILE
from .jobs import Jobs, claim_data_dir, data_dir, owner_for, redact_url, role_and_name, role_of
from .pages import Pages
from .results import BatchResult, JobList, JobPageEvent, JobStatus
from .settings import Settings

log = logging.getLogger("inference.service")

# A finished job's result costs ~0.3 s of CPU a dense page to write out (a few pages held at a time: result_stream;
# built whole, six GETs at once of one 20-page job's result held 917 MB more), and reading it is no work the rate
# limit counts (a client may hold 256 connections). So few are written at once.
RESULTS_PER_CALLER = 2  # results one key (or client address) has built at once (one more: 429)
RESULTS_AT_ONCE = 8  # ...and every caller's, in one process (one more: 503)
_building: Counter[str] = Counter()
_building_lock = threading.Lock()


@contextmanager
def one_build(holder: str) -> Iterator[None]:
    """A place among the results built now, for ``holder`` (a caller's name); refused when there is none."""
    with _building_lock:
        if _building[holder] >= RESULTS_PER_CALLER:
            raise RateLimited(
                f"This key is already fetching {RESULTS_PER_CALLER} job results; ask again once one has come.", retry_after=2
            )
        if _building.total() >= RESULTS_AT_ONCE:
            raise Overloaded("The server is building as many job results as it can now; try again shortly.", retry_after=5)
        _building[holder] += 1
    try:
        yield
    finally:
        with _building_lock:
            _building[holder] -= 1
            if not _building[holder]:
                del _building[holder]


class HeldPieces:
    """A job result's pieces of JSON, holding a place among the results written at once (``one_build``) until they end
    or are closed: the REST answer closes them as it ends, however it ends (``api.result_response``); pieces dropped
    unclosed give it back when collected."""

    def __init__(self, pieces: Iterator[str], place: ExitStack):
        self._pieces, self._place = pieces, place
        weakref.finalize(self, place.close)

    def __iter__(self) -> HeldPieces:
        return self

    def __next__(self) -> str:
        try:
            return next(self._pieces)
        except BaseException:  # (the end, or the result gone meanwhile)
            self.close()
            raise

    def close(self) -> None:
        with suppress(ValueError):  # (its next piece being made in another thread: it stops there, collected later)
            self._pieces.close()
        self._place.close()


class JobsFacade:
    settings: Settings
    pages: Pages
    inputs: Inputs
    charge: Callable[[str | None], None]
    _jobs: Jobs | None
    _jobs_lock: threading.Lock

    @property
    def data_dir(self) -> Path:
        return data_dir(self.settings)

    @property
    def jobs(self) -> Jobs:
        """The job queue (POST /jobs), its database opened and its worker started on first use."""
        with self._jobs_lock:
            if self._jobs is None:
                try:
                    self._jobs = Jobs(self.pages, self.inputs, self.settings, self.charge)
                except (OSError, ConfigError) as exc:
                    log.error("the jobs database under %s cannot be opened: %s", self.data_dir, exc)
                    raise ModelUnavailable(
                        "Jobs are not available: the server cannot use its data directory (server.data_dir / CHATVLM_DATA_DIR)."
                    ) from None
                except SQLAlchemyError as exc:
                    log.error("the jobs database does not answer: %s", redact_url(str(exc)))
                    raise ModelUnavailable(
                        "Jobs are not available: the jobs database does not answer; try again shortly."
                    ) from None
                self._jobs.start()
            return self._jobs

    def claim_data_dir(self) -> None:
        """:func:`~inference.jobs.claim_data_dir` for this service's settings."""
        claim_data_dir(self.settings)

    def resume_jobs(self) -> None:
        """At start-up: if an earlier run left jobs (or they are distributed), open the queue so that they finish."""
        if self.settings.jobs.distributed or (self.data_dir / SQLITE_FILE).exists():
            try:
                self.jobs  # noqa: B018 (opening it resumes them)
            except ModelUnavailable:
                log.error("jobs are not available at start-up (they are tried again at the first job request)")

    def jobs_problem(self) -> str | None:
        """Why jobs cannot be taken now (the database or the broker does not answer), when they are in use."""
        if self._jobs is None and not self.settings.jobs.distributed:
            return None
        try:
            return self.jobs.ready()
        except ModelUnavailable as exc:
            return str(exc)

    def job_metrics(self) -> tuple[dict[str, int], dict[str, int]] | None:
        """(units waiting per model's queue, pages read per worker) once jobs are in use, else None."""
        if self._jobs is None and not self.settings.jobs.distributed:
            return None
        try:
            return self.jobs.metrics()
        except ModelUnavailable:
            return None

    def job_owner(self, principal: Any, creating: bool = False) -> str | None:
        """Whose jobs ``principal`` (``role``/``name``, or Gradio's ``"role:name"``; None: nobody signed in) may see,
        None for every job; ``creating``: whose a new job is (:func:`~inference.jobs.owner_for`, the one rule)."""
        return owner_for(principal, bool(self.settings.auth.api_keys), creating)

    def submit_job(
        self,
        files: Sequence[tuple[str, ImageSource]],
        model: str | None = None,
        language: str | None = None,
        pages: str | None = None,
        force_ocr: bool = False,
        principal: Any = None,
        caller: str | None = None,
        priority: str = "normal",
        callback_url: str | None = None,
    ) -> JobStatus:
        """Queue OCR of ``files`` as a job (checked as /batch/ocr is, and against ``caller``'s job quotas); its status,
        to poll with :meth:`job`. ``priority`` high is for admin keys (anyone with keys off). ``callback_url``: POSTed
        to, signed, when the job ends."""
        if priority == "high" and self.settings.auth.api_keys and role_of(principal) != "admin":
            raise Forbidden("priority=high is for admin keys; use low or normal.")
        owner = self.job_owner(principal, True)
        return self.jobs.submit(files, model, language, pages, force_ocr, owner, caller, priority, callback_url)

    def job(self, job_id: str, principal: Any = None) -> JobStatus:
        return self.jobs.status(job_id, self.job_owner(principal))

    def job_result(self, job_id: str, principal: Any = None, lines: bool = True) -> BatchResult:
        """A finished job's result built whole (the Batch tab's, without its ``lines``), a few at once like
        :meth:`job_result_json`'s (REST's: written out a few pages at a time)."""
        with one_build(role_and_name(principal)[1] if principal is not None else "-"):
            return self.jobs.result(job_id, self.job_owner(principal), lines)

    def job_result_json(self, job_id: str, principal: Any = None) -> HeldPieces:
        """A finished job's result as pieces of JSON text (REST's), its pages fetched a few at a time as they are
        written out; a few are written at once (:data:`RESULTS_PER_CALLER` for one caller), each holding its place
        until its pieces end or are closed. Refusals (NotFound, NotReady, a caller's limit) come at once."""
        place = ExitStack()
        place.enter_context(one_build(role_and_name(principal)[1] if principal is not None else "-"))
        try:
            return HeldPieces(self.jobs.result_json(job_id, self.job_owner(principal)), place)
        except BaseException:
            place.close()
            raise

    def cancel_job(self, job_id: str, principal: Any = None, ended_too: bool = True) -> JobStatus:
        """Cancel and delete the job (``ended_too``: a job that has ended is deleted with its result too)."""
        return self.jobs.cancel(job_id, self.job_owner(principal), ended_too)

    def list_jobs(self, principal: Any = None) -> list[JobStatus]:
        return self.jobs.jobs_of(self.job_owner(principal))

    def job_listing(self, principal: Any = None, state: str | None = None, limit: int = 20, cursor: str | None = None) -> JobList:
        """A page of the jobs ``principal`` may see, newest first (an admin key: everyone's, with each owner's key
        fingerprint)."""
        owner = self.job_owner(principal)
        admin = bool(self.settings.auth.api_keys) and owner is None and principal is not None
        items, following = self.jobs.listing(owner, state, limit, cursor, show_owner=admin)
        return JobList(jobs=items, next_cursor=following)

    # ---- idempotent submits (Idempotency-Key on POST /jobs) ----------------------------------------------------
    def _keys(self) -> Idempotency:
        return Idempotency(self.jobs.store, self.settings.limits.request_timeout_s)

    def reserve_submit(self, caller: str, key: str) -> str | None:
        """Reserve the Idempotency-Key ``key`` of ``caller`` for a request about to be received: its token, or None
        when another request holds or used it (:meth:`submit_job_once` then waits for it)."""
        return self.jobs._db(lambda: self._keys().reserve(caller, check_key(key)))

    def release_submit(self, caller: str, key: str, token: str) -> None:
        """The request that reserved the key made no job: the key is free again (a no-op once it made one)."""
        self.jobs._db(lambda: self._keys().release(caller, key, token))

    def job_request_hash(self, files: Sequence[tuple[str, IO[bytes]]], params: dict[str, Any]) -> str:
        """What makes two job requests the same for an Idempotency-Key: SHA-256 of the files' names and bytes (read,
        then put back where they were) and of ``params``."""
        return body_hash(files, params)

    def submit_job_once(
        self,
        caller: str,
        key: str,
        token: str | None,
        request_hash: str,
        submit: Callable[[], JobStatus],
        principal: Any = None,
        last: bool = True,
    ) -> tuple[JobStatus, bool] | None:
        """``submit()`` (a :meth:`submit_job` call) once per Idempotency-Key of ``caller``: (the job, whether this call
        made it). The same request again (:meth:`job_request_hash`) answers the key's job; another request with the
        key is refused (409). None while the key's first request is still being received: ask again shortly (not
        ``last``; else 409). ``token``: :meth:`reserve_submit`'s, when this request holds the key."""
        return self.jobs._db(
            lambda: self._keys().attempt(
                caller, check_key(key), token, request_hash, submit, lambda job: self.job(job, principal), last
            )
        )

    # ---- issue 20: live events ---------------------------------------------------------------------------
    def job_progress(
        self, job_id: str, principal: Any = None, after: int = 0, limit: int = 100
    ) -> tuple[JobStatus | None, list[JobPageEvent]]:
        """The job now (None once it is gone) and its pages written after event ``after``, for its live events;
        NotFound when ``principal`` may not see it."""
        return self.jobs.progress(job_id, self.job_owner(principal), after, limit)
