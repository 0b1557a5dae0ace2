"""A Gradio session is its key's (an attack pass): Gradio ties nothing to who names a session, so another key that
learnt a session's hash (it travels in URLs: a proxy's log) read that session's results from its event stream. Now the
first key to use a session owns it; every other key is refused (403) wherever a session is named: joining or calling
an event in it, its event stream, its heartbeat, a cancel (its deep link is no route at all: test_gradio_session_copies.py).
The owner is served as before."""

from __future__ import annotations

import json
import uuid

from tests.helpers import ENGLISH, encode, render_lines

from .conftest import OTHER, USER
from .gradio_calls import file_data, fn_index, upload

OWNER = {"Authorization": f"Bearer {USER}"}
INTRUDER = {"Authorization": f"Bearer {OTHER}"}
REFUSED = "belongs to another API key"


def opened(client, path: str, params: dict, headers: dict):
    """A GET's response, its body read only when it is not a stream that goes on (an event stream answers 200 at once)."""
    with client.stream("GET", path, params=params, headers=headers) as response:
        if response.status_code != 200:
            response.read()
        return response


def test_another_key_cannot_use_or_read_a_keys_gradio_session(keyed_client):
    client, session = keyed_client, uuid.uuid4().hex[:11]
    uploaded = upload(client, "secret.png", encode(render_lines(ENGLISH[:1])), OWNER)
    assert uploaded.status_code == 200, uploaded.text
    index = fn_index(client, "ocr", OWNER)
    join = {"data": [file_data(uploaded.json()[0]), "", ""], "fn_index": index, "session_hash": session}
    joined = client.post("/gradio_api/queue/join", json=join, headers=OWNER)
    assert joined.status_code == 200, joined.text

    refused = [
        opened(client, "/gradio_api/queue/data", {"session_hash": session}, INTRUDER),  # (its results: Gradio streamed them)
        client.post("/gradio_api/queue/join", json=join, headers=INTRUDER),
        client.post("/gradio_api/run/ocr", json={"data": join["data"], "session_hash": session}, headers=INTRUDER),
        opened(client, f"/gradio_api/heartbeat/{session}", {}, INTRUDER),  # (a stream too)
        client.post(
            "/gradio_api/cancel",
            json={"session_hash": session, "fn_index": index, "event_id": joined.json()["event_id"]},
            headers=INTRUDER,
        ),
    ]
    # a second pass (helper): the session named twice (the route reads the last), as an event's id in /call's stream
    # (Gradio streams the session then), and an event queued by /call read by its id
    mine = uuid.uuid4().hex[:11]
    called = client.post("/gradio_api/call/models", json={"data": []}, headers=OWNER)
    assert called.status_code == 200, called.text
    refused += [
        opened(client, "/gradio_api/queue/data", {"session_hash": [mine, session]}, INTRUDER),
        opened(client, f"/gradio_api/call/ocr/{session}", {}, INTRUDER),
        opened(client, f"/gradio_api/call/models/{called.json()['event_id']}", {}, INTRUDER),
        client.post("/gradio_api/queue/join", json={**join, "session_hash": "s" * 200}, headers=INTRUDER),  # (kept in memory)
    ]
    for response in refused:
        assert response.status_code == 403, (response.request.url, response.status_code)
        assert REFUSED in response.text, (response.request.url, response.text[:300])
    padded = b'{"session_hash": "%s", "fn_index": %d, "event_id": "x"}' % (session.encode(), index) + b" " * 70_000
    cancel = client.post("/gradio_api/cancel", content=padded, headers={**INTRUDER, "Content-Type": "application/json"})
    assert cancel.status_code == 413, cancel.text  # (its session was not read past 64 KB: the cancel went through)

    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}, headers=OWNER) as stream:
        assert stream.status_code == 200
        done = next(
            message
            for line in stream.iter_lines()
            if line.startswith("data:") and (message := json.loads(line[5:]))["msg"] == "process_completed"
        )
    assert done["success"] and ENGLISH[0].split()[0].lower() in done["output"]["data"][0].lower(), done
    mine = client.post("/gradio_api/run/ocr", json={"data": join["data"], "session_hash": session}, headers=OWNER)
    assert mine.status_code == 200, mine.text  # (the owner's direct call in its session)
