"""The Batch tab's "Your jobs": the signed-in key's recent jobs as the tab lists them, and what a cancel did."""

from __future__ import annotations

import time

import pandas as pd

from inference.results import JobList, JobStatus

JOB_COLUMNS = ["job", "state", "pages", "files", "model", "submitted"]
RECENT_JOBS = 20  # "Your jobs" lists this many, newest first


def job_table(listing: JobList) -> pd.DataFrame:
    """The jobs as rows: id, state, pages read of the total (``?`` until the job is opened), files, model, when."""
    rows = [
        [
            job.id,
            job.state,
            f"{job.pages_done}/{job.pages_total if job.pages_total is not None else '?'}",
            job.files,
            job.model,
            time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(job.created_at)),
        ]
        for job in listing.jobs
    ]
    return pd.DataFrame(rows, columns=JOB_COLUMNS)


def cancelled(job: JobStatus) -> str:
    """What a cancel did to a job (the service answers with its last state: ``cancelled``, or how it had ended)."""
    if job.state == "cancelled":
        return f"Job {job.id} is cancelled ({job.pages_done} of {job.pages_total or '?'} pages had been read) and deleted."
    return f"Job {job.id} had already ended ({job.state}); it and its result are deleted."


def job_choices(listing: JobList) -> list[tuple[str, str]]:
    return [(f"{job.id[:8]} · {job.state} · {job.pages_done}/{job.pages_total or '?'} pages", job.id) for job in listing.jobs]
