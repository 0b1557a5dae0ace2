"""A finished job's result is built whole each time it is read (from the store: ~7 MB of memory and ~0.3 s of CPU
a dense page, more through the REST serialization), and reads are no work the rate limit counts: six GETs at once of
one 20-page job's result (PDF pages whose text layer holds 3,500 short lines each: read in 12 s) held 917 MB more and
kept both cores busy 31 s (an attack pass; a client may hold 256 connections, so ~40 such GETs needed ~6 GB). Now a
key has two results built at once (one more: 429 with Retry-After), the server eight (inference/service_jobs.py)."""

from __future__ import annotations

import threading
import time

import pytest

from tests.helpers import text_pdf
from tests.polling import wait_until
from tests.security.conftest import KEYS, OTHER, USER, live

PAGES, LINES = 8, 3500


@pytest.fixture(scope="module")
def keyed(settings):
    with live(settings, auth={"api_keys": KEYS}) as (client, _):
        yield client


def dense_job(client, key: str) -> str:
    """A job of PAGES pages whose text layers are read at once, each answering LINES lines with their boxes."""
    lines = [f"w{i:05d} x{i % 97}" for i in range(LINES)]
    pdf = text_pdf([lines] * PAGES, font_size=0.2)
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
    job_id = dense_job(keyed, OTHER)
    assert keyed.get(f"/jobs/{job_id}/result", headers={"X-API-Key": OTHER}).status_code == 200
