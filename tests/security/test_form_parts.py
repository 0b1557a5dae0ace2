"""A multipart body's parts are counted as they come in (an attack pass): the parsers kept every form field and every
file part under 1 MiB in memory until the handler ran, so a 570 MB /batch/ocr of 600 one-MB files held 780 MB before
its "Too many files" 400, and one 600 MB field sent to Gradio's upload route held 1.7 GB (four at once: 3.6 GB). Now
the extra files, the extra fields and fields past 1 MiB are refused (400) while the rest of the body has not come:
these tests send the start of a body, and the server answers it before the end is sent. Ordinary forms still work."""

from __future__ import annotations

import json
import select
import socket
import time

BOUNDARY = "----parts"


def file_part(name: str, filename: str, data: bytes) -> bytes:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
    return head.encode() + b"Content-Type: image/png\r\n\r\n" + data + b"\r\n"


def field_part(name: str, value: bytes) -> bytes:
    return f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"


def answer_to_a_start(client, path: str, start: bytes, declared: int) -> tuple[int, dict] | None:
    """Send a request declaring a ``declared``-byte body, only its ``start``, then wait: (status, JSON body) of an
    answer given before the rest came, or None when the server waited for the rest (30 s)."""
    host, port = client.base_url.host, client.base_url.port
    with socket.create_connection((host, port), timeout=30) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {declared}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
        )
        sock.sendall(head.encode() + start)
        response, deadline = b"", time.monotonic() + 30
        while time.monotonic() < deadline and select.select([sock], [], [], deadline - time.monotonic())[0]:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            response += chunk
            head_bytes, _, body = response.partition(b"\r\n\r\n")
            if body and body.rstrip().endswith(b"}"):
                return int(head_bytes.split()[1]), json.loads(body)
        return None


def test_files_past_a_batch_are_refused_before_the_rest_of_the_body(open_server, settings):
    limit = settings.limits.max_batch_files
    start = b"".join(file_part("files", f"{i}.png", b"\x89PNG" + b"\0" * 1000) for i in range(limit + 8))
    got = answer_to_a_start(open_server, "/batch/ocr", start, declared=len(start) + 300 * 1024 * 1024)
    assert got is not None, "the server held the parts and waited for the rest of the body"
    status, body = got
    assert status == 400 and f"Too many files: more than {limit}" in body["detail"], body
    assert "Traceback" not in json.dumps(body)


def test_a_large_field_is_refused_before_the_rest_on_the_rest_routes_and_gradios_upload(open_server):
    start = field_part("x", b"a" * (2 * 1024 * 1024))  # two MiB of one field, of a 12 MB body
    for path in ("/gradio_api/upload", "/jobs", "/chat"):
        got = answer_to_a_start(open_server, path, start, declared=len(start) + 10 * 1024 * 1024)
        assert got is not None, f"{path}: the server held the field and waited for the rest of the body"
        status, body = got
        assert status == 400 and "fields are larger than 1 MiB" in body["detail"], (path, body)


def test_many_fields_are_refused_before_the_rest(open_server):
    start = b"".join(field_part(f"f{i}", b"1") for i in range(100))
    got = answer_to_a_start(open_server, "/ocr", start, declared=len(start) + 20 * 1024 * 1024)
    assert got is not None, "the server held the fields and waited for the rest of the body"
    status, body = got
    assert status == 400 and "more than 64 fields" in body["detail"], body


def test_ordinary_forms_and_uploads_are_read_as_before(open_server, english_png):
    image = english_png
    files = [("files", (f"{i}.png", image, "image/png")) for i in range(3)]
    response = open_server.post("/batch/ocr", files=files, data={"model": "embedded", "language": "en", "pages": "1"})
    assert response.status_code == 200 and response.json()["successful"] == 3, response.text
    prompt = "x" * 9000  # over limits.max_prompt_chars: the route's own answer, not the form's
    response = open_server.post("/chat", files={"file": ("a.png", image)}, data={"prompt": prompt, "model": "rapidocr"})
    assert response.status_code == 400 and "cannot chat" in response.json()["detail"], response.text
    uploaded = open_server.post("/gradio_api/upload", files=[("files", ("a.png", image, "image/png"))])
    assert uploaded.status_code == 200 and len(uploaded.json()) == 1, uploaded.text
