"""Raw HTTP calls to the Gradio API, as a hostile client makes them (no gradio_client to tidy the input): a direct
call (``/gradio_api/run/<api_name>`` and its aliases), the simple queue API (``/gradio_api/call/<api_name>`` then its
event stream), the browser's queue (``/gradio_api/queue/join`` by event index), and an upload."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx


def file_data(path: str) -> dict[str, Any]:
    """A Gradio file input naming ``path`` (what the client sends after an upload, or instead of one)."""
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def body(data: list, session: str | None) -> dict[str, Any]:
    """A call's body; with ``session``, the calls of one client share Gradio's state of it (without one, Gradio makes
    a new session for each call: ~25 ms of the server's CPU for our UI's ~70 components)."""
    return {"data": data} if session is None else {"data": data, "session_hash": session}


def run(client: httpx.Client, door: str, data: list, headers: dict | None = None, session: str | None = None) -> tuple[int, str]:
    """A direct call: ``door`` is the whole path, e.g. /gradio_api/run/ocr; (status, body)."""
    response = client.post(door, json=body(data, session), headers=headers or {})
    return response.status_code, response.text


def call(
    client: httpx.Client, api_name: str, data: list, headers: dict | None = None, session: str | None = None
) -> tuple[str, str]:
    """The simple queue API: (the last event's name, its data) — complete or error."""
    posted = client.post(f"/gradio_api/call/{api_name}", json=body(data, session), headers=headers or {})
    assert posted.status_code == 200, posted.text
    stream = client.get(f"/gradio_api/call/{api_name}/{posted.json()['event_id']}", headers=headers or {})
    event, payload = "", ""
    for line in stream.text.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            payload = line.split(":", 1)[1].strip()
    return event, payload


def fn_index(client: httpx.Client, api_name: str, headers: dict | None = None) -> int:
    config = client.get("/config", headers=headers or {}).json()
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)


def queue(client: httpx.Client, index: int, data: list, headers: dict | None = None) -> dict[str, Any]:
    """The browser's way: join the queue for event ``index``, then read the session's stream until the event is
    done; returns the process_completed message."""
    session = uuid.uuid4().hex[:12]
    joined = client.post(
        "/gradio_api/queue/join",
        headers=headers or {},
        json={"data": data, "fn_index": index, "session_hash": session, "event_data": None, "trigger_id": None},
    )
    assert joined.status_code == 200, joined.text
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}, headers=headers or {}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("the queue's stream ended before the event was completed")


def upload(client: httpx.Client, name: str, content: bytes, headers: dict | None = None) -> httpx.Response:
    return client.post("/gradio_api/upload", files={"files": (name, content)}, headers=headers or {})
