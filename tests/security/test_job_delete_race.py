"""A job deleted while one of its pages is being opened for reading: its file's bytes were fetched, then its rows were
gone when the file's name was looked up, and the page's read raised IndexError, logged as the job's failure with a
traceback (an attack pass: deleting 100 running jobs at once; a client may make the server log tracebacks at will).
The page's read now ends quietly, as for a job cancelled."""

from __future__ import annotations

import logging

from inference.job_store import JobStore
from tests.helpers import text_pdf
from tests.polling import wait_until
from tests.security.conftest import live
from tests.security.log_capture import logged


def test_a_job_deleted_as_a_page_of_it_is_opened_ends_quietly(settings, monkeypatch):
    real, calls, deleted = JobStore.file_data, [], []

    def file_data(self, job_id, idx):  # (the job deleted just after a later page's file is fetched: the race, made certain)
        data = real(self, job_id, idx)
        calls.append(job_id)
        if len(calls) == 2:  # (the first: the job's opening)
            deleted.append(job_id)
            self.delete(job_id)
        return data

    pdf = text_pdf([[f"page{n:02d} line"] for n in range(1, 4)])
    # a budget of one line: page 1 is read at the opening, the others each opened for themselves later
    with live(settings, limits={"max_text_lines": 1}, jobs={"workers": 1}) as (client, service), logged() as records:
        service.jobs.dispatcher.work.docs.size = 0  # (no file kept open: each later page opens it)
        monkeypatch.setattr(JobStore, "file_data", file_data)
        sent = client.post("/jobs", files=[("files", ("long.pdf", pdf))])
        assert sent.status_code in (202, 404), sent.text  # (deleted before its answer was written: 404)
        assert wait_until(lambda: bool(deleted), 60, 0.05)
        job = deleted[0]
        assert wait_until(lambda: client.get(f"/jobs/{job}").status_code == 404, 30, 0.1)
        assert client.get("/health").status_code == 200
    errors = [r for r in records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]
