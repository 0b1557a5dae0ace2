"""Gradio's own routes given what they cannot use answer 4xx with the reason and add at most a short line to the log
(an attack pass). Before, each raised and wrote two tracebacks (~15 KB) with a 500: an upload whose multipart boundary
is over 256 characters, an upload whose client leaves before its body has come, a component server call naming no
component (no component here has server functions), a PWA icon of size 0 or -1 and an asset whose name is longer than
a file name can be; a PWA icon of size 99,999 (a 40 GB image, drawn on the event loop) got the server killed for memory.
An upload whose client left also left its part-written file behind, for good."""

from __future__ import annotations

import os
import socket
import time
import uuid

import pytest

from tests.polling import wait_until

from .log_capture import SHORT, show, size_of, written


def left_mid_body(base_url: str, path: str, head: bytes, declared: int, sent: int, fill: bytes = b"x") -> None:
    """A client that sends ``sent`` bytes of a ``declared``-byte multipart body to ``path``, then leaves."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {declared}\r\n\r\n".encode()
            + head
            + (fill * sent)[: sent - len(head)]
        )
        time.sleep(0.5)  # (the server has begun to write the part)


def test_an_upload_with_a_boundary_gradio_cannot_parse_is_a_400(open_server, capsys):
    with written(capsys) as text:
        answer = open_server.post(
            "/gradio_api/upload", content=b"x", headers={"Content-Type": "multipart/form-data; boundary=" + "b" * 300}
        )
    assert answer.status_code == 400 and "multipart" in answer.json()["detail"], answer.text[:300]
    assert size_of(text) < SHORT and "Traceback" not in "".join(text), show(text)


HEAD = b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'


def test_an_upload_whose_client_leaves_midway_is_no_traceback(open_server, capsys):
    with written(capsys) as text:
        left_mid_body(str(open_server.base_url), "/gradio_api/upload", HEAD, 300_000, 100_000)
    assert size_of(text) < SHORT and "Traceback" not in "".join(text), show(text)
    assert open_server.get("/health").status_code == 200


def uploads_of(marker: bytes) -> list[str]:
    """The files under Gradio's upload folder that begin with ``marker``."""
    from gradio.utils import get_upload_folder

    found = []
    for folder, _, names in os.walk(get_upload_folder()):
        for name in names:
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as file:
                    if file.read(len(marker)) == marker:
                        found.append(path)
            except OSError:  # (another test's, deleted meanwhile)
                pass
    return found


def test_an_upload_whose_client_leaves_midway_leaves_no_file_behind(open_server):
    """Gradio removed a part-written upload only when the body could not be parsed: one whose client left stayed in its
    upload folder for good (no lifetime, no quota: a client could fill the disk 20 MB at a time)."""
    marker = uuid.uuid4().hex.encode()
    left_mid_body(str(open_server.base_url), "/gradio_api/upload", HEAD, 3_000_000, 1_000_000, fill=marker)
    assert wait_until(lambda: uploads_of(marker) == [], timeout=10), uploads_of(marker)
    assert open_server.get("/health").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"session_hash": "x", "component_id": 999_999, "fn_name": "ls", "data": None},
        {"session_hash": "x", "component_id": 5, "fn_name": "__init__", "data": None},
    ],
    ids=["unknown-component", "no-server-function"],
)
def test_the_component_server_route_is_not_served(open_server, capsys, body):
    with written(capsys) as text:
        answer = open_server.post("/gradio_api/component_server", json=body)
        multipart = open_server.post("/gradio_api/component_server", files={"data": ("x", b"y")})
    assert answer.status_code == 404 and multipart.status_code == 404, (answer.text[:200], multipart.text[:200])
    assert size_of(text) < 2 * SHORT and "Traceback" not in "".join(text), show(text)


@pytest.mark.parametrize("size", ["0", "-1", "1000", "x"])  # (1000: any size but the manifest's, as 99999 was; that one
# is not sent here, where the code before this test would try to draw it)
def test_a_pwa_icon_of_a_size_the_manifest_names_not_is_a_404(open_server, capsys, size):
    with written(capsys) as text:
        answer = open_server.get(f"/pwa_icon/{size}")
    assert answer.status_code == 404, answer.text[:200]
    assert size_of(text) < SHORT and "Traceback" not in "".join(text), show(text)


def test_the_icons_the_manifest_names_are_served(open_server):
    icons = open_server.get("/manifest.json").json()["icons"]
    for icon in icons:
        answer = open_server.get(icon["src"])
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png", icon


@pytest.mark.parametrize("path", ["/assets/", "/static/", "/static/img/"])
def test_a_file_name_longer_than_a_file_name_can_be_is_a_404(open_server, capsys, path):
    """Gradio's asset routes stat the file the URL names: a name over 255 bytes raised there (a 500, and two
    tracebacks that named it twice: ~17 KB, and 4 bytes more for each byte of the name)."""
    with written(capsys) as text:
        answer = open_server.get(path + "n" * 300)
    assert answer.status_code == 404, answer.text[:200]
    assert size_of(text) < SHORT and "Traceback" not in "".join(text), show(text)
    assert open_server.get("/static/img/logo.svg").status_code == 200
