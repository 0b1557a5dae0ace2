"""The jobs' store on both of its databases (SQLite for one process, PostgreSQL for many): an opening and a page
are written once however often they are delivered, the count is exact, and the last page ends the job."""

from __future__ import annotations

import json
import threading
import uuid

from inference.job_store import DONE, QUEUED, RUNNING, JobStore, Opened
from tests.unit.inference.conftest import page_read as read


def a_job(store: JobStore, uploads=(("a.pdf", b"%PDF-a"), ("b.png", b"png"))) -> str:
    job_id = uuid.uuid4().hex
    store.add(job_id, "alice", "embedded", None, None, False, list(uploads))
    return job_id


def test_an_opening_is_written_once(store):
    job_id = a_job(store)
    assert store.job(job_id).state == QUEUED and store.file_data(job_id, 0) == b"%PDF-a"
    found = [
        Opened("a.pdf", True, [1, 2, 3], 0.1, None, [read(0, 2, "text layer")]),
        Opened("b.png", False, [], 0.0, "'b.png' is not an image", []),
    ]
    assert store.opened(job_id, found) == [(0, 1), (0, 3)]
    assert store.opened(job_id, found) is None  # delivered again: nothing changes
    job = store.job(job_id)
    assert (job.state, job.pages_total, job.pages_done) == (RUNNING, 4, 2)  # 3 pages + the bad file; page 2 + bad file
    assert store.pending(job_id) == [(0, 1), (0, 3)]
    assert [info.error is not None for _, info in store.files(job_id)] == [False, True]


def test_each_page_counts_once_and_the_last_ends_the_job(store):
    job_id = a_job(store, [("a.pdf", b"%PDF")])
    store.opened(job_id, [Opened("a.pdf", True, [1, 2], 0.1, None, [])])
    first = store.save_read(job_id, read(0, 1, "one"), "w1")
    assert first is not None and first.pages_done == 1 and first.state == RUNNING
    assert store.save_read(job_id, read(0, 1, "again"), "w2") is None  # a second delivery writes nothing
    assert store.is_pending(job_id, 0, 2) and not store.is_pending(job_id, 0, 1)
    last = store.save_read(job_id, read(0, 2, "two"), "w2")
    assert last.state == DONE and last.pages_done == 2 and last.ended is not None
    assert sorted(store.read_keys(job_id)) == [(0, 1), (0, 2)]
    stored = store.raw_reads(job_id, 0, [2, 1, 7])  # (a page not read: missing)
    assert {page: json.loads(raw)["text"] for page, raw in stored.items()} == {1: "one", 2: "two"}
    assert store.file_data(job_id, 0) is None  # the upload goes when the job ends
    assert store.pages_per_worker().get("w1", 0) >= 1


def test_pages_written_at_once_by_many_threads_end_the_job_exactly_once(store):
    pages = list(range(1, 41))
    job_id = a_job(store, [("a.pdf", b"%PDF")])
    store.opened(job_id, [Opened("a.pdf", True, pages, 0.1, None, [])])
    ended, counted = [], []
    barrier = threading.Barrier(8)

    def write(mine):
        barrier.wait()
        for page in mine:
            for _ in range(2):  # each page delivered twice
                after = store.save_read(job_id, read(0, page), threading.current_thread().name)
                if after is not None:
                    counted.append(page)
                    if after.state == DONE:
                        ended.append(page)

    threads = [threading.Thread(target=write, args=(pages[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    job = store.job(job_id)
    assert sorted(counted) == pages and len(ended) == 1
    assert (job.state, job.pages_done) == (DONE, 40)


def test_a_cancelled_job_takes_no_more_pages(store):
    job_id = a_job(store, [("a.pdf", b"%PDF")])
    store.opened(job_id, [Opened("a.pdf", True, [1, 2], 0.1, None, [])])
    assert store.cancel(job_id) and not store.cancel(job_id)
    assert store.save_read(job_id, read(0, 1), "w1") is None and not store.is_pending(job_id, 0, 2)
    store.delete(job_id)
    assert (
        store.job(job_id) is None
        and store.read_keys(job_id) == []
        and store.raw_reads(job_id, 0, [1]) == {}
        and store.file_data(job_id, 0) is None
    )


def opened_job(store: JobStore, payer: str, pages: int, priority: int = 1) -> str:
    job_id = uuid.uuid4().hex
    store.add(job_id, None, "embedded", None, None, False, [("a.pdf", b"%PDF")], priority, payer)
    store.opened(job_id, [Opened("a.pdf", True, list(range(1, pages + 1)), 0.1, None, [])])
    return job_id


def test_a_keys_window_sends_its_high_priority_job_first_then_its_jobs_in_turns(store):
    key = f"address {uuid.uuid4().hex[:8]}"
    normal = opened_job(store, key, 5)
    high = opened_job(store, key, 2, priority=2)
    first = store.claim_window(key, 3)
    assert [(job, page) for job, _, _, page in first] == [(high, 1), (high, 2), (normal, 1)]
    assert store.claim_window(key, 3) == []  # three sent and not read: the window is full
    later = opened_job(store, key, 2)  # a later job of the same key goes before the earlier one's next pages
    store.save_read(high, read(0, 1), "w1")
    assert [(job, page) for job, _, _, page in store.claim_window(key, 3)] == [(later, 1)]
    other = opened_job(store, f"address {uuid.uuid4().hex[:8]}", 2)  # another key has its own window
    assert len(store.claim_window(store.key_of(other), 3)) == 2
    store.unsend(normal)  # its units were lost: they wait their turn again
    assert (normal, 1) in [(job, page) for job, _, _, page in store.claim_window(key, 4)]
