"""Idempotent submits past one process (issue #20, point 4, with #19's distributed mode): two API replicas on one real
PostgreSQL and Redis. A job's first request, still being uploaded to replica A, holds its Idempotency-Key; the same
request sent to replica B meanwhile waits for it and answers the job A made (200), so there is one job; another API
key's same key on B makes its own."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from api.security import fingerprint
from inference.job_store import JobStore
from tests.security.conftest import KEYS, OTHER, USER
from tests.security.replicas import redis_db, replicas

from .test_idempotent_jobs import PNG, headers

DB = 10  # this module's Redis database (test_shared_limits has 9, test_sessions 8)


@pytest.fixture(scope="module")
def pair(settings, redis_service, postgres_service):
    with replicas(settings, redis_db(redis_service.url, DB), postgres_service.url, auth={"api_keys": KEYS}) as clients:
        yield clients


def test_the_same_key_on_another_replica_waits_for_the_first_upload_and_gets_its_job(pair, postgres_service):
    a, b = pair
    body = httpx.Request("POST", "http://x/jobs", files=[("files", ("slow.png", PNG + b"\0" * 200_000))])
    content, content_type = body.read(), body.headers["Content-Type"]
    go_on = threading.Event()

    def slow_upload():
        yield content[:1000]
        assert go_on.wait(60), "the test did not let the upload go on"
        yield content[1000:]

    answers: dict[str, httpx.Response] = {}

    def send(name: str, replica: httpx.Client, data, key: str = USER) -> None:
        answers[name] = replica.post(
            "/jobs", content=data, headers={**headers(key, "replicated-1"), "Content-Type": content_type}, timeout=90
        )

    store = JobStore(postgres_service.url)
    try:
        first = threading.Thread(target=send, args=("first", a, slow_upload()))
        first.start()
        deadline = time.monotonic() + 30
        while store.key_record(fingerprint(USER), "replicated-1") is None:  # A holds the key, its body not yet read
            assert time.monotonic() < deadline and first.is_alive(), answers
            time.sleep(0.05)
        same = threading.Thread(target=send, args=("same", b, content))
        same.start()
        send("other key", b, content, OTHER)  # not held up: another caller's key of the same name
        assert answers["other key"].status_code == 202, answers["other key"].text
        assert same.is_alive() and "same" not in answers  # B waits for A's request
        go_on.set()
        for thread in (first, same):
            thread.join(90)
        assert answers["first"].status_code == 202, answers["first"].text
        job = answers["first"].json()["id"]
        assert answers["same"].status_code == 200 and answers["same"].json()["id"] == job, answers["same"].text
        assert answers["other key"].json()["id"] != job
        assert store.key_record(fingerprint(USER), "replicated-1").job == job
        assert b.get(f"/jobs/{job}", headers=headers(USER, "x")).status_code == 200  # one store: B sees A's job
    finally:
        go_on.set()
        store.close()
