"""The Batch tab's "Your jobs": the signed-in key's recent jobs as the tab lists them, and what a cancel (or delete) did."""

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


def kept(job: JobStatus) -> str:
    """What Cancel / delete said of a job that has ended, its deletion not confirmed."""
    return (
        f"Job {job.id} has ended ({job.state}): it and its result are kept. To delete them, press Cancel / delete job "
        "and confirm."
    )


# Cancel / delete job: a job listed as ended is deleted with its result only once the browser's confirm is accepted (the
# button deleted it at once, under a label that said Cancel). Its inputs: the job picked and whether it was confirmed.
# The job's state is the one in the picked choice's label (job_choices: "id · state · pages").
CONFIRM_DELETE = """(job, confirmed) => {
  const state = (document.querySelector('#batch-job input')?.value || '').split(' · ')[1];
  const ended = ['done', 'failed', 'cancelled'].includes(state);
  const text = `Job ${job} has ended (${state}). Delete it and its result? This cannot be undone.`;
  return [job, Boolean(job) && ended && confirm(text)];
}"""


def job_choices(listing: JobList) -> list[tuple[str, str]]:
    return [(f"{job.id[:8]} · {job.state} · {job.pages_done}/{job.pages_total or '?'} pages", job.id) for job in listing.jobs]
