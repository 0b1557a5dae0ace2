"""A finished job's result is built whole each time it is read (from the store: ~7 MB of memory and ~0.3 s of CPU
a dense page, more through the REST serialization), and reads are no work the rate limit counts: six GETs at once of
one 20-page job's result (PDF pages whose text layer holds 3,500 short lines each: read in 12 s) held 917 MB more and
kept both cores busy 31 s (an attack pass; a client may hold 256 connections, so ~40 such GETs needed ~6 GB). Now a
key has two results written at once (one more: 429 with Retry-After), the server eight (inference/service_jobs.py),
and a result is written out a few pages at a time (inference/result_stream.py): built whole, one GET of a 2,000-page
job's needed ~20 GB. Its answer holds its place until it ends, however it ends (api/result_response.py): answers taken a
few bytes each and not read held every place for good (every other caller 503), dropped ones until a full garbage
collection; one read too slowly is stopped, and one whose job is deleted meanwhile ends with a warning line, not a
12 KB traceback."""

from __future__ import annotations

import gc
import json
import socket
import threading
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import pytest
from gradio_client import Client

from api import result_response
from tests.helpers import text_pdf
from tests.polling import wait_until
from tests.security.conftest import KEYS, OTHER, USER, live
from tests.security.log_capture import logged

PAGES, LINES = 8, 3500


@pytest.fixture(scope="module")
def keyed(settings):
    with live(settings, auth={"api_keys": KEYS}) as (client, _):
        yield client


def dense_job(client, key: str, pages: int = PAGES, count: int = LINES) -> str:
    """A job of ``pages`` pages whose text layers are read at once, each answering ``count`` lines with their boxes."""
    lines = [f"w{i:05d} x{i % 97}" for i in range(count)]
    pdf = text_pdf([lines] * pages, font_size=0.2)
    sent = client.post("/jobs", files={"files": ("dense.pdf", pdf, "application/pdf")}, headers={"X-API-Key": key})
    assert sent.status_code == 202, sent.text
    job_id = sent.json()["id"]
    assert wait_until(lambda: client.get(f"/jobs/{job_id}", headers={"X-API-Key": key}).json()["state"] == "done", 120, 0.2)
    return job_id


