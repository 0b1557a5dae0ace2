"""A job's results stop at the disk's reserve (an attack pass): a key's job of dense text-layer pages stored ~1.5 MB a
page, 3 GB for the 2,000 pages it may have in flight, and only request bodies were held to limits.min_free_disk_mb: the
jobs' database filled the disk for everyone. A page read when the database's disk would keep less fails its job, which
says why (the pages read before are kept)."""

from __future__ import annotations

import io

from inference.job_work import SHORT_OF_DISK_FOR_RESULTS
from tests.e2e.test_jobs import wait_for
from tests.helpers import encode, render_lines
from tests.security.conftest import live

PNG = encode(render_lines(["Kept 31"]))


def test_a_job_whose_results_would_fill_the_disk_fails_saying_why(settings, tmp_path):
    data = {"data_dir": str(tmp_path / "data")}
    with live(settings, limits={"min_free_disk_mb": 10**9}, server=data) as (client, service):  # (more than any disk has)
        # (sent past the HTTP edge, which refuses files while the disk is short: a job sent before it was)
        job = service.submit_job([("a.png", io.BytesIO(PNG))]).id
        ended = wait_for(lambda: client.get(f"/jobs/{job}").json(), lambda body: body["state"] not in ("queued", "running"))
        assert ended["state"] == "failed" and ended["error"] == SHORT_OF_DISK_FOR_RESULTS, ended
        assert client.get("/health").status_code == 200
    with live(settings, server={"data_dir": str(tmp_path / "roomy")}) as (client, service):  # (the same with room: done)
        job = service.submit_job([("a.png", io.BytesIO(PNG))]).id
        assert wait_for(lambda: client.get(f"/jobs/{job}").json(), lambda body: body["state"] == "done")["pages_done"] == 1
