"""The distributed mode on real components (tests/distributed/conftest.py: Redis, PostgreSQL, two API replicas, two
workers): any replica answers for any job, a document's pages are spread over the workers and written once, and a
worker, a replica, Redis and PostgreSQL each SIGKILLed mid-job lose nothing: every disturbed job ends with the
result of the same job run undisturbed. A cancel from any replica stops the job's pages within seconds, and /metrics
and /ready tell an operator what the queue, the workers, the broker and the database do.

The scenarios run one after another on the one cluster (each waits for its job to end and puts back what it
killed), in this file's order."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import sqlalchemy as sa

from inference.job_tables import pages as pages_table
from tests.distributed.conftest import CALLBACK_SECRET
from tests.helpers import image_pdf, render_lines

# A release check: a cluster of processes on Redis and PostgreSQL, each component SIGKILLed in turn (~100 s).
pytestmark = pytest.mark.slow

PAGES = 10
JOB_TIMEOUT_S = 90.0  # a 10-page job takes 5-15 s; a lost unit comes back within request_timeout_s + 2 sweeps (16 s)
HTTP = httpx.Client(timeout=15)


def scanned(pages: int) -> bytes:
    """A scanned report (no text layer): every page is read by a worker, and says which page it is."""
    return image_pdf(
        [render_lines([f"Page {n} of the annual report", f"Section {n}.1 revenue grew"], 24) for n in range(1, pages + 1)]
    )


DOC = scanned(PAGES)


def wait_for(get, condition, timeout: float = JOB_TIMEOUT_S, every: float = 0.2, what: str = "", logs=None):
    deadline = time.monotonic() + timeout
    body = None
    while time.monotonic() < deadline:
        body = get()
        if condition(body):
            return body
        time.sleep(every)
    raise AssertionError(f"{what or 'condition'} not reached in {timeout:.0f} s: {body}\n{logs() if logs else ''}")


def submit(replica, pdf: bytes = DOC, name: str = "report.pdf") -> dict:
    response = HTTP.post(f"{replica.url}/jobs", files=[("files", (name, pdf))], data={"model": "embedded"})
    assert response.status_code == 202, response.text
    return response.json()


def status(replica, job_id: str) -> dict:
    response = HTTP.get(f"{replica.url}/jobs/{job_id}")
    assert response.status_code == 200, response.text
    return response.json()


def ended(cluster, replica, job_id: str, timeout: float = JOB_TIMEOUT_S) -> dict:
    return wait_for(
        lambda: status(replica, job_id),
        lambda body: body["state"] not in ("queued", "running"),
        timeout,
        what=f"job {job_id} ended",
        logs=cluster.logs,
    )


def result_pages(replica, job_id: str) -> list[tuple[int, str, str | None]]:
    response = HTTP.get(f"{replica.url}/jobs/{job_id}/result")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["successful"] == 1 and body["results"][0]["status"] == "success", body
    return [(p["page"], p["text"], p["error"]) for p in body["results"][0]["pages"]]


def page_rows(db, job_id: str) -> list[tuple[int, int, str | None, bool]]:
    """The job's rows in the pages table: (file, page, worker, written)."""
    query = sa.select(pages_table.c.idx, pages_table.c.page, pages_table.c.worker, pages_table.c.read.is_not(None))
    with db.connect() as connection:
        return [tuple(row) for row in connection.execute(query.where(pages_table.c.job == job_id).order_by("idx", "page"))]


def metric(replica, name: str) -> dict[str, float]:
    """One gauge of /metrics, by its label's value."""
    response = HTTP.get(f"{replica.url}/metrics")
    assert response.status_code == 200, response.text
    return {label: float(value) for label, value in re.findall(rf'^{name}{{\w+="([^"]*)"}} (\S+)$', response.text, re.M)}


def check_finished_as_undisturbed(cluster, db, replica, job_id: str, reference: dict) -> None:
    """The job ended done with every page, and its result is the undisturbed job's, page for page."""
    done = ended(cluster, replica, job_id)
    assert done["state"] == "done", f"{done}\n{cluster.logs()}"
    assert done["pages_done"] == done["pages_total"] == PAGES, done
    assert result_pages(replica, job_id) == reference["pages"]
    rows = page_rows(db, job_id)
    assert [(idx, page, written) for idx, page, _, written in rows] == [(0, n, True) for n in range(1, PAGES + 1)]
    assert {worker for *_, worker, _ in rows} <= set(cluster.workers), rows


