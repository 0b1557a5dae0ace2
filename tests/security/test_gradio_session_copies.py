"""Gradio kept, for each of up to 10,000 sessions, a copy of every component's configuration with the last value each
event was sent, for its deep links alone (ui/deep_links.py): a user key naming a new session per call, with a 27 MB
text input that the call refused, made the server hold 543 MB more for good in 2.6 s (ten calls); and
``/gradio_api/deep_link`` wrote that copy to a new file at each call, outside every quota, kept after the process
ended (twenty calls with 1 MB: 24 MB of files)."""

from __future__ import annotations

import gc
import secrets

import pytest

from tests.security.conftest import KEYS, USER, live
from tests.security.gradio_calls import run

MARKER = "deep-link-copy-"


@pytest.fixture(scope="module")
def keyed(settings):
    with live(settings, auth={"api_keys": KEYS}) as (client, _):
        yield client


def held_strings(prefix: str) -> int:
    """How many strings starting with ``prefix`` this process's dicts hold as values (a session's copies are dicts)."""
    gc.collect()
    return sum(
        1
        for found in gc.get_objects()
        if isinstance(found, dict)
        for value in list(found.values())
        if isinstance(value, str) and value.startswith(prefix)
    )


def test_a_refused_calls_input_is_not_kept_by_its_session(keyed):
    headers = {"Authorization": f"Bearer {USER}"}
    sessions = [secrets.token_hex(6) for _ in range(3)]
    for session in sessions:  # a language of 200 KB: refused (no image), as any input may be
        status, text = run(keyed, "/gradio_api/run/ocr", [None, "embedded", MARKER + "x" * 200_000], headers, session)
        assert status == 400, text
    assert held_strings(MARKER) == 0  # (each session held its copy: 3)


def test_gradios_deep_link_route_is_not_offered(keyed):
    headers = {"Authorization": f"Bearer {USER}"}
    session = secrets.token_hex(6)
    status, text = run(keyed, "/gradio_api/run/ocr", [None, "embedded", "en"], headers, session)
    assert status == 400, text
    response = keyed.get("/gradio_api/deep_link", params={"session_hash": session}, headers=headers)
    assert response.status_code == 404  # (it answered 200 and the link of a file it wrote, for good, at each call)
    assert response.json() == {"detail": "Not Found"}
    page = keyed.get("/", params={"deep_link": "AAAAAAAAAAA"}, headers={**headers, "Accept": "text/html"})
    assert page.status_code == 200  # (the page itself is served as before)
