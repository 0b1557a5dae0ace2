"""A request that breaks HTTP in its body (a chunk size that is no number) is answered 400 by the server and adds one
short line to the log (an attack pass). Before, uvicorn answered it 400 and closed, and the route, which had begun
at the headers, then answered too: its answer raised in h11 (the connection was done), and the log got two tracebacks
(~12 KB) a request."""

from __future__ import annotations

import socket

import pytest

from .log_capture import SHORT, show, size_of, written


def sent_raw(base_url: str, request: bytes) -> bytes:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        return answer


@pytest.mark.parametrize("path", ["/ocr", "/v1/chat/completions", "/gradio_api/upload", "/login"])
def test_a_body_that_breaks_http_is_a_400_and_a_line(open_server, capsys, path):
    request = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n"
    ).encode()
    with written(capsys) as text:
        answer = sent_raw(str(open_server.base_url), request)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert size_of(text) < SHORT and "Traceback" not in "".join(text), show(text)
    assert open_server.get("/health").status_code == 200
