"""Point 7 (REST bodies), disk filling: a body over its route's limit is refused as it comes in. A
``Content-Length`` over it gets 413 before the body is read; a chunked body gets 413 once it passes the limit, so
the temporary folder never holds more than the limit. Raw sockets, to send headers and part of a body and see when
the server answers. Files are 1 MiB at most here: /ocr takes 1 MiB + 1 MiB of slack, a batch 32 MiB + 1 MiB."""

from __future__ import annotations

import os
import select
import socket
import tempfile
import time
from pathlib import Path

import pytest

from tests.security.conftest import live

MiB = 1024 * 1024
BOUNDARY = "----attack"
PART_HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n'
).encode()


@pytest.fixture(scope="module")
def spool(tmp_path_factory):
    """The temporary folder, a private one for this module (so other processes' files do not count)."""
    folder = tmp_path_factory.mktemp("spool")
    saved, tempfile.tempdir = tempfile.tempdir, str(folder)
    yield folder
    tempfile.tempdir = saved


@pytest.fixture(scope="module")
def server(settings, spool):
    with live(settings, limits={"max_file_bytes": MiB}) as (client, _):
        yield client


def spooled_bytes(folder: Path) -> int:
    """Bytes of the files in ``folder``, counting those this process holds open there without a name (Linux's
    anonymous temporary files, which is what a spooled upload becomes)."""
    total = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
            if target.startswith(f"{folder}/") and not os.path.exists(target):  # '/tmp/x/#123 (deleted)'
                total += os.stat(fd).st_size
        except OSError:
            continue
    return total


def connect(client) -> socket.socket:
    sock = socket.create_connection((client.base_url.host, client.base_url.port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    return sock


def request_head(client, path: str, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{client.base_url.port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{extra}\r\n"
    ).encode()


def answered(sock: socket.socket, wait: float = 0.0) -> bytes | None:
    """The response (head and body), if the server has begun to answer within ``wait`` seconds."""
    if not select.select([sock], [], [], wait)[0]:
        return None
    response, deadline = b"", time.monotonic() + 10
    while time.monotonic() < deadline:
        head, _, body = response.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")), None
        )
        if length is not None and len(body) >= length:
            break
        if not select.select([sock], [], [], max(0.0, deadline - time.monotonic()))[0]:
            break
        piece = sock.recv(65536)
        if not piece:
            break
        response += piece
    return response


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "path, declared",
    [
        ("/ocr", 10 * MiB),
        ("/chat", 10 * MiB),
        ("/batch/ocr", 40 * MiB),
        ("/v1/chat/completions", 20 * MiB),
        ("/login", MiB),
        ("/gradio_api/upload", 40 * MiB),
        ("/models/rapidocr/load", 2 * MiB),
    ],
)
def test_a_declared_length_over_the_limit_is_refused_before_the_body(server, path, declared):
    with connect(server) as sock:
        sock.sendall(request_head(server, path, f"Content-Length: {declared}\r\n") + PART_HEAD + b"\0" * 1000)
        response = answered(sock, wait=10)  # the rest of the body never comes: only an early answer arrives
    assert response is not None, f"{path}: no answer before the body was sent"
    assert status_of(response) == 413 and b"MiB at most" in response, response[:300]  # {"detail"} or OpenAI's


def test_a_chunked_body_is_cut_at_the_limit_and_never_spooled_whole(server, spool):
    body_size, chunk = 30 * MiB, b"\0" * (256 * 1024)
    before, most, sent, response = spooled_bytes(spool), 0, 0, None
    with connect(server) as sock:
        sock.sendall(
            request_head(server, "/ocr", "Transfer-Encoding: chunked\r\n")
            + f"{len(PART_HEAD):x}\r\n".encode()
            + PART_HEAD
            + b"\r\n"
        )
        deadline = time.monotonic() + 60
        while sent < body_size and response is None and time.monotonic() < deadline:
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except OSError:  # the server answered and closed while we were still sending
                break
            sent += len(chunk)
            most = max(most, spooled_bytes(spool) - before)
            response = answered(sock)
        response = response or answered(sock, wait=10)
    assert response is not None and status_of(response) == 413, (sent, most, response and response[:300])
    assert sent < 8 * MiB, f"the server read {sent} bytes of a body over its 2 MiB limit before answering"
    assert most < 4 * MiB, f"{most} bytes of the body were spooled to the temporary folder"


def test_each_route_takes_what_it_needs(server):
    """A batch may be larger than one /ocr file; a body under a route's limit goes through to the route."""
    files = [("files", (f"f{i}.png", b"x" * (MiB - 4096))) for i in range(3)]  # 3 MiB: over /ocr's limit
    batch = server.post("/batch/ocr", files=files, params={"model": "rapidocr"})
    assert batch.status_code == 200 and batch.json()["total"] == 3, batch.text[:300]
    one = server.post("/ocr", files={"file": ("f.png", b"x" * (MiB - 4096))}, params={"model": "rapidocr"})
    assert one.status_code == 400, one.text[:300]  # read by the route: not an image
    too_big = server.post("/ocr", files={"file": ("f.png", b"x" * (3 * MiB))}, params={"model": "rapidocr"})
    assert too_big.status_code == 413 and "limits.max_file_bytes" in too_big.json()["detail"]


def test_a_json_body_of_too_many_items_is_refused_as_it_comes_in(server):
    # (parsed, each item costs ~100 bytes: 28 MiB of '{}' in a /v1 body took 766 MB before validation refused it)
    many = b"[" + b"{}," * 250_000 + b"{}]"
    for path, body, kind in (
        ("/v1/chat/completions", b'{"model": "x", "messages": ' + many + b"}", "application/json"),
        ("/gradio_api/run/ocr", b'{"data": ' + many + b"}", "application/json"),
        ("/gradio_api/queue/join", many, "text/plain"),  # (counted whatever the Content-Type says; /component_server,
        ("/gradio_api/queue/join", many, None),  # which Gradio parses as JSON whatever it says, is not served: a 404)
    ):
        response = server.post(path, content=body, headers={"Content-Type": kind} if kind else {})
        assert response.status_code == 400 and b"more than 200,000 items" in response.content, (path, response.text[:300])
    assert server.get("/health").status_code == 200


def test_a_file_is_refused_while_the_disk_would_keep_too_little_free(settings):
    # (a client sending files as fast as it can filled the disk before their lifetime ended: 600 MB in 1.9 s per call)
    with live(settings, limits={"min_free_disk_mb": 10**9}) as (client, _):  # (more than any disk has free)
        for path, files in (
            ("/ocr", {"file": ("a.png", b"x" * 1000)}),
            ("/batch/ocr", [("files", ("a.png", b"x" * 1000))]),
            ("/gradio_api/upload", {"files": ("a.png", b"x" * 1000)}),
        ):
            response = client.post(path, files=files)
            assert response.status_code == 503 and response.headers["Retry-After"] == "60", (path, response.text[:200])
            assert "short of disk space" in response.text
        assert client.get("/health").status_code == 200  # the rest is served
        assert client.post("/v1/chat/completions", json={}).status_code == 400  # (JSON bodies stay in memory)
