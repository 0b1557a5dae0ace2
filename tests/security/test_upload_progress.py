"""Gradio's upload progress is kept by the ``upload_id`` the client names, in one table of the process's that forgot
nothing but the uploads whose progress was read to the end: a GET of the progress of an id no upload had left it
behind for good (a read: no work, no rate limit), and 4,000 of them with 60 KB ids from one client held 256 MB more in
62 s (ui/upload_progress.py). Now a long id is a 400 at once, and the table keeps the most recent ids only."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from gradio import routes

from tests.security.conftest import KEYS, USER, live
from ui.upload_progress import TRACKED, Recent

HEADERS = {"Authorization": f"Bearer {USER}"}


@pytest.fixture(scope="module")
def keyed(settings):
    with live(settings, auth={"api_keys": KEYS}) as (client, _):
        yield client


def test_a_long_upload_id_is_refused_at_once(keyed):
    long_id = "u" * 60_000
    asked = keyed.get("/gradio_api/upload_progress", params={"upload_id": long_id}, headers=HEADERS)
    assert asked.status_code == 400  # (it waited 3 s for the upload, then a 404, and kept the id)
    assert "upload_id" in asked.json()["detail"]
    sent = keyed.post("/gradio_api/upload", params={"upload_id": long_id}, files={"files": ("a.txt", b"x")}, headers=HEADERS)
    assert sent.status_code == 400
    assert long_id not in routes.file_upload_statuses._signals
    assert long_id not in routes.file_upload_statuses._statuses


def test_an_upload_followed_to_its_end_is_forgotten(keyed):
    upload_id = secrets.token_hex(6)  # (as the browser names one: a short random name)
    sent = keyed.post("/gradio_api/upload", params={"upload_id": upload_id}, files={"files": ("a.txt", b"x")}, headers=HEADERS)
    assert sent.status_code == 200, sent.text
    followed = keyed.get("/gradio_api/upload_progress", params={"upload_id": upload_id}, headers=HEADERS)
    assert followed.status_code == 200 and '"done"' in followed.text
    assert upload_id not in routes.file_upload_statuses._statuses
    assert upload_id not in routes.file_upload_statuses._signals  # (its event stayed, for good)


def test_the_table_keeps_the_most_recent_ids(keyed):
    for table in (routes.file_upload_statuses._signals, routes.file_upload_statuses._statuses):
        assert isinstance(table, Recent) and table.size == TRACKED  # (once the UI is built)
    table = Recent(3, asyncio.Event)
    for name in "abcde":
        table[name].set()  # (made on first read, as Gradio's defaultdict made it)
    assert list(table) == ["c", "d", "e"]
    assert not table["a"].is_set()  # (forgotten: a new one)
