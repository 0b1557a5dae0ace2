"""The Batch tab's "Your jobs" (issue #20, point 7), through its Gradio API twins /batch_jobs and /follow_job on the
session's server with keys on: a key sees its own recent jobs (not another key's), and following a job sent
elsewhere (here by REST, as after a page reload) shows its progress page by page until it ends, then its result."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.conftest import OTHER_KEY, USER_KEY
from tests.e2e.test_jobs import scanned


def gradio(base: str, key: str) -> Client:
    return Client(f"{base}/", headers={"Authorization": f"Bearer {key}"}, verbose=False)


def test_a_key_lists_its_jobs_and_follows_one_to_its_result(keyed_server):
    # the clients first (each reads the app's config: seconds on a busy machine), so that the job is still being read
    # when it is followed
    mine, other = gradio(keyed_server, USER_KEY), gradio(keyed_server, OTHER_KEY)
    sent = httpx.post(
        f"{keyed_server}/jobs",
        files=[("files", ("report.pdf", scanned(24, 24)))],  # (long enough to be followed on an idle machine)
        data={"model": "embedded"},
        headers={"Authorization": f"Bearer {USER_KEY}"},
        timeout=60,
    )
    assert sent.status_code == 202, sent.text
    job_id = sent.json()["id"]
    listed = mine.predict(api_name="/batch_jobs")
    assert listed["headers"][:3] == ["job", "state", "pages"] and listed["data"][0][0] == job_id  # newest first
    assert job_id not in str(other.predict(api_name="/batch_jobs")["data"])
    with pytest.raises(AppError, match="No job"):
        other.predict(job_id, api_name="/follow_job")

    followed = mine.submit(job_id, api_name="/follow_job")
    seen = set()
    deadline = time.monotonic() + 120
    while not followed.done():
        assert time.monotonic() < deadline, seen
        for unit in followed.status().progress_data or []:
            if unit.length:
                seen.add((unit.index, unit.length, unit.unit))
        time.sleep(0.05)
    rows, totals, downloads = followed.result()
    assert [row[1] for row in rows["data"]] == ["success"] and "annual report" in rows["data"][0][3].lower()
    assert "Page 24" in rows["data"][0][3] and "**1** files" in totals and len(downloads) == 3
    assert {length for _, length, _ in seen} == {24} and {unit for _, _, unit in seen} == {"pages"}, seen
    # (the tab's result is built without its lines, a long job's took GBs; its JSON download is the job's whole result)
    whole = httpx.get(f"{keyed_server}/jobs/{job_id}/result", headers={"Authorization": f"Bearer {USER_KEY}"}, timeout=60)
    saved = json.loads(Path(next(path for path in downloads if path.endswith(".json"))).read_text(encoding="utf-8"))
    assert saved == whole.json() and all(page["lines"] for page in saved["results"][0]["pages"])
    again = mine.predict(api_name="/batch_jobs")
    assert again["data"][0][:3] == [job_id, "done", "24/24"]
    with pytest.raises(AppError, match="Pick a job"):
        mine.predict("", api_name="/follow_job")
