"""A job's result streamed to a client that does not read it (an attack pass): each GET /jobs/{id}/result holds one of
the few places of results written at once (a key's two, the server's eight) until its answer ends. A client that took
an answer's first bytes and read no more held its place for good (eight such answers from four client addresses: every
other caller 503 for as long as they liked), and one that then dropped them held them until the next full garbage
collection (minutes on a quiet server). A job deleted while its result was sent logged a 12 KB traceback. Now the
place comes back as the answer ends, however it ends (api/result_response.py), an answer its client takes slower than
MIN_RATE (after GRACE_S) is stopped, and a result gone meanwhile ends its answer with one warning line."""

from __future__ import annotations

import gc
import socket
import time
from contextlib import contextmanager

import pytest

from api import result_response
from tests.polling import wait_until
from tests.security.conftest import KEYS, USER, live
from tests.security.log_capture import logged
from tests.security.test_job_results import dense_job

pytestmark = pytest.mark.slow  # (a job of 24 dense pages: ~9 MB of result, more than the sockets' buffers hold)


@pytest.fixture(scope="module")
def keyed(settings):
    with live(settings, auth={"api_keys": KEYS}) as (client, _):
        yield client


@pytest.fixture(scope="module")
def long_job(keyed) -> str:
    return dense_job(keyed, USER, pages=24, count=1200)


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


def test_answers_dropped_unread_give_their_places_back_at_once(keyed, long_job):
    with no_collection():
        socks = [stalled(keyed, long_job) for _ in range(2)]
        assert result_code(keyed, long_job) == 429  # (the key's two places are taken)
        time.sleep(3)  # (their answers wait on their clients)
        for sock in socks:
            sock.close()
        assert wait_until(lambda: result_code(keyed, long_job) == 200, 10, 0.2)  # (before: 429 until a collection)


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
