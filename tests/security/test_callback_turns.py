"""One key's job callbacks cannot hold back another's (an attack pass): a key that sent 40 tiny jobs whose
callback_url accepts connections and never answers held every one of the deliverer's hands (10 s an attempt, five
retries each, its retries due before newer jobs), and another key's callback came 98 s after its job ended. Callers
now take turns: at most one attempt of a caller's at a time, first attempts before retries. A receiver that never
answers (a socket nobody reads) and one that does, both on loopback (callback_allow_private)."""

from __future__ import annotations

import time

import pytest

from inference.callbacks import AT_ONCE, TIMEOUT_S
from tests.e2e.test_jobs import wait_for
from tests.helpers import encode, render_lines
from tests.security.conftest import ADMIN, KEYS, OTHER, USER, live
from tests.security.test_callback_guard import SECRET, Internal
from tests.servers import silent_port

PNG = encode(render_lines(["Turns 7"]))


@pytest.fixture(scope="module")
def tarpit():
    with silent_port("/hook") as url:
        yield url


@pytest.fixture(scope="module")
def server(settings, tmp_path_factory):
    jobs = {"callback_secret": SECRET, "callback_allow_private": True, "callback_retries": 5, "callback_backoff_s": 0.1}
    data = {"data_dir": str(tmp_path_factory.mktemp("turns-data"))}
    with live(settings, auth={"api_keys": KEYS}, jobs=jobs, server=data) as (client, _):
        yield client


def submit(client, key: str, callback_url: str) -> str:
    answer = client.post(
        "/jobs",
        files=[("files", ("a.png", PNG))],
        data={"callback_url": callback_url},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def test_a_key_whose_receiver_never_answers_does_not_delay_another_keys_callback(server, tarpit):
    receiver = Internal()
    try:
        stuck = [submit(server, USER, tarpit) for _ in range(2 * AT_ONCE)]
        for job in stuck:  # (all ended: their callbacks due, each attempt held TIMEOUT_S by the tarpit)
            wait_for(
                lambda job=job: server.get(f"/jobs/{job}", headers={"Authorization": f"Bearer {USER}"}).json(),
                lambda body: body["state"] == "done",
            )
        mine = submit(server, OTHER, f"http://127.0.0.1:{receiver.port}/mine")
        ended = wait_for(
            lambda: server.get(f"/jobs/{mine}", headers={"Authorization": f"Bearer {OTHER}"}).json(),
            lambda body: body["state"] == "done",
        )["ended_at"]
        deadline = time.monotonic() + 3 * TIMEOUT_S
        while not receiver.paths:
            assert time.monotonic() < deadline, "the other key's callback never came"
            time.sleep(0.05)
        late = time.time() - ended
        assert late < TIMEOUT_S / 2, late  # (before: behind the stuck key's attempts, 10-20 s here)
    finally:
        receiver.close()


def test_one_keys_many_callbacks_go_as_fast_as_its_receiver_answers(server):
    # (one attempt of a key's at a time, taken once per look every 0.5 s, held a key to 2 calls a second: 40 jobs'
    # calls took 20 s; a deliverer looks again as soon as an attempt ends)
    receiver = Internal()
    try:
        jobs = [submit(server, ADMIN, f"http://127.0.0.1:{receiver.port}/many") for _ in range(12)]
        ended = max(
            wait_for(
                lambda job=job: server.get(f"/jobs/{job}", headers={"Authorization": f"Bearer {ADMIN}"}).json(),
                lambda body: body["state"] == "done",
            )["ended_at"]
            for job in jobs
        )
        deadline = time.monotonic() + 3 * TIMEOUT_S
        while len(receiver.paths) < len(jobs):
            assert time.monotonic() < deadline, len(receiver.paths)
            time.sleep(0.05)
        assert time.time() - ended < 2.5, time.time() - ended  # (before: ~5 s behind the last job's end)
    finally:
        receiver.close()
