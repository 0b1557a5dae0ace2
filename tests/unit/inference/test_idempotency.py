"""Idempotency-Keys in the jobs' store, on both of its databases (SQLite for one process, PostgreSQL for many): of
many requests that reserve one caller's key at once (through separate stores, as replicas do) one gets it; the
others wait for its job and get it when their request is the same; a request that made no job frees the key; keys
expire after a day, and a reservation left by a dead server after STALE_S."""

from __future__ import annotations

import io
import threading
import time
import uuid

import pytest

from inference.errors import BadInput
from inference.idempotency import KEY_TTL_S, STALE_S, Idempotency, KeyConflict, body_hash, check_key
from inference.job_store import JobStore, database_url
from inference.job_store_keys import RECEIVING, SUBMITTED
from inference.results import JobStatus


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    return database_url(tmp_path) if request.param == "sqlite" else request.getfixturevalue("postgres_service").url


@pytest.fixture
def stores(url):
    """Two stores on one database: two replicas."""
    opened = [JobStore(url), JobStore(url)]
    yield opened
    for store in opened:
        store.close()


def job(job_id: str | None = None) -> JobStatus:
    made = time.time()
    return JobStatus(id=job_id or uuid.uuid4().hex, state="queued", model="embedded", files=1, pages_done=0, created_at=made)


def test_one_of_many_concurrent_requests_reserves_a_key_and_the_others_get_its_job(stores):
    caller, key = "key-abc", f"k-{uuid.uuid4().hex}"
    made: list[JobStatus] = []
    answers: list[tuple[str, bool]] = []
    start = threading.Barrier(6)

    def request(store: JobStore) -> None:
        keys = Idempotency(store, wait_s=30)
        start.wait(10)

        def submit() -> JobStatus:
            made.append(job())
            time.sleep(0.2)  # the job takes a moment to make: the others find the key reserved
            return made[-1]

        status, new = keys.submit(caller, key, None, "hash-1", submit, lambda job_id: job(job_id))
        answers.append((status.id, new))

    threads = [threading.Thread(target=request, args=(stores[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(made) == 1 and len(answers) == 6
    assert {job_id for job_id, _ in answers} == {made[0].id} and sum(new for _, new in answers) == 1
    record = stores[1].key_record(caller, key)
    assert record.state == SUBMITTED and record.job == made[0].id and record.body_hash == "hash-1"
    with pytest.raises(KeyConflict, match="another request"):
        Idempotency(stores[0], 5).submit(caller, key, None, "hash-2", job, job)
    other, new = Idempotency(stores[0], 5).submit("key-other", key, None, "hash-2", job, job)  # another caller's
    assert new and other.id != made[0].id


def test_a_request_that_made_no_job_frees_its_key_and_one_that_did_keeps_it(stores):
    store, keys = stores[0], Idempotency(stores[0], 5)
    caller, key = "address 10.0.0.1", f"k-{uuid.uuid4().hex}"

    def refused() -> JobStatus:
        raise BadInput("'a.png' is empty (0 bytes).")

    with pytest.raises(BadInput):
        keys.submit(caller, key, None, "h", refused, job)
    assert store.key_record(caller, key) is None
    token = keys.reserve(caller, key)
    assert token and keys.reserve(caller, key) is None  # held: a second reservation fails
    assert store.key_record(caller, key).state == RECEIVING
    first = job()
    assert keys.submit(caller, key, token, "h", lambda: first, job) == (first, True)
    keys.release(caller, key, token)  # after its job: a no-op
    assert store.key_record(caller, key).job == first.id
    waited = Idempotency(stores[1], 0.3)
    second = waited.reserve(caller, f"{key}-2")
    with pytest.raises(KeyConflict, match="still being received"):  # its first request never finishes: bounded
        waited.submit(caller, f"{key}-2", None, "h", job, job)
    assert second is not None


def test_keys_expire_after_a_day_and_abandoned_reservations_after_stale_s(stores):
    store = stores[0]
    caller = f"key-{uuid.uuid4().hex[:6]}"
    assert store.reserve_key(caller, "old", "t1", 0, 0)
    assert store.complete_key(caller, "old", "t1", "h", "job-1")
    assert store.reserve_key(caller, "dead", "t2", 0, 0)
    now = time.time()
    assert not store.reserve_key(caller, "old", "t3", now - KEY_TTL_S, now - STALE_S)  # both still kept
    assert not store.reserve_key(caller, "dead", "t3", now - KEY_TTL_S, now - STALE_S)
    later = now + STALE_S + 1  # as if STALE_S passed: the receiving one is abandoned, the submitted one kept
    assert store.reserve_key(caller, "dead", "t4", later - KEY_TTL_S, later - STALE_S)
    assert not store.reserve_key(caller, "old", "t4", later - KEY_TTL_S, later - STALE_S)
    assert not store.complete_key(caller, "dead", "t2", "h", "job-2")  # the dead request's token no longer holds it
    much_later = now + KEY_TTL_S + 1
    assert store.reserve_key(caller, "old", "t5", much_later - KEY_TTL_S, much_later - STALE_S)


def test_the_header_is_checked_and_the_hash_covers_files_names_and_parameters():
    assert check_key("3f1c9a2e-5b7d") == "3f1c9a2e-5b7d"
    for bad in ("", "   ", "a" * 201, "caf\u00e9", "tab\there", "nul\x00"):
        with pytest.raises(BadInput):
            check_key(bad)
    base = body_hash([("a.png", io.BytesIO(b"png"))], {"model": None, "priority": "normal"})
    stream = io.BytesIO(b"png")
    assert body_hash([("a.png", stream)], {"priority": "normal", "model": None}) == base and stream.tell() == 0
    for changed in (
        body_hash([("b.png", io.BytesIO(b"png"))], {"model": None, "priority": "normal"}),
        body_hash([("a.png", io.BytesIO(b"pnG"))], {"model": None, "priority": "normal"}),
        body_hash([("a.png", io.BytesIO(b"png"))], {"model": None, "priority": "low"}),
        body_hash([("a.png", io.BytesIO(b"png")), ("a.png", io.BytesIO(b""))], {"model": None, "priority": "normal"}),
    ):
        assert changed != base
