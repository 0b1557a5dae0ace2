"""Requests waiting for their Idempotency-Key's first request (still being uploaded) cost next to nothing (an attack
pass): each looked at the key ten times a second by reserving it (two write transactions and a read), so 240 of them
took a core for the 300 s a trickling first upload held the key, uncharged. Now a wait only reads, ever less often,
and a caller's requests past MAX_WAITING waiting at once are answered 409 at once. A real server, keys on."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from api.routes.jobs import MAX_WAITING
from api.security import fingerprint
from tests.helpers import encode, render_lines
from tests.security.conftest import KEYS, USER, live

PNG = encode(render_lines(["Waiting 12"]))


@pytest.fixture(scope="module")
def server(settings, tmp_path_factory):
    data = {"data_dir": str(tmp_path_factory.mktemp("waiters-data"))}
    with live(settings, auth={"api_keys": KEYS}, server=data) as (client, service):
        yield client, service


def test_requests_waiting_on_a_key_write_nothing_and_are_few(server):
    client, service = server
    body = httpx.Request("POST", "http://x/jobs", files=[("files", ("slow.png", PNG + b"\0" * 200_000))])
    content, content_type = body.read(), body.headers["Content-Type"]
    heads = {"Authorization": f"Bearer {USER}", "Idempotency-Key": "held-1", "Content-Type": content_type}
    go_on, answers = threading.Event(), {}

    def slow_upload():
        yield content[:1000]
        assert go_on.wait(60), "the test did not let the upload go on"
        yield content[1000:]

    def send(name, data):
        answers[name] = client.post("/jobs", content=data, headers=heads, timeout=90)

    store = service.jobs.store
    reserve, reserved = store.reserve_key, []

    def counted(*args, **kwargs):  # (counts the reservations on their way to the real store)
        reserved.append(args)
        return reserve(*args, **kwargs)

    first = threading.Thread(target=send, args=("first", slow_upload()))
    first.start()
    deadline = time.monotonic() + 30
    while store.key_record(fingerprint(USER), "held-1") is None:  # the first one holds the key
        assert time.monotonic() < deadline and first.is_alive(), answers
        time.sleep(0.05)
    store.reserve_key = counted
    try:
        waiters = [threading.Thread(target=send, args=(f"w{i}", content)) for i in range(MAX_WAITING + 3)]
        for waiter in waiters:
            waiter.start()
        deadline = time.monotonic() + 30
        while sum(a.status_code == 409 for a in answers.values()) < 3:  # the three past MAX_WAITING: answered now
            assert time.monotonic() < deadline, {k: a.status_code for k, a in answers.items()}
            time.sleep(0.05)
        time.sleep(1.5)  # (the others wait, looking at the key now and then)
        busy = [w for w in waiters if w.is_alive()]
        assert len(busy) == MAX_WAITING, {k: a.status_code for k, a in answers.items()}
        assert len(reserved) <= len(waiters), len(reserved)  # (before: ten reservations a second each, ~100)
    finally:
        store.reserve_key = reserve
    for name, answer in answers.items():
        assert answer.status_code == 409 and "still being received" in answer.json()["detail"], (name, answer.text)
    go_on.set()
    for thread in (first, *waiters):
        thread.join(90)
    assert answers["first"].status_code == 202, answers["first"].text
    job = answers["first"].json()["id"]
    same = [a for name, a in answers.items() if name != "first" and a.status_code == 200]
    assert len(same) == MAX_WAITING and all(a.json()["id"] == job for a in same)
