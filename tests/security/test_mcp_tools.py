"""The MCP tools (also the Gradio API's ocr_image, ocr_images): a list of images is counted before any is read, and a
URL's fetch (limits.image_urls on) runs off the event loop, so that a slow site holds no other request."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.helpers import ENGLISH, encode, render_lines
from tests.security.conftest import live
from tests.security.gradio_calls import run

PNG = encode(render_lines(ENGLISH[:1]))
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
PUBLIC_IP = "93.184.215.15"  # a global address; in the faked network it leads to the slow site


def test_a_list_of_images_is_counted_before_any_is_read(open_server):
    limit = 32  # limits.max_batch_files
    # (entries that would each fail alone if read: the count refuses them all first)
    status, body = run(open_server, "/gradio_api/run/ocr_images", [[DATA_URL] + ["not a URL"] * limit, "", ""])
    assert status == 400 and f"Too many files: {limit + 1} sent, at most {limit}" in json.loads(body)["error"]
    status, body = run(open_server, "/gradio_api/run/ocr_images", [[DATA_URL] * 2, "", ""])
    assert status == 200 and [entry["status"] for entry in json.loads(json.loads(body)["data"][0])] == ["success"] * 2


def test_a_slow_url_holds_no_other_request(settings, monkeypatch):
    class Slow(BaseHTTPRequestHandler):
        def do_GET(self):
            time.sleep(4)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, *args):
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection

    def getaddrinfo(host, port, *args, **kwargs):
        if host in ("slow.test", b"slow.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (PUBLIC_IP, int(port or 0)))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    def create_connection(address, *args, **kwargs):
        return real_connect(("127.0.0.1", site.server_address[1]) if address[0] == PUBLIC_IP else address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    try:
        with live(settings, limits={"image_urls": True}) as (client, _):
            url = f"http://slow.test:{site.server_address[1]}/page.png"
            answers = []
            caller = threading.Thread(target=lambda: answers.append(run(client, "/gradio_api/run/ocr_image", [url, "", ""])))
            caller.start()
            time.sleep(1)  # the fetch is under way
            started = time.monotonic()
            assert client.get("/health").status_code == 200
            waited = time.monotonic() - started
            caller.join(60)
            assert answers and answers[0][0] == 200, answers
            assert waited < 2, f"/health waited {waited:.1f} s behind a URL's fetch"
    finally:
        site.shutdown()
        site.server_close()
