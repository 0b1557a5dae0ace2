"""SSRF through job callbacks (``callback_url`` on POST /jobs), a new way for a client to make the server send a
request: a loopback, private, link-local or IPv6-embedded private address is refused at submit with a clear 400
(unless ``jobs.callback_allow_private``), a URL with credentials or another scheme too, no callback is taken
without a signing secret, and a name that resolves to a public address at submit and to loopback later (DNS
rebinding) is not called at delivery either. An "internal" HTTP server on 127.0.0.1 records every request: the
server must never reach it."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from inference.callbacks import check_url
from inference.errors import BadInput
from inference.settings import JobSettings
from tests.e2e.test_jobs import wait_for
from tests.helpers import encode, render_lines
from tests.security.conftest import KEYS, USER, live

SECRET = "guard-callback-secret-0123456789"
PUBLIC_IP = "93.184.215.14"  # a global address (never reached: the rebinding test sends nothing to it)
PNG = encode(render_lines(["Guarded 5"]))


def auth(key: str = USER) -> dict:
    return {"Authorization": f"Bearer {key}"}


class Internal:
    """An HTTP server on loopback standing for an internal service: records each request's path."""

    def __init__(self):
        self.paths: list[str] = []
        internal = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                internal.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def internal():
    site = Internal()
    yield site
    site.close()


@pytest.fixture(scope="module")
def server(settings, tmp_path_factory):
    jobs = {"callback_secret": SECRET, "callback_retries": 1, "callback_backoff_s": 0.2}  # private addresses refused
    data = {"data_dir": str(tmp_path_factory.mktemp("guard-data"))}
    with live(settings, auth={"api_keys": KEYS}, jobs=jobs, server=data) as (client, _):
        yield client


def submit(client, callback_url: str):
    return client.post("/jobs", files=[("files", ("a.png", PNG))], data={"callback_url": callback_url}, headers=auth())


def test_private_and_loopback_callback_urls_are_refused_at_submit(server, internal):
    port = internal.port
    for url in (
        f"http://127.0.0.1:{port}/hook",
        f"http://localhost:{port}/hook",
        f"http://[::1]:{port}/hook",
        f"http://[::ffff:127.0.0.1]:{port}/hook",  # IPv4-mapped loopback
        f"http://[64:ff9b::7f00:1]:{port}/hook",  # NAT64 of loopback
        f"http://2130706433:{port}/hook",  # 127.0.0.1 as one number
        f"http://0.0.0.0:{port}/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "http://does-not-resolve.invalid/hook",
    ):
        response = submit(server, url)
        assert response.status_code == 400, (url, response.text)
        detail = response.json()["detail"]
        assert "not a public address" in detail and "callback_allow_private" in detail, (url, detail)
    for url, expected in (
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "http:// or https://"),
        (f"http://admin:hunter2@127.0.0.1:{port}/hook", "user name or password"),
    ):
        response = submit(server, url)
        assert response.status_code == 400 and expected in response.json()["detail"], (url, response.text)
        assert "hunter2" not in response.text
    assert server.get("/jobs", headers=auth()).json()["jobs"] == []  # no job was made of any of them
    time.sleep(0.6)  # a deliverer's poll: nothing is due, and nothing reached the internal server
    assert internal.paths == []


def test_no_secret_no_callbacks():
    with pytest.raises(BadInput, match="callback_secret"):
        check_url("https://example.com/hook", JobSettings())  # refused before any lookup: unsigned calls are forgeable
    opened = JobSettings(callback_secret=SECRET, callback_allow_private=True)
    assert check_url(" http://127.0.0.1:9/hook ", opened) == "http://127.0.0.1:9/hook"  # allowed by configuration


def test_a_name_rebound_to_loopback_after_submit_is_not_called(server, internal, monkeypatch):
    """rebind.test answers a public address at submit and loopback at every later lookup: each delivery attempt
    resolves, checks and would connect to what it checked; it refuses, and the internal server stays untouched."""
    internal.paths.clear()
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host in ("rebind.test", b"rebind.test"):
            lookups.append(host)
            address = PUBLIC_IP if len(lookups) == 1 else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    response = submit(server, f"http://rebind.test:{internal.port}/hook")
    assert response.status_code == 202, response.text
    url = f"/jobs/{response.json()['id']}"
    ended = wait_for(
        lambda: server.get(url, headers=auth()).json(),
        lambda b: b["callback"]["attempts"] and b["callback"]["next_attempt_at"] is None,
        30,
    )
    assert internal.paths == []  # never reached
    assert ended["state"] == "done" and len(lookups) == 3  # submit, then one lookup per attempt
    assert ended["callback"] == {
        "attempts": 2,  # the first and callback_retries (1) more, then it gives up
        "last_status": None,
        "last_error": "not a public address",
        "delivered": False,
        "next_attempt_at": None,
    }
