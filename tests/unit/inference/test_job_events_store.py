"""What live events and webhooks keep in the jobs' store, on both of its databases: each page written gets the
job's pages_done as its event id in the transaction that writes it; a job that ends with a callback URL is due for
its callback in the transaction that ends it; two deliverers (two workers) never send one attempt twice; and a
database made before these columns existed gets them at start."""

from __future__ import annotations

import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import MetaData, Table, create_engine, inspect, text

from inference.callbacks import Deliverer
from inference.job_events import pages_after
from inference.job_store import DONE, FAILED, JobStore, Opened, database_url
from inference.job_tables import metadata
from inference.settings import JobSettings
from tests.unit.inference.conftest import page_read as read


def a_job(store: JobStore, callback_url: str | None = None) -> str:
    job_id = uuid.uuid4().hex
    store.add(job_id, "alice", "embedded", None, None, False, [("a.pdf", b"%PDF"), ("b.png", b"png")], callback_url=callback_url)
    return job_id


def test_each_page_written_gets_the_jobs_pages_done_as_its_event_id(store):
    job_id = a_job(store)
    found = [
        Opened("a.pdf", True, [1, 2, 3, 4], 0.1, None, [read(0, 2, "layer two"), read(0, 4, "layer four")]),
        Opened("b.png", False, [], 0.0, "'b.png' is not an image", []),  # counts as one page done, has no event
    ]
    assert store.opened(job_id, found) == [(0, 1), (0, 3)]
    at_open = pages_after(store, job_id, 0, 100)
    assert [(r.seq, r.page, r.text) for r in at_open] == [(2, 2, "layer two"), (3, 4, "layer four")]
    assert store.job(job_id).pages_done == 3  # the last event's id
    for page in (3, 1):
        after = store.save_read(job_id, read(0, page, f"page {page}"), "w1")
        assert pages_after(store, job_id, after.pages_done - 1, 100)[0].seq == after.pages_done
    assert store.save_read(job_id, read(0, 1, "again"), "w2") is None  # a second delivery: no new event
    assert [(r.seq, r.page) for r in pages_after(store, job_id, 3, 100)] == [(4, 3), (5, 1)]
    assert [r.seq for r in pages_after(store, job_id, 0, 2)] == [2, 3]  # a page of events at a time
    assert store.job(job_id).state == DONE and pages_after(store, job_id, 5, 100) == []


def test_a_job_ending_with_a_callback_url_is_due_in_the_same_transaction(store):
    hooked, plain, failing = a_job(store, "https://example.com/hook"), a_job(store), a_job(store, "https://example.com/h")
    for job_id in (hooked, plain):
        store.opened(job_id, [Opened("a.pdf", False, [1], 0.1, None, [])])
        assert store.job(job_id).callback_due is None  # running: nothing due yet
        store.save_read(job_id, read(0, 1), "w1")
    done = store.job(hooked)
    assert done.state == DONE and done.callback_due == done.ended and done.callback_attempts == 0
    assert store.job(plain).callback_due is None  # no URL, nothing due
    assert store.fail(failing, "the model left")
    failed = store.job(failing)
    assert failed.state == FAILED and failed.callback_due == failed.ended


