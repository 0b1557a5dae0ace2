"""The job API: 202 + poll + result, cancel, expiry, and a server killed with SIGKILL that finishes its job after
a restart without losing a page."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from inference.errors import NotFound
from inference.jobs import Jobs
from tests.conftest import EMBEDDED_DEFAULT, start_server, stop_server
from tests.helpers import encode, image_pdf, render_lines, text_pdf
from tests.polling import wait_until


def scanned(pages: int, font_size: int = 32) -> bytes:
    return image_pdf(
        [render_lines([f"Page {n} of the annual report", f"Section {n}.1 revenue grew"], font_size) for n in range(1, pages + 1)]
    )


def wait_for(get, condition, timeout: float = 120.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = get()
        if condition(body):
            return body
        time.sleep(every)
    raise AssertionError(f"not reached in {timeout}s: {body}")


def test_a_job_is_queued_polled_and_its_result_fetched(client):
    files = [
        ("files", ("report.pdf", scanned(2))),
        ("files", ("note.png", encode(render_lines(["Short note 77"])))),
        ("files", ("broken.pdf", b"%PDF-1.4 nothing")),
        ("files", ("memo.pdf", text_pdf([["Memo about the budget", "for next year"]]))),
    ]
    response = client.post("/jobs", files=files, data={"model": "embedded"})
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["Location"] == f"/jobs/{job['id']}" and job["state"] in ("queued", "running")
    assert job["files"] == 4 and job["model"] == "embedded"
    done = wait_for(lambda: client.get(f"/jobs/{job['id']}").json(), lambda b: b["state"] == "done")
    assert done["pages_done"] == done["pages_total"] == 5 and done["result_url"] == f"/jobs/{job['id']}/result"
    assert done["expires_at"] > done["ended_at"] >= done["started_at"] >= done["created_at"]
    result = client.get(done["result_url"]).json()
    assert [r["filename"] for r in result["results"]] == ["report.pdf", "note.png", "broken.pdf", "memo.pdf"]
    assert [r["status"] for r in result["results"]] == ["success", "success", "error", "success"]
    report = result["results"][0]
    assert [p["page"] for p in report["pages"]] == [1, 2] and "annual" in report["pages"][1]["text"].lower()
    assert [[b["type"] for b in p["blocks"]] for p in report["pages"]] == [["text"], ["text"]]  # a job's pages: blocks
    assert "77" in result["results"][1]["text"] and "corrupt" in result["results"][2]["error"]
    assert result["results"][3]["pages"][0]["source"] == "text-layer" and result["successful"] == 3


def test_a_job_read_from_its_text_layer_says_how_long_it_took(client):
    # (its pages are read as it is opened: its time was counted from the end of that, 0.0 every time)
    memo = text_pdf([[f"Line {n} of the memo about next year's budget" for n in range(40)]] * 3)
    sent = client.post("/jobs", files=[("files", ("memo.pdf", memo))])
    assert sent.status_code == 202, sent.text
    done = wait_for(lambda: client.get(f"/jobs/{sent.json()['id']}").json(), lambda b: b["state"] == "done")
    result = client.get(done["result_url"]).json()
    assert {page["source"] for page in result["results"][0]["pages"]} == {"text-layer"}
    assert result["processing_time"] >= result["results"][0]["pages"][0]["processing_time"] > 0


def test_bad_jobs_are_refused_at_once(client):
    png = encode(render_lines(["x"]))
    for kwargs, status, expected in [
        ({"data": {"model": "nope"}}, 404, "Unknown model"),
        ({"data": {"pages": "one"}}, 400, "pages must look like"),
    ]:
        response = client.post("/jobs", files=[("files", ("a.png", png))], **kwargs)
        assert response.status_code == status and expected in response.json()["detail"], response.text
    assert client.get("/jobs/0123abcd").status_code == 404
    assert client.get("/jobs/0123abcd/result").status_code == 404
    assert client.delete("/jobs/" + "x" * 300).status_code == 404


def test_a_job_can_be_cancelled_and_its_result_is_not_there_before_it_is_done(client):
    job = client.post("/jobs", files=[("files", ("long.pdf", scanned(40)))]).json()
    early = client.get(f"/jobs/{job['id']}/result")
    assert early.status_code == 409 and "once it is done" in early.json()["detail"]
    cancelled = client.delete(f"/jobs/{job['id']}").json()
    assert cancelled["state"] == "cancelled" and cancelled["pages_done"] < 40
    gone = wait_until(lambda: client.get(f"/jobs/{job['id']}").status_code == 404, timeout=30, every=0.05)
    assert gone  # cancelled and deleted (once its running page has stopped)
    assert client.get(f"/jobs/{job['id']}/result").status_code == 404
    assert client.delete(f"/jobs/{job['id']}").status_code == 404
    assert client.post("/ocr", files={"file": ("a.png", encode(render_lines(["still serving"])))}).status_code == 200


def test_results_expire(service, tmp_path):
    settings = service.settings.model_copy(deep=True)
    settings.server.data_dir, settings.server.job_results_ttl_s = str(tmp_path), 0.5
    jobs = Jobs(service.pages, service.inputs, settings)
    jobs.start()
    try:
        job = jobs.submit([("a.png", encode(render_lines(["Expiring text"])))], "embedded", None, None, False)
        wait_for(lambda: jobs.status(job.id), lambda s: s.state == "done", timeout=60)
        assert jobs.result(job.id).successful == 1
        assert jobs.store.file_data(job.id, 0) is None  # its upload went when it ended

        def expired() -> bool:
            try:
                jobs.status(job.id)
            except NotFound:
                return True
            return False

        assert wait_until(expired, timeout=30, every=0.05)  # (its results kept 0.5 s)
        with pytest.raises(NotFound):
            jobs.status(job.id)
        assert jobs.store.read_keys(job.id) == [] and jobs.store.file_names(job.id) == []
    finally:
        jobs.stop()


PAGES = 8  # jobs.workers (4) read at once: killed once two are done, with pages left to read after the restart


@pytest.mark.slow  # a release check: two cold servers and a real SIGKILL
def test_a_killed_server_finishes_its_job_after_a_restart(tmp_path):
    env = {**EMBEDDED_DEFAULT, "CHATVLM_DATA_DIR": str(tmp_path / "data")}
    process, base = start_server(env, tmp_path / "first.log")
    try:
        small = httpx.post(f"{base}/jobs", files=[("files", ("n.png", encode(render_lines(["Kept result 5150"]))))])
        finished = wait_for(lambda: httpx.get(f"{base}/jobs/{small.json()['id']}").json(), lambda b: b["state"] == "done")
        job = httpx.post(f"{base}/jobs", files=[("files", ("long.pdf", scanned(PAGES, 24)))], timeout=30).json()
        midway = wait_for(lambda: httpx.get(f"{base}/jobs/{job['id']}").json(), lambda b: b["pages_done"] >= 2, every=0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    assert midway["state"] == "running" and midway["pages_done"] < PAGES, midway

    process, base = start_server(env, tmp_path / "second.log")
    try:
        resumed = httpx.get(f"{base}/jobs/{job['id']}").json()
        assert resumed["pages_done"] >= midway["pages_done"]  # nothing read before the kill was lost
        done = wait_for(lambda: httpx.get(f"{base}/jobs/{job['id']}").json(), lambda b: b["state"] == "done")
        result = httpx.get(f"{base}/jobs/{job['id']}/result").json()
        pages = result["results"][0]["pages"]
        assert [p["page"] for p in pages] == list(range(1, PAGES + 1)) and all(p["error"] is None for p in pages)
        assert all(f"page {p['page']} of the" in p["text"].lower() for p in pages), [p["text"] for p in pages]
        assert done["pages_done"] == PAGES
        kept = httpx.get(f"{base}/jobs/{finished['id']}/result").json()  # finished before the kill: still there
        assert "5150" in kept["results"][0]["text"]
        assert "resuming 1 unfinished job" in (tmp_path / "second.log").read_text()
    finally:
        stop_server(process)


def test_deleting_a_finished_job_deletes_its_result(client):
    job = client.post("/jobs", files=[("files", ("a.png", encode(render_lines(["Delete me 31"]))))]).json()
    wait_for(lambda: client.get(f"/jobs/{job['id']}").json(), lambda b: b["state"] == "done", timeout=60)
    assert client.delete(f"/jobs/{job['id']}").json()["state"] == "done"
    assert client.get(f"/jobs/{job['id']}/result").status_code == 404


def test_jobs_take_turns_so_a_long_one_holds_nobody_behind_it(service, tmp_path):
    settings = service.settings.model_copy(deep=True)
    settings.server.data_dir = str(tmp_path)
    jobs = Jobs(service.pages, service.inputs, settings)
    jobs.start()
    try:
        first = jobs.submit([("long.pdf", scanned(10, 24))], "embedded", None, None, False, owner="alice")
        second = jobs.submit([("long.pdf", scanned(10, 24))], "embedded", None, None, False, owner="bob")
        # the long ones take turns once both are open; the first may read a few pages while the second is opened
        wait_for(lambda: jobs.status(second.id), lambda s: s.state == "running", timeout=60, every=0.02)
        head = jobs.status(first.id).pages_done
        # the short one comes while the long ones are being read (sent at once, it could be read before the long PDF
        # was even opened: nothing to take turns with yet)
        wait_for(lambda: jobs.status(first.id), lambda s: s.state == "running", timeout=60, every=0.02)
        short = jobs.submit([("note.png", encode(render_lines(["Short note 42"])))], "embedded", None, None, False, owner="alice")
        done = wait_for(lambda: jobs.status(short.id), lambda s: s.state == "done", timeout=120, every=0.05)
        long_then = jobs.status(first.id)
        assert long_then.state == "running" and long_then.pages_done < 10, long_then  # the short one did not wait for it
        assert done.pages_done == 1
        first_done = wait_for(lambda: jobs.status(first.id), lambda s: s.state == "done", timeout=180, every=0.05)
        other = jobs.status(second.id)
        # the two long jobs took turns, page by page (one after the other, the second would be at 3 at most: the
        # workers' other pages in flight)
        assert other.pages_done >= min(5, (10 - head) // 2), (head, first_done, other)
        wait_for(lambda: jobs.status(second.id), lambda s: s.state == "done", timeout=180)
        readers = {worker for worker in jobs.store.pages_per_worker()}
        assert len(readers) == 1  # one process: one name, every page read once
        for job in (first, second):
            pages = jobs.result(job.id).results[0].pages
            assert [p.page for p in pages] == list(range(1, 11)) and all("annual report" in p.text.lower() for p in pages)
    finally:
        jobs.stop()


def test_a_second_server_on_the_same_data_directory_refuses_to_start(live_server, client):
    from tests.conftest import LIVE_DATA_DIR, ROOT, free_port

    env = {**os.environ, "PORT": str(free_port()), "CHATVLM_OCR_MODEL": "embedded", "CHATVLM_DATA_DIR": LIVE_DATA_DIR}
    second = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 2, second.stderr[-2000:]
    assert "in use by another server" in second.stderr and os.path.realpath(LIVE_DATA_DIR) in second.stderr
    assert "CHATVLM_DATA_DIR" in second.stderr and "jobs.broker_url" in second.stderr  # how to run a second one
    port = str(free_port())
    third = subprocess.run(  # under uvicorn's own command: the same sentence, not a traceback
        [sys.executable, "-m", "uvicorn", "app:app", "--port", port],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert third.returncode == 3 and "Configuration error: The data directory" in third.stderr, third.stderr[-2000:]
    assert "Traceback" not in third.stderr
    job = httpx.post(f"{live_server}/jobs", files=[("files", ("n.png", encode(render_lines(["Still mine 808"]))))]).json()
    done = wait_for(lambda: httpx.get(f"{live_server}/jobs/{job['id']}").json(), lambda b: b["state"] == "done", timeout=60)
    assert done["pages_done"] == 1  # the first server goes on with its jobs