def test_a_key_has_few_results_built_at_once(keyed):
    job_id = dense_job(keyed, USER)
    answers: list = []

    def read() -> None:
        answers.append(keyed.get(f"/jobs/{job_id}/result", headers={"X-API-Key": USER}))

    readers = [threading.Thread(target=read) for _ in range(6)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(120)
    codes = sorted(answer.status_code for answer in answers)
    assert 429 in codes and 200 in codes, codes  # (six at once: six 200s, each built whole)
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.headers["Retry-After"] and "job results" in refused.json()["detail"]
    assert len({answer.content for answer in answers if answer.status_code == 200}) == 1
    time.sleep(0.1)
    assert keyed.get(f"/jobs/{job_id}/result", headers={"X-API-Key": USER}).status_code == 200  # (the places came back)


def test_another_key_is_not_held_by_them(keyed):
    job_id = dense_job(keyed, OTHER, pages=2)
    assert keyed.get(f"/jobs/{job_id}/result", headers={"X-API-Key": OTHER}).status_code == 200


@pytest.fixture(scope="module")
def long_job(keyed) -> str:
    """A job of 24 dense pages: 7.5 MB of JSON. Built whole, its result took 92 MB at its peak through REST (now ~10 MB)
    and 256 MB through the Batch tab (its table, its downloads: now ~20 MB)."""
    return dense_job(keyed, USER, pages=24, count=1200)


@contextmanager
def traced_peak():
    """Yields a list whose one item is, after the block, the peak of Python's memory in MB over what it held before."""
    peak = [0.0]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        yield peak
        peak[0] = (tracemalloc.get_traced_memory()[1] - before) / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.slow  # (~25 s: a job of 24 dense pages, its result read twice under tracemalloc)
def test_a_long_result_is_written_out_a_few_pages_at_a_time(keyed, long_job):
    with traced_peak() as peak, keyed.stream("GET", f"/jobs/{long_job}/result", headers={"X-API-Key": USER}) as answer:
        size = sum(len(chunk) for chunk in answer.iter_bytes())
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json" and size > 7e6
    assert peak[0] < 30, f"writing out a 24-page result took {peak[0]:.0f} MB at its peak"


@pytest.mark.slow
def test_the_batch_tab_follows_a_long_job_without_holding_its_result(keyed, long_job):
    # (the Gradio API's /follow_job, as the tab's Follow: its table and downloads, the JSON one the whole result)
    client = Client(str(keyed.base_url), headers={"X-API-Key": USER}, verbose=False)
    with traced_peak() as peak:
        rows, _, downloads = client.predict(long_job, api_name="/follow_job")
    assert [row[1] for row in rows["data"]] == ["success"] and len(downloads) == 3
    saved = json.loads(Path(next(path for path in downloads if path.endswith(".json"))).read_text(encoding="utf-8"))
    assert len(saved["results"][0]["pages"]) == 24 and all(len(page["lines"]) == 1200 for page in saved["results"][0]["pages"])
    assert peak[0] < 60, f"following a 24-page job took {peak[0]:.0f} MB at its peak"


def stalled(client, job_id: str) -> socket.socket:
    """A GET of the job's result whose client takes its first bytes, then reads no more (a small receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((client.base_url.host, client.base_url.port))
    host = client.base_url.netloc.decode()
    sock.sendall(f"GET /jobs/{job_id}/result HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {USER}\r\n\r\n".encode())
    assert sock.recv(15) == b"HTTP/1.1 200 OK"
    return sock


def result_code(client, job_id: str) -> int:
    return client.get(f"/jobs/{job_id}/result", headers={"X-API-Key": USER}).status_code


@contextmanager
def no_collection():
    """No full garbage collection meanwhile (as on a quiet server): what comes back must come back by itself."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.slow
def test_answers_dropped_unread_give_their_places_back_at_once(keyed, long_job):
    with no_collection():
        socks = [stalled(keyed, long_job) for _ in range(2)]
        assert result_code(keyed, long_job) == 429  # (the key's two places are taken)
        time.sleep(3)  # (their answers wait on their clients)
        for sock in socks:
            sock.close()
        assert wait_until(lambda: result_code(keyed, long_job) == 200, 10, 0.2)  # (before: 429 until a collection)


@pytest.mark.slow
def test_an_answer_read_too_slowly_is_stopped(keyed, long_job, monkeypatch):
    monkeypatch.setattr(result_response, "GRACE_S", 1.0)
    monkeypatch.setattr(result_response, "MIN_RATE", 10 * 2**20)  # (what the sockets' buffers took counts at this rate)
    socks = [stalled(keyed, long_job) for _ in range(2)]
    try:
        with logged() as records:
            assert wait_until(lambda: result_code(keyed, long_job) == 200, 15, 0.5)  # (before: 429 for as long as they sat)
        assert not any(record.exc_info for record in records)
        assert any("reading too slowly" in record.getMessage() for record in records)
    finally:
        for sock in socks:
            sock.close()


@pytest.mark.slow  # (the last of this module's to use long_job: it deletes it)
def test_a_result_deleted_while_it_is_sent_ends_without_a_traceback(keyed, long_job):
    sock = stalled(keyed, long_job)
    with logged() as records:
        assert keyed.delete(f"/jobs/{long_job}", headers={"X-API-Key": USER}).status_code == 200
        sock.settimeout(20)
        while sock.recv(2**16):  # (the rest of what was sent, then the connection closed)
            pass
        sock.close()
    assert not any(record.exc_info for record in records), [record.getMessage() for record in records]
    assert any("deleted while it was being sent" in record.getMessage() for record in records)
