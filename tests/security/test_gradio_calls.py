"""Attacks on the Gradio API's own routes found by an attack pass after the first fixes: a JSON body that Gradio
parses in memory may not be as large as a batch of uploads; a ``fn_index`` that names no event is a 404, not a
traceback; a ``Host`` whose port is not a number is no allowed name."""

from __future__ import annotations

import logging
import socket

import pytest

from .conftest import live


@pytest.fixture(scope="module")
def server(settings):
    with live(settings, limits={"max_file_bytes": 1024 * 1024}) as (client, service):
        yield client, service


def declared_only(base_url: str, path: str, length: int) -> bytes:
    """Send a request's headers declaring ``length`` bytes and 1 KB of body; the server's answer (first bytes)."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n".encode()
            + b"{"
            + b" " * 1023
        )
        return sock.recv(4096)


def test_a_gradio_call_body_is_bounded_by_one_file_not_by_a_batch(server):
    client, service = server
    one_file = service.settings.limits.max_file_bytes
    batch = one_file * service.settings.limits.max_batch_files
    # a call's JSON carries at most one file as a data: URL (its other files are uploads): what a batch of uploads
    # may weigh is refused at once on the JSON routes, Gradio parsing it in memory several times over
    for path in ("/gradio_api/run/ocr", "/gradio_api/call/ocr", "/gradio_api/queue/join", "/gradio_api/api/ocr"):
        answer = declared_only(str(client.base_url), path, batch // 2)
        assert answer.startswith(b"HTTP/1.1 413"), (path, answer[:200])
    # the upload route still takes a batch's worth (it streams to disk); MCP its max_images data: URLs
    files = [("files", (f"page{i}.png", b"x" * one_file)) for i in range(4)]
    assert client.post("/gradio_api/upload", files=files).status_code == 200
    mcp = client.post(
        "/gradio_api/mcp/",
        content=b"{" + b" " * (one_file * 2) + b"}",
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
    )
    assert mcp.status_code != 413, mcp.text[:200]


@pytest.mark.parametrize("door", ["/gradio_api/queue/join", "/gradio_api/run/predict"])
@pytest.mark.parametrize("index", [9999, -1])
def test_a_fn_index_that_names_no_event_is_a_404_without_a_traceback(server, door, index, caplog):
    client, _ = server
    with caplog.at_level(logging.ERROR):
        answer = client.post(door, json={"data": [], "fn_index": index, "session_hash": "abc123"})
    assert answer.status_code == 404, answer.text
    assert "fn_index" in answer.json()["detail"]
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("host", ["localhost:80@evil.example", "localhost:evil", "[::1]x", "127.0.0.1:8000:1"])
def test_a_host_whose_port_is_not_a_number_is_refused(server, host):
    client, _ = server
    answer = client.get("/models", headers={"Host": host})
    assert answer.status_code == 400 and "host name" in answer.json()["detail"], (host, answer.text)
    assert client.get("/models", headers={"Host": "localhost:8000"}).status_code == 200


def test_a_value_not_among_a_dropdowns_choices_is_a_400_without_a_traceback(server, caplog, capsys):
    """Gradio's own check of a dropdown's value (the UI's events take several) raised a 500 and logged a traceback."""
    client, _ = server
    config = client.get("/config").json()
    dropdowns = {
        c["id"] for c in config["components"] if c.get("type") == "dropdown" and not c.get("props", {}).get("allow_custom_value")
    }
    index, inputs = next((d["id"], d["inputs"]) for d in config["dependencies"] if set(d["inputs"]) & dropdowns)
    data = ["not one of its choices" if i in dropdowns else None for i in inputs]
    with caplog.at_level(logging.ERROR):
        answer = client.post("/gradio_api/run/predict", json={"data": data, "fn_index": index, "session_hash": "abc123"})
    assert answer.status_code == 400 and "not in the list of choices" in answer.text, answer.text  # (was: 500)
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    assert "Traceback" not in capsys.readouterr().err  # (Gradio prints an error's traceback unless told not to)