class Counting(BaseHTTPRequestHandler):
    calls: list[bytes] = []

    def do_POST(self):  # noqa: N802
        self.calls.append(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(0.2)  # a slow receiver: the other deliverer looks while this attempt is in flight
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_two_deliverers_send_each_attempt_once(store):
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    settings = JobSettings(callback_secret="s" * 16, callback_allow_private=True)
    try:
        Counting.calls.clear()
        with store.engine.begin() as db:  # the other tests' callbacks (the PostgreSQL database is shared) are not due
            db.execute(text("UPDATE jobs SET callback_due = NULL"))
        job_id = a_job(store, f"http://127.0.0.1:{receiver.server_address[1]}/hook")
        store.opened(job_id, [Opened("a.pdf", False, [1], 0.1, None, [read(0, 1)])])  # done at once
        deliverers = [Deliverer(store, settings), Deliverer(store, settings)]
        barrier = threading.Barrier(2)
        started = []

        def deliver(deliverer):
            barrier.wait()
            started.append(deliverer.deliver_due())

        threads = [threading.Thread(target=deliver, args=(d,)) for d in deliverers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert sorted(started) == [0, 1]  # one claimed it, the other found it claimed
        deadline = time.monotonic() + 10
        while store.job(job_id).callback_attempts != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        job = store.job(job_id)
        assert (job.callback_attempts, job.callback_last, job.callback_due) == (1, "204", None)
        assert sum(d.deliver_due() for d in deliverers) == 0 and len(Counting.calls) == 1  # delivered: never again
        for deliverer in deliverers:
            deliverer.stop()
    finally:
        receiver.shutdown()
        receiver.server_close()


NEW = ("seq", "callback_url", "callback_attempts", "callback_last", "callback_due", "priority", "payer", "pages_estimate")
NEW += ("result_bytes",)


def test_an_older_database_gets_the_new_columns_at_start(tmp_path):
    url = database_url(tmp_path)
    old = MetaData()  # the tables as an earlier version made them: the new columns missing
    for table in metadata.sorted_tables:
        kept = [c.copy() for c in table.columns if c.name not in NEW]
        Table(table.name, old, *kept)
    engine = create_engine(url)
    old.create_all(engine)
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO jobs (id, state, model, force_ocr, files, pages_done, created, touched) "
                "VALUES ('old', 'done', 'embedded', 0, 1, 1, 1.0, 1.0)"
            )
        )
        db.execute(text("INSERT INTO pages (job, idx, page, read) VALUES ('old', 0, 1, :read)"), {"read": "x" * 5000})
        db.execute(text("INSERT INTO pages (job, idx, page) VALUES ('old', 0, 2)"))  # (a page not read yet)
        db.execute(text("INSERT INTO files (job, idx, name) VALUES ('old', 0, 'a.pdf')"))
    engine.dispose()
    store = JobStore(url)
    try:
        columns = {c["name"] for c in inspect(store.engine).get_columns("jobs")}
        assert set(NEW) - {"seq"} <= columns
        assert "seq" in {c["name"] for c in inspect(store.engine).get_columns("pages")}
        old_job = store.job("old")  # an added column with a default gives it to the rows already there
        assert (old_job.priority, old_job.pages_estimate, old_job.callback_url) == (1, 0, None)
        assert old_job.result_bytes == 2048 + 5000 + 2 * 64 + 256 + 5  # (counted from the start: its rows, its page read)
        job_id = a_job(store, "https://example.com/hook")
        assert store.job(job_id).callback_url == "https://example.com/hook"
    finally:
        store.close()


def test_a_deliverer_without_a_secret_leaves_the_callbacks_to_one_that_has_it(store):
    """A replica set up without jobs.callback_secret, sharing the database, claims nothing: it could not sign the
    callback (its attempt failed, and the job's only attempt was spent)."""
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        Counting.calls.clear()
        with store.engine.begin() as db:
            db.execute(text("UPDATE jobs SET callback_due = NULL"))
        job_id = a_job(store, f"http://127.0.0.1:{receiver.server_address[1]}/hook")
        store.opened(job_id, [Opened("a.pdf", False, [1], 0.1, None, [read(0, 1)])])
        unsigned = Deliverer(store, JobSettings(callback_allow_private=True))
        assert unsigned.deliver_due() == 0 and store.job(job_id).callback_attempts == 0
        signed = Deliverer(store, JobSettings(callback_secret="s" * 16, callback_allow_private=True))
        assert signed.deliver_due() == 1
        deadline = time.monotonic() + 10
        while store.job(job_id).callback_attempts != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.job(job_id).callback_last == "204" and len(Counting.calls) == 1
        for deliverer in (unsigned, signed):
            deliverer.stop()
    finally:
        receiver.shutdown()
        receiver.server_close()
