"""Servers the server calls that answer a byte at a time (an attack pass): httpx's timeouts are per read, so a job's
callback URL, or an image URL, whose server sent its answer's head a byte every second (every 9 s: 100 KB of head
take ten days) held the attempt, and its thread, as long as it dripped. Four such callbacks held every callback of
the server, another key's too (none delivered in 120 s); each fetch of such an image URL held a thread for good. Now
each exchange ends at its time limit (inference/pinned_fetch.py ``Deadline``: 10 s): the callback's attempt is a
"timeout" and the others are delivered; the image URL is a 400 that says it could not be fetched."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import ENGLISH, encode, render_lines
from tests.polling import wait_until
from tests.security.conftest import live

pytestmark = pytest.mark.slow  # (each waits out a time limit: ~25 s)

PNG = encode(render_lines(ENGLISH[:1]))
SECRET = "slow-answers-secret-0123456789"
PUBLIC_IP = "93.184.215.15"  # a global address; in the faked network it leads to the dripping server


class Dripper:
    """A server that reads a request, then sends an answer's head a byte a second, for as long as it runs."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 100_000:
                if self.stopped.wait(1.0):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


class Receiver:
    """A callback endpoint that answers 200 at once and keeps the paths it was called at."""

    def __init__(self):
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def dripper():
    server = Dripper()
    yield server
    server.close()


def test_callbacks_that_drip_their_answer_end_at_the_time_limit_and_others_are_delivered(settings, dripper, tmp_path):
    receiver = Receiver()
    jobs = {"callback_secret": SECRET, "callback_allow_private": True, "callback_retries": 0}
    try:  # (its own jobs' database: no other server's deliverer claims its callbacks)
        with live(settings, jobs=jobs, server={"data_dir": str(tmp_path)}) as (client, _):

            def submit(url: str) -> str:
                response = client.post("/jobs", files=[("files", ("a.png", PNG))], data={"callback_url": url})
                assert response.status_code == 202, response.text
                return response.json()["id"]

            dripping = [submit(f"http://127.0.0.1:{dripper.port}/slow{i}") for i in range(4)]  # every hand of the
            assert wait_until(lambda: dripper.connections >= 4, timeout=60, every=0.1)  # deliverer
            other = submit(f"http://127.0.0.1:{receiver.port}/other")
            assert wait_until(lambda: receiver.paths == ["/other"], timeout=60, every=0.1), "the other's callback waits"
            assert wait_until(lambda: client.get(f"/jobs/{dripping[0]}").json()["callback"]["attempts"], 60, every=0.2)
            ended = client.get(f"/jobs/{dripping[0]}").json()["callback"]
            assert ended["attempts"] == 1 and ended["last_error"] == "timeout" and not ended["delivered"], ended
            assert client.get(f"/jobs/{other}").json()["callback"]["delivered"] is True
    finally:
        receiver.close()


def test_an_image_url_that_drips_its_answer_is_a_400_at_the_time_limit(settings, dripper, monkeypatch):
    from tests.security.gradio_calls import run

    real_connect = socket.create_connection

    def create_connection(address, *args, **kwargs):  # the faked network: PUBLIC_IP leads to the dripping server
        if address[0] == PUBLIC_IP:
            return real_connect(("127.0.0.1", dripper.port), *args, **kwargs)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    with live(settings, limits={"image_urls": True}) as (client, _):
        started = time.monotonic()
        status, body = run(client, "/gradio_api/run/ocr_image", [f"http://{PUBLIC_IP}/page.png", "", ""])
        took = time.monotonic() - started
        assert status == 400 and "could not be fetched" in body, body
        assert took < 60, f"the fetch took {took:.0f} s"
        assert client.get("/health").status_code == 200
