"""The job part of the service's facade (POST /jobs and the Batch tab's long batches): the queue opened on first
use, and the one owner rule applied to every call (:func:`~inference.jobs.owner_for`). :class:`InferenceService`
is this plus the rest of the facade; the edges call these methods, never the queue itself."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import ModelUnavailable
from .images import ImageSource
from .inputs import Inputs
from .jobs import Jobs, data_dir, owner_for
from .pages import Pages
from .results import BatchResult, JobStatus
from .settings import Settings

log = logging.getLogger("inference.service")


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
                    self._jobs = Jobs(self.pages, self.inputs, self.data_dir, self.settings.server.job_results_ttl_s, self.charge)
                except OSError as exc:
                    log.error("the jobs database under %s cannot be opened: %s", self.data_dir, exc)
                    raise ModelUnavailable(
                        "Jobs are not available: the server cannot write its data directory (server.data_dir / CHATVLM_DATA_DIR)."
                    ) from None
                self._jobs.start()
            return self._jobs

    def resume_jobs(self) -> None:
        """At start-up: if an earlier run left jobs, open the queue so that they finish."""
        if (self.data_dir / "jobs.sqlite3").exists():
            self.jobs  # noqa: B018 (opening it resumes them)

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
    ) -> JobStatus:
        """Queue OCR of ``files`` as a job (checked as /batch/ocr is); its status, to poll with :meth:`job`."""
        return self.jobs.submit(files, model, language, pages, force_ocr, self.job_owner(principal, True), caller)

    def job(self, job_id: str, principal: Any = None) -> JobStatus:
        return self.jobs.status(job_id, self.job_owner(principal))

    def job_result(self, job_id: str, principal: Any = None) -> BatchResult:
        return self.jobs.result(job_id, self.job_owner(principal))

    def cancel_job(self, job_id: str, principal: Any = None) -> JobStatus:
        return self.jobs.cancel(job_id, self.job_owner(principal))

    def list_jobs(self, principal: Any = None) -> list[JobStatus]:
        return self.jobs.jobs_of(self.job_owner(principal))
