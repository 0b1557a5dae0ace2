"""Gradio's run history (``/gradio_api/runs``, ``/gradio_api/run-history/*``, and its recording of every event run)
signs in to the Hugging Face Hub with the host's own token (``HF_TOKEN``, or ``huggingface-cli login``'s) for any
caller that reached the server on the loopback: with a user key (on the host, or through a reverse proxy on it that
passes ``Host: localhost``), an attack pass listed the operator's buckets, read the tree of a bucket it named, created
buckets, and had each of its event runs (inputs, outputs, uploaded files) written to a bucket named in an
``x-gradio-history-bucket`` header: every request to the Hub carried ``Authorization: Bearer <the host's token>``.
This app records no runs (assembly.py: ``run_history=False``). Nor does it offer Gradio's monitoring, whose summary
showed a user key every event's count, success rate and times, all keys' (``/metrics`` is for admin keys)."""

from __future__ import annotations

import logging
import time

import pytest

from tests.security.conftest import KEYS, USER, live

HEADERS = {"Authorization": f"Bearer {USER}"}
HOST_TOKEN = "hf_the_operators_own_token"


@pytest.fixture
def keyed(settings, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", HOST_TOKEN)  # (the host has a token: gated models need one)
    with live(settings, auth={"api_keys": KEYS}) as (client, _):
        yield client


def test_a_user_key_gets_no_run_history_signed_with_the_hosts_token(keyed):
    # (a 502 "hub error" was the Hub not answering a call made with the host's token; without a token it was a 401)
    assert keyed.get("/gradio_api/run-history/buckets", headers=HEADERS).status_code == 404
    records = keyed.get("/gradio_api/run-history/records", params={"bucket": "an-org/private-runs"}, headers=HEADERS)
    assert records.status_code == 404
    made = keyed.post("/gradio_api/run-history/connect", json={"bucket_id": "a-user/new-bucket"}, headers=HEADERS)
    assert made.status_code == 404
    assert keyed.get("/gradio_api/runs", headers={**HEADERS, "Accept": "text/html"}).status_code == 404


def test_an_event_run_is_not_recorded_to_a_bucket_the_caller_names(keyed, caplog):
    caplog.set_level(logging.DEBUG, logger="gradio.history")
    headers = {**HEADERS, "x-gradio-history-bucket": "a-user/their-bucket"}
    called = keyed.post("/gradio_api/run/models", json={"data": []}, headers=headers)
    assert called.status_code == 200, called.text
    time.sleep(1.0)  # (the recording was a task of its own, after the answer)
    assert not [r for r in caplog.records if r.name == "gradio.history"]  # ("could not record run": it tried)


def test_a_user_key_reads_no_event_statistics_of_every_key(keyed):
    called = keyed.post("/gradio_api/run/models", json={"data": []}, headers=HEADERS)
    assert called.status_code == 200, called.text
    for path in ("/monitoring/summary", "/monitoring", "/monitoring/a-guess"):
        response = keyed.get(path, headers=HEADERS)
        assert response.status_code == 403, (path, response.text)  # (the summary: 200, every event's counts and times)
        assert "functions" not in response.text
