"""Idempotent submits (issue #20, point 4): POST /jobs with an ``Idempotency-Key`` makes one job per key and caller.
The same request again answers 200 with that job, another request with the key 409, even while the first is still
being uploaded; a first request that made no job frees its key; another API key's same key is its own. A real
server with keys on (one per module), and the session's in-process app with keys off."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from api.security import fingerprint
from tests.helpers import encode, render_lines
from tests.security.conftest import KEYS, OTHER, USER, live

PNG = encode(render_lines(["Idempotent 42"]))
OTHER_PNG = encode(render_lines(["Another request 7"]))


def headers(key: str, idempotency_key: str) -> dict:
    return {"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key}


@pytest.fixture(scope="module")
def server(settings, tmp_path_factory):
    data = {"data_dir": str(tmp_path_factory.mktemp("idempotent-data"))}
    with live(settings, auth={"api_keys": KEYS}, server=data) as (client, service):
        yield client, service


def submit(client, key: str, idempotency_key: str, content: bytes = PNG, name: str = "a.png", **data) -> httpx.Response:
    return client.post("/jobs", files=[("files", (name, content))], data=data, headers=headers(key, idempotency_key))


def test_the_same_request_again_answers_its_job_and_another_request_with_the_key_409(server):
    client, _ = server
    first = submit(client, USER, "order-1")
    assert first.status_code == 202, first.text
    job = first.json()["id"]
    again = submit(client, USER, "order-1")
    assert again.status_code == 200 and again.json()["id"] == job, again.text
    assert again.headers["Location"] == f"/jobs/{job}"
    for changed in ({"content": OTHER_PNG}, {"name": "b.png"}, {"language": "en"}, {"priority": "low"}):
        conflict = submit(client, USER, "order-1", **changed)
        assert conflict.status_code == 409, (changed, conflict.text)
        detail = conflict.json()["detail"]
        assert "Idempotency-Key" in detail and job in detail and "another request" in detail, detail
    theirs = submit(client, OTHER, "order-1")  # another API key's key of the same name is its own
    assert theirs.status_code == 202 and theirs.json()["id"] != job, theirs.text
    assert submit(client, OTHER, "order-1").json()["id"] == theirs.json()["id"]
    assert submit(client, USER, "order-2").json()["id"] not in (job, theirs.json()["id"])  # a new key: a new job


def test_a_first_request_that_made_no_job_frees_its_key(server):
    client, _ = server
    refused = submit(client, USER, "retry-me", content=b"")
    assert refused.status_code == 400 and "empty" in refused.json()["detail"], refused.text
    retried = submit(client, USER, "retry-me")
    assert retried.status_code == 202, retried.text  # not 409 against the refused request's body


def test_while_the_first_upload_is_in_flight_the_same_key_waits_for_it_and_makes_no_second_job(server):
    client, service = server
    body = httpx.Request("POST", "http://x/jobs", files=[("files", ("slow.png", PNG + b"\0" * 300_000))])
    content, content_type = body.read(), body.headers["Content-Type"]
    go_on = threading.Event()

    def slow_upload():
        yield content[:1000]
        assert go_on.wait(60), "the test did not let the upload go on"
        for start in range(1000, len(content), 64_000):
            yield content[start : start + 64_000]

    answers: dict[str, httpx.Response] = {}

    def send(name: str, data, idem: str = "slow-1") -> None:
        answers[name] = client.post(
            "/jobs", content=data, headers={**headers(USER, idem), "Content-Type": content_type}, timeout=90
        )

    owner = service.job_owner(f"user:{fingerprint(USER)}")
    before = len(service.jobs.store.jobs(owner))
    first = threading.Thread(target=send, args=("first", slow_upload()))
    first.start()
    deadline = time.monotonic() + 30
    while service.jobs.store.key_record(fingerprint(USER), "slow-1") is None:  # the first one holds the key
        assert time.monotonic() < deadline and first.is_alive(), answers
        time.sleep(0.05)
    same = threading.Thread(target=send, args=("same", content))
    other = threading.Thread(target=send, args=("other", content.replace(b"\0" * 1000, b"\1" * 1000, 1)))
    same.start()
    other.start()
    same.join(1.0)
    assert same.is_alive() and "same" not in answers  # it waits for the first (which has not even been received)
    go_on.set()
    for thread in (first, same, other):
        thread.join(90)
    assert answers["first"].status_code == 202, answers["first"].text
    assert answers["same"].status_code == 200 and answers["same"].json()["id"] == answers["first"].json()["id"]
    assert answers["other"].status_code == 409 and "another request" in answers["other"].json()["detail"]
    assert len(service.jobs.store.jobs(owner)) == before + 1


def test_with_keys_off_the_client_address_is_the_caller(client):
    first = client.post("/jobs", files=[("files", ("a.png", PNG))], headers={"Idempotency-Key": "keys-off-1"})
    assert first.status_code == 202, first.text
    again = client.post("/jobs", files=[("files", ("a.png", PNG))], headers={"Idempotency-Key": "keys-off-1"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"], again.text
    plain = client.post("/jobs", files=[("files", ("a.png", PNG))])
    assert plain.status_code == 202 and plain.json()["id"] != first.json()["id"]  # no header: a new job each time
