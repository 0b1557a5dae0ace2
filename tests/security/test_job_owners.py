"""Jobs sent while API keys were off belong to nobody; once keys are turned on (the same data directory, the server
started again), every key saw them, read their results and could delete them (a job made for a private document
on a laptop, the server then opened to a team). Now they are an admin key's to see; a user key sees its own alone."""

from __future__ import annotations

from tests.helpers import text_pdf
from tests.polling import wait_until

from .conftest import ADMIN, KEYS, USER, live


def test_jobs_made_with_keys_off_are_no_key_s_once_keys_are_on(settings, tmp_path):
    data = {"data_dir": str(tmp_path)}
    with live(settings, server=data) as (client, _):
        sent = client.post("/jobs", files=[("files", ("private.pdf", text_pdf([["Private letter to the bank"]])))])
        assert sent.status_code == 202, sent.text
        job_id = sent.json()["id"]
        assert wait_until(lambda: client.get(f"/jobs/{job_id}").json()["state"] == "done", 120, 0.2)
    with live(settings, server=data, auth={"api_keys": KEYS}) as (client, _):
        user, admin = {"X-API-Key": USER}, {"X-API-Key": ADMIN}
        mine = client.post("/jobs", files=[("files", ("mine.pdf", text_pdf([["My own page"]])))], headers=user)
        assert mine.status_code == 202, mine.text
        for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/result", f"/jobs/{job_id}/events"):
            assert client.get(path, headers=user).status_code == 404, path
        assert client.delete(f"/jobs/{job_id}", headers=user).status_code == 404
        assert [job["id"] for job in client.get("/jobs", headers=user).json()["jobs"]] == [mine.json()["id"]]
        assert job_id in {job["id"] for job in client.get("/jobs", headers=admin).json()["jobs"]}
        assert client.get(f"/jobs/{job_id}/result", headers=admin).status_code == 200
