"""The Batch tab's "Cancel / delete job" pressed without its confirm (the job listed as running) cancels a job that runs
and never deletes one that has ended meanwhile: the check and the cancel were two steps, and a job ending between them
was deleted with its result, unasked (a review). The service's cancel says whether an ended job goes too."""

import io

from tests.e2e.test_jobs import wait_for
from tests.helpers import encode, render_lines
from tests.security.conftest import live

PNG = encode(render_lines(["Kept 31"]))


def test_a_cancel_that_spares_ended_jobs_keeps_a_finished_one_and_its_result(settings, tmp_path):
    with live(settings, server={"data_dir": str(tmp_path / "data")}) as (client, service):
        job = service.submit_job([("a.png", io.BytesIO(PNG))]).id
        wait_for(lambda: client.get(f"/jobs/{job}").json(), lambda body: body["state"] == "done")
        last = service.cancel_job(job, None, ended_too=False)
        assert last.state == "done" and client.get(f"/jobs/{job}/result").status_code == 200  # (kept)
        assert service.cancel_job(job, None).state == "done" and client.get(f"/jobs/{job}").status_code == 404  # (asked)
