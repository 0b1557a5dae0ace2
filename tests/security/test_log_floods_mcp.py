"""What the MCP SDK logs about a client's message is one line of at most a few hundred characters (an attack pass).
Before, it logged what the client sent, whole: a JSON-RPC request it could not validate (an unknown method) wrote its
~7 KB of validation errors, and a tool name it does not know, a notification it could not validate, a response to no
request of its own and a session id that is no UUID were copied into the log as sent (the endpoint reads up to 4 MiB:
as much in the log a request); a message that is no JSON-RPC on an SSE session wrote a traceback (~6 KB)."""

from __future__ import annotations

import contextlib
import json
import queue
import threading

import httpx
import pytest

from .log_capture import SHORT, show, size_of, written

HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
BIG = "B" * 200_000

MESSAGES = {
    "unknown-method": {"jsonrpc": "2.0", "id": 1, "method": "m" * 50_000},
    "arguments-not-an-object": {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "x", "arguments": BIG}},
    "unknown-tool": {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": BIG, "arguments": {}}},
    "bad-notification": {"jsonrpc": "2.0", "method": "x", "params": {"a": BIG}},
    "a-response": {"jsonrpc": "2.0", "id": 5, "result": {"x": BIG}},
    "an-error": {"jsonrpc": "2.0", "id": 6, "error": {"code": 1, "message": BIG}},
}


@pytest.mark.parametrize("kind", list(MESSAGES))
def test_a_message_the_mcp_endpoint_cannot_use_is_one_short_line(open_server, capsys, kind):
    with written(capsys) as text:
        answer = open_server.post("/gradio_api/mcp/", content=json.dumps(MESSAGES[kind]), headers=HEADERS)
    assert answer.status_code < 500, answer.text[:300]
    assert size_of(text) < SHORT and "Traceback" not in "".join(text), show(text)


def test_an_sse_message_naming_a_session_that_is_no_uuid_is_one_short_line(open_server, capsys):
    with written(capsys) as text:
        answer = open_server.post("/gradio_api/mcp/messages/?session_id=" + "z" * 8000, json={})
    assert answer.status_code == 400
    assert size_of(text) < SHORT, show(text)


@pytest.fixture
def sse_session(open_server):
    """The messages URL of an MCP session over SSE (its stream held open meanwhile)."""
    found: queue.Queue[str] = queue.Queue()
    client = httpx.Client(base_url=open_server.base_url, timeout=30)

    def hold() -> None:
        with contextlib.suppress(httpx.HTTPError), client.stream("GET", "/gradio_api/mcp/sse") as stream:
            for line in stream.iter_lines():
                if line.startswith("data:") and "session_id=" in line:
                    found.put(line[5:].strip())

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    yield found.get(timeout=30)
    client.close()  # (the thread ends at the stream's next line, or its end: its errors are none of the test's)


def test_an_sse_message_that_is_no_json_rpc_is_one_short_line(open_server, capsys, sse_session):
    with written(capsys) as text:
        answer = open_server.post(sse_session, json={"x": BIG})
    assert answer.status_code == 400, answer.text[:200]
    assert size_of(text) < SHORT and "Traceback" not in "".join(text), show(text)


def test_the_mcp_endpoint_still_answers(open_server):
    listed = open_server.post("/gradio_api/mcp/", json={"jsonrpc": "2.0", "id": 9, "method": "tools/list"}, headers=HEADERS)
    assert listed.status_code == 200 and "ocr_image" in listed.text, listed.text[:300]