@pytest.fixture(scope="module")
def db(cluster):
    engine = sa.create_engine(cluster.postgres.url, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def reference(cluster, db):
    """The job run undisturbed: submitted through replica A, polled and fetched through replica B."""
    started = time.monotonic()
    job = submit(cluster.a)
    done = ended(cluster, cluster.b, job["id"])
    pages = result_pages(cluster.b, job["id"]) if done["state"] == "done" else []
    return {"job": job, "done": done, "pages": pages, "rows": page_rows(db, job["id"]), "seconds": time.monotonic() - started}


def test_a_job_submitted_on_one_replica_is_polled_fetched_and_deleted_on_another(cluster, reference):
    job, done = reference["job"], reference["done"]
    assert job["state"] in ("queued", "running") and job["files"] == 1 and job["model"] == "embedded"
    assert done["state"] == "done" and done["pages_done"] == done["pages_total"] == PAGES, f"{done}\n{cluster.logs()}"
    assert [(page, error) for page, _, error in reference["pages"]] == [(n, None) for n in range(1, PAGES + 1)]
    for page, text, _ in reference["pages"]:
        assert f"page {page} of the annual report" in text.lower(), reference["pages"]
    assert status(cluster.a, job["id"]) == status(cluster.b, job["id"])  # any replica answers for it

    deleted = HTTP.delete(f"{cluster.b.url}/jobs/{job['id']}")
    assert deleted.status_code == 200 and deleted.json()["state"] == "done", deleted.text
    for url in (f"/jobs/{job['id']}", f"/jobs/{job['id']}/result"):
        gone = HTTP.get(cluster.a.url + url)
        assert gone.status_code == 404 and "No job" in gone.json()["detail"], gone.text
    assert HTTP.delete(f"{cluster.a.url}/jobs/{job['id']}").status_code == 404


def test_a_documents_pages_are_spread_over_both_workers_and_each_written_once(cluster, reference):
    rows = reference["rows"]  # as the undisturbed job left them (before the test above deleted it)
    assert [(idx, page, written) for idx, page, _, written in rows] == [(0, n, True) for n in range(1, PAGES + 1)]
    by_worker = {name: sum(1 for *_, worker, _ in rows if worker == name) for name in cluster.workers}
    assert sum(by_worker.values()) == PAGES, rows  # every page written by one of the two, once (its row's key)
    assert all(count >= 1 for count in by_worker.values()), f"one worker read every page: {by_worker}"


def test_a_short_job_is_not_held_behind_a_long_one(cluster, reference):
    # The queue holds at most a window of a key's pages: a later short job's pages go ahead of the long one's
    # that were not sent yet (first in, first out would put them behind all 30).
    long_job = submit(cluster.b, scanned(30), "long.pdf")
    wait_for(lambda: status(cluster.b, long_job["id"]), lambda body: body["state"] == "running", what="long job opened")
    short = submit(cluster.b, scanned(2), "short.pdf")
    done = ended(cluster, cluster.b, short["id"])
    long_then = status(cluster.b, long_job["id"])
    assert done["state"] == "done" and done["pages_done"] == 2
    assert long_then["state"] == "running" and long_then["pages_done"] < 30, long_then
    finished = ended(cluster, cluster.b, long_job["id"], timeout=180)
    assert finished["state"] == "done" and finished["pages_done"] == 30


def test_an_api_replica_killed_right_after_its_202_loses_nothing(cluster, db, reference):
    job = submit(cluster.a)
    port = cluster.a.port
    cluster.a.kill()
    try:
        with pytest.raises(httpx.ConnectError):
            HTTP.get(f"{cluster.a.base}/health")  # it is gone
        assert HTTP.get(f"{cluster.b.url}/jobs/{job['id']}").status_code == 200
        check_finished_as_undisturbed(cluster, db, cluster.b, job["id"], reference)
    finally:
        cluster.a.launch()  # on the same port; the next test that uses it waits for it (a cold start: 20-40 s)
    assert cluster.a.port == port and cluster.a.running


def test_a_worker_killed_mid_job_loses_nothing(cluster, db, reference):
    victim = cluster.workers["w1"]
    job = submit(cluster.b)  # replica A may still be starting again (the test above)
    wait_for(
        lambda: page_rows(db, job["id"]),
        lambda rows: any(worker == victim.name for *_, worker, _ in rows),
        60,
        0.05,
        "w1 read a page of the job",
        cluster.logs,
    )
    victim.kill()
    try:
        at_kill = status(cluster.b, job["id"])
        assert at_kill["state"] == "running" and at_kill["pages_done"] < PAGES, at_kill  # killed mid-job
        victim.launch()  # the same worker again: it may take part in the rest, or not
        check_finished_as_undisturbed(cluster, db, cluster.b, job["id"], reference)
    finally:
        if not victim.running:
            victim.launch()
        victim.wait_ready()


def test_redis_killed_mid_job_and_started_again_loses_nothing(cluster, db, reference):
    job = submit(cluster.a)
    wait_for(lambda: status(cluster.b, job["id"]), lambda body: body["pages_done"] >= 2, 60, 0.05, "2 pages read")
    cluster.redis.kill()
    try:
        assert status(cluster.b, job["id"])["pages_done"] < PAGES  # the job is in PostgreSQL, Redis is down
        ready = HTTP.get(f"{cluster.b.url}/ready")
        assert ready.status_code == 503, ready.text
        assert ready.json()["detail"] == "Not ready: the broker (Redis) does not answer.", ready.text
        time.sleep(0.5)  # the workers see the broker gone
    finally:
        cluster.redis.start()  # the same port and append-only file
    check_finished_as_undisturbed(cluster, db, cluster.b, job["id"], reference)
    assert status(cluster.a, job["id"]) == status(cluster.b, job["id"])  # A, killed and started again, answers
    for replica in (cluster.a, cluster.b):
        ready = wait_for(lambda r=replica: HTTP.get(f"{r.url}/ready"), lambda response: response.status_code == 200, 30)
        assert ready.json()["ready"] is True


def test_postgres_killed_mid_job_makes_replicas_unready_then_the_job_completes(cluster, db, reference):
    job = submit(cluster.a)
    wait_for(lambda: status(cluster.b, job["id"]), lambda body: body["pages_done"] >= 2, 60, 0.05, "2 pages read")
    cluster.postgres.kill()
    try:
        ready = HTTP.get(f"{cluster.a.url}/ready")
        assert ready.status_code == 503 and ready.json()["ready"] is False, ready.text
        assert ready.json()["detail"] == "Not ready: the jobs database does not answer.", ready.text
        polled = HTTP.get(f"{cluster.b.url}/jobs/{job['id']}")
        assert polled.status_code == 503, polled.text
        assert polled.json() == {"detail": "The jobs database does not answer; try again shortly."}, polled.text
        assert "Traceback" not in polled.text and "psycopg" not in polled.text
        refused = HTTP.post(f"{cluster.a.url}/jobs", files=[("files", ("late.pdf", DOC))])
        assert refused.status_code == 503 and "database does not answer" in refused.json()["detail"], refused.text
    finally:
        cluster.postgres.start()  # the same port and folder
    check_finished_as_undisturbed(cluster, db, cluster.b, job["id"], reference)
    assert HTTP.get(f"{cluster.a.url}/ready").status_code == 200


def test_a_cancel_on_one_replica_stops_the_job_on_every_worker(cluster, db, reference):
    long = submit(cluster.a, scanned(40), "long.pdf")
    wait_for(lambda: status(cluster.b, long["id"]), lambda body: body["pages_done"] >= 1, 60, 0.05, "a page read")
    queued = metric(cluster.b, "chatvlm_jobs_queue_depth")["embedded"]
    assert queued >= 1, queued  # some of its pages wait in the model's queue (a window of its key's: see the short-job test)

    cancelled = HTTP.delete(f"{cluster.b.url}/jobs/{long['id']}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled" and cancelled.json()["pages_done"] < 40, cancelled.text
    assert HTTP.get(f"{cluster.a.url}/jobs/{long['id']}").status_code == 404
    # the workers drop its queued pages as they take them (no page read), so the queue empties within seconds
    wait_for(lambda: metric(cluster.a, "chatvlm_jobs_queue_depth")["embedded"], lambda depth: depth == 0, 10, 0.2, "queue empty")
    assert page_rows(db, long["id"]) == []  # nothing of it is written, nothing comes back

    after = submit(cluster.b)  # the workers serve the next job as before
    check_finished_as_undisturbed(cluster, db, cluster.a, after["id"], reference)
    assert page_rows(db, long["id"]) == []


def test_metrics_show_the_queue_depth_and_the_pages_each_worker_read(cluster, db):
    job = submit(cluster.a, scanned(2), "short.pdf")  # pages kept in the store, whatever ran before
    assert ended(cluster, cluster.b, job["id"])["state"] == "done"
    depth = metric(cluster.a, "chatvlm_jobs_queue_depth")
    assert depth.get("embedded") == 0.0, depth  # nothing waits now
    read = metric(cluster.b, "chatvlm_jobs_pages_read")
    worker = pages_table.c.worker
    query = sa.select(worker, sa.func.count()).where(worker.is_not(None)).group_by(worker)
    with db.connect() as connection:
        counted = {worker: float(n) for worker, n in connection.execute(query)}
    assert read == counted and sum(counted.values()) >= 2 and set(read) <= set(cluster.workers), (read, counted)
    assert metric(cluster.a, "chatvlm_jobs_pages_read") == read  # the same on every replica


# ---- issue 20: live events and signed callbacks, across replicas and workers ---------------------------------------
def sse(lines, pause: float = 0.0):
    """(event, data, id) of each server-sent event, read ``pause`` seconds apart (a slow client)."""
    fields: dict[str, str] = {}
    for line in lines:
        if line == "" and "event" in fields:
            yield fields["event"], json.loads(fields["data"]), int(fields["id"]) if "id" in fields else None
            time.sleep(pause)
        if line == "":
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value


def test_live_events_stream_from_any_replica_and_a_worker_sends_the_signed_callback(cluster):
    calls = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            calls.append((self.headers["X-ChatVLM-Signature"], self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        response = HTTP.post(f"{cluster.a.url}/jobs", files=[("files", ("report.pdf", DOC))], data={"callback_url": hook})
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        url = f"/jobs/{job_id}/events"
        with HTTP.stream("GET", cluster.b.url + url, timeout=JOB_TIMEOUT_S) as stream:  # submitted on A, followed on B
            assert stream.status_code == 200
            seen = list(sse(stream.iter_lines(), pause=0.1))
        assert seen[0][0] == "state" and seen[-1][0] == "end" and seen[-1][1]["state"] == "done", f"{seen}\n{cluster.logs()}"
        pages = [(data, event_id) for event, data, event_id in seen if event == "page"]
        assert sorted(data["page"] for data, _ in pages) == list(range(1, PAGES + 1))  # each page once
        assert [event_id for _, event_id in pages] == [data["pages_done"] for data, _ in pages] == list(range(1, PAGES + 1))
        for data, _ in pages:
            assert f"page {data['page']} of the annual report" in data["text"].lower(), data
        with HTTP.stream("GET", cluster.a.url + url, headers={"Last-Event-ID": str(PAGES - 2)}) as late:
            assert [event_id for _, _, event_id in sse(late.iter_lines())] == [PAGES - 1, PAGES, None]

        done = wait_for(lambda: status(cluster.b, job_id), lambda b: b["callback"]["delivered"], 30, logs=cluster.logs)
        assert done["callback"]["attempts"] == 1 and done["callback"]["last_status"] == 204
        [(signature, body)] = calls  # sent once, by one of the workers
        parts = dict(item.split("=", 1) for item in signature.split(","))
        expected = hmac.new(CALLBACK_SECRET.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, parts["v1"])
        assert json.loads(body) == {
            "id": job_id,
            "state": "done",
            "pages_done": PAGES,
            "pages_total": PAGES,
            "result_url": f"/jobs/{job_id}/result",
        }
    finally:
        receiver.shutdown()
        receiver.server_close()
