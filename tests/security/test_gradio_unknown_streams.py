"""A stream of a Gradio session (or event) the server does not hold: Gradio's own answer, and nothing in the log but its
access line. Before, each such request wrote two tracebacks (~16 KB: Gradio raised inside the stream it had started),
so that anyone could fill the server's disk at a request's price (an attack pass)."""

from __future__ import annotations

import json

import pytest

from .gradio_calls import fn_index, queue
from .log_capture import logged, loud


@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/queue/data?session_hash=nobody-has-this",
        "/gradio_api/queue/data?session_hash=",
        "/gradio_api/queue/data?session_hash=x&session_hash=nobody-has-this",
        "/gradio_api/call/ocr/no-such-event",
        "/gradio_api/call/v2/ocr/no-such-event",
    ],
    ids=["queue", "queue-blank", "queue-repeated", "call", "call-v2"],
)
def test_a_stream_of_an_unknown_session_says_so_and_logs_no_traceback(open_server, path):
    with logged() as records:
        answer = open_server.get(path)
        answer.read()
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    if "/call/" in path:
        assert answer.text == 'event: error\ndata: "404: Not Found"\n\n'
    else:
        message = json.loads(answer.text.removeprefix("data: "))
        assert message["session_not_found"] is True and message["success"] is False
    assert loud(records) == []
    assert open_server.get("/health").status_code == 200


def test_a_session_the_server_holds_streams_as_before(open_server):
    """An event joined through the queue still streams its result (queue/data of a held session reaches Gradio), and
    so does an event called through /call (its stream read by its id)."""
    done = queue(open_server, fn_index(open_server, "models"), [])
    assert done.get("msg") == "process_completed" and done.get("success"), done
    event_id = open_server.post("/gradio_api/call/models", json={"data": []}).json()["event_id"]
    answer = open_server.get(f"/gradio_api/call/models/{event_id}")
    assert answer.text.startswith("event: complete"), answer.text[:200]
