"""SSRF through image URLs (``limits.image_urls`` on): DNS rebinding and IPv6 forms of private IPv4 addresses.

The outside world is faked at the socket level: a name server that answers a public address for the first lookup
of ``rebind.test`` and loopback for every later one (DNS rebinding), and a network in which that public address
reaches a local HTTP server standing for the public site. An "internal" HTTP server on 127.0.0.1 records every
request it gets: the server must never reach it."""

from __future__ import annotations

import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

import pytest

from inference.errors import BadInput
from inference.image_urls import read
from inference.pinned_fetch import is_public
from inference.settings import LimitSettings
from tests.helpers import ENGLISH, encode, render_lines
from tests.security.conftest import live

PNG = encode(render_lines(ENGLISH[:1]))
PUBLIC_IP = "93.184.215.14"  # a global address; in the faked network it leads to the "public" server
ALLOWED = LimitSettings(image_urls=True)

# IPv6 forms that carry a private IPv4 address (127.0.0.1, 10.0.0.1, 169.254.169.254)
EMBEDDED_PRIVATE = [
    "64:ff9b::7f00:1",  # NAT64 well-known prefix
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::a00:1",  # NAT64 local-use prefix
    "2002:7f00:1::1",  # 6to4
    "2002:a00:1::1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (obfuscated)
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:a9fe:a9fe",
    "::127.0.0.1",  # IPv4-compatible
    "::a00:1",
    "::ffff:0:7f00:1",  # IPv4-translated (SIIT)
]


class Site:
    """A local HTTP server that serves PNG (``/to/<url>`` redirects there, ``/loop`` to itself) and records each
    request's Host header; ``delay_s``: how long it takes before it answers (``asked`` is set when a request came)."""

    def __init__(self):
        self.hosts: list[str] = []
        self.delay_s = 0.0
        self.asked = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.hosts.append(self.headers.get("Host", ""))
                site.asked.set()
                time.sleep(site.delay_s)
                if self.path.startswith("/to/") or self.path == "/loop":
                    self.send_response(302)
                    self.send_header("Location", unquote(self.path[4:]) if self.path != "/loop" else "/loop")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PNG)))
                self.end_headers()
                self.wfile.write(PNG)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def sites():
    internal, public = Site(), Site()
    yield internal, public
    internal.close()
    public.close()


@pytest.fixture
def rebinding(monkeypatch, sites):
    """The faked outside world: rebind.test answers PUBLIC_IP once, then 127.0.0.1; PUBLIC_IP leads to the public
    site. Yields the internal site (which must stay untouched) and the public one."""
    internal, public = sites
    for site in sites:
        site.hosts.clear()
        site.delay_s = 0.0
        site.asked.clear()
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection
    lookups = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host in ("rebind.test", b"rebind.test"):
            lookups.append(host)
            address = PUBLIC_IP if len(lookups) == 1 else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    def create_connection(address, *args, **kwargs):
        if address[0] == PUBLIC_IP:
            return real_connect(("127.0.0.1", public.port), *args, **kwargs)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    yield internal, public


def test_rebinding_connects_to_the_checked_address_never_to_loopback(rebinding):
    internal, public = rebinding
    url = f"http://rebind.test:{internal.port}/picture.png"
    assert read(url, ALLOWED) == PNG  # fetched from the address that was checked ...
    assert internal.hosts == []  # ... never from the loopback one the second lookup would have given
    assert public.hosts == [f"rebind.test:{internal.port}"]  # and the name stays in the Host header


def test_each_redirect_hop_is_resolved_checked_and_pinned(rebinding):
    internal, public = rebinding
    names = {"start.test": [PUBLIC_IP], "inside.test": ["10.0.0.1"], "mapped.test": ["::ffff:127.0.0.1"]}

    def resolver(host, port):  # a resolver may be given; rebind.test goes to the faked name server
        return names[host] if host in names else [socket.getaddrinfo(host, port)[0][4][0]]

    def via_start(target: str) -> str:
        return f"http://start.test:{internal.port}/to/{quote(target, safe='')}"

    for target in (
        f"http://127.0.0.1:{internal.port}/a.png",
        f"http://inside.test:{internal.port}/a.png",
        f"http://mapped.test:{internal.port}/a.png",
        f"http://[64:ff9b::7f00:1]:{internal.port}/a.png",
    ):
        with pytest.raises(BadInput, match="not a public address"):
            read(via_start(target), ALLOWED, resolver=resolver)
    # a redirect to a rebinding name: its one lookup is checked and pinned too
    assert read(via_start(f"http://rebind.test:{internal.port}/b.png"), ALLOWED, resolver=resolver) == PNG
    assert internal.hosts == []
    assert public.hosts[-2:] == [f"start.test:{internal.port}", f"rebind.test:{internal.port}"]
    with pytest.raises(BadInput, match="not an http"):
        read(via_start("file:///etc/passwd"), ALLOWED, resolver=resolver)
    with pytest.raises(BadInput, match="redirected more than"):
        read(f"http://start.test:{internal.port}/loop", ALLOWED, resolver=resolver)


@pytest.mark.parametrize("address", EMBEDDED_PRIVATE)
def test_ipv6_forms_of_private_ipv4_addresses_are_refused(address, sites):
    internal, _ = sites
    internal.hosts.clear()
    assert not is_public(address)
    with pytest.raises(BadInput, match="not a public address"):  # given as the URL's host
        read(f"http://[{address}]:{internal.port}/a.png", ALLOWED)
    with pytest.raises(BadInput, match="not a public address"):  # or as what a name resolves to
        read("http://named.test/a.png", ALLOWED, resolver=lambda host, port: [address])
    with pytest.raises(BadInput, match="not a public address"):  # one private answer among public ones is enough
        read("http://named.test/a.png", ALLOWED, resolver=lambda host, port: [PUBLIC_IP, address])
    assert internal.hosts == []


def test_public_addresses_in_the_same_forms_stay_allowed():
    # a host behind NAT64 (IPv6-only networks) or 6to4 reaching a public IPv4 address is a public site
    for address in ("8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2606:4700:4700::1111", "::ffff:8.8.8.8"):
        assert is_public(address), address


def test_chat_completions_refuse_private_image_urls_with_a_clear_400(settings, rebinding, tmp_path):
    internal, public = rebinding
    (tmp_path / "config.json").write_text("{}")  # weights that seem here (a request never fetches any), but cannot load
    settings = settings.model_copy(deep=True)
    next(spec for spec in settings.models if spec.id == "qwen3_vl_2b").source = str(tmp_path)
    with live(settings, limits={"image_urls": True}) as (client, _):

        def ask(url):
            return client.post(
                "/v1/chat/completions",
                json={
                    "model": "qwen3_vl_2b",
                    "messages": [
                        {
                            "role": "user",
                            "content": [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": "Describe"}],
                        }
                    ],
                },
            )

        for url in (
            f"http://[64:ff9b::7f00:1]:{internal.port}/a.png",
            f"http://[::127.0.0.1]:{internal.port}/a.png",
            f"http://[2002:7f00:1::1]:{internal.port}/a.png",
            f"http://127.0.0.1:{internal.port}/a.png",
        ):
            response = ask(url)
            assert response.status_code == 400, (url, response.text)
            assert "not a public address" in response.json()["error"]["message"]
        rebound = ask(f"http://rebind.test:{internal.port}/picture.png")  # weights that cannot load: 503 after the fetch
        assert rebound.status_code == 503, rebound.text  # the picture was fetched, then the model could not load
        assert internal.hosts == [] and len(public.hosts) == 1  # ... the picture came from the checked address
        assert client.get("/health").status_code == 200


def test_a_url_in_a_gradio_file_input_is_fetched_by_the_servers_own_fetcher(settings, rebinding):
    # Gradio's own fetch took 100.64.0.0/10 for public and resolved the name again; the guard fetches the URL first
    # (checked, pinned) into the file Gradio looks for, so Gradio never fetches it
    from tests.security.gradio_calls import file_data, run

    internal, public = rebinding
    with live(settings, limits={"image_urls": True}) as (client, _):
        for url in (f"http://127.0.0.1:{internal.port}/a.png", f"http://[64:ff9b::7f00:1]:{internal.port}/a.png"):
            status, body = run(client, "/gradio_api/run/ocr", [file_data(url), "", ""])
            assert status == 400 and "not a public address" in body, (url, body)
        status, body = run(client, "/gradio_api/run/ocr", [file_data(f"http://rebind.test:{internal.port}/picture.png"), "", ""])
        assert status == 200, body
        assert internal.hosts == [] and public.hosts == [f"rebind.test:{internal.port}"]
        for odd in ("/x/..", "/", "/%2e%2e", "/a%00b.png", "/" + "n" * 300 + ".png"):  # names no file has: kept all the same
            status, body = run(client, "/gradio_api/run/ocr", [file_data(f"http://{PUBLIC_IP}:{internal.port}{odd}"), "", ""])
            assert status == 200, (odd, body)
        assert internal.hosts == []


def test_a_caller_over_its_rate_limit_gets_its_429_before_any_url_is_fetched(settings, rebinding):
    from tests.security.gradio_calls import file_data, run

    internal, public = rebinding
    with live(settings, limits={"image_urls": True, "rate_limit": "4/minute"}) as (client, _):
        url = file_data(f"http://{PUBLIC_IP}:{internal.port}/picture.png")
        # a call that names URLs counts one request more (its fetch), before the fetch; the references a file object
        # holds besides its own path are not fetched
        nested = {**url, "x": [file_data(f"http://{PUBLIC_IP}:{internal.port}/more.png")] * 5}
        assert [run(client, "/gradio_api/run/ocr", [ref, "", ""])[0] for ref in (url, nested)] == [200, 200]
        assert len(public.hosts) == 2
        status, body = run(client, "/gradio_api/run/ocr", [url, "", ""])
        assert status == 429 and "Too many requests" in body, body
        assert len(public.hosts) == 2  # (nothing fetched for the refused call)


def test_a_fetched_file_is_refused_while_the_disk_would_keep_too_little_free(settings, rebinding):
    from tests.security.gradio_calls import file_data, run

    internal, public = rebinding
    with live(settings, limits={"image_urls": True, "min_free_disk_mb": 10**9}) as (client, _):
        status, body = run(client, "/gradio_api/run/ocr", [file_data(f"http://{PUBLIC_IP}:{internal.port}/a.png"), "", ""])
        assert status == 503 and "short of disk space" in body, body


def test_a_fetched_file_counts_against_the_callers_upload_quota(settings, rebinding):
    from tests.security.gradio_calls import file_data, run, upload
    from ui.uploads import FILE_COST

    internal, public = rebinding
    with live(settings, limits={"image_urls": True, "upload_mb_per_key": 1}) as (client, _):
        filler = os.urandom(2**20 - 2 * FILE_COST)  # under the quota alone (with its cost on disk), over it with the picture
        assert upload(client, "filler.bin", filler).status_code == 200
        status, body = run(client, "/gradio_api/run/ocr", [file_data(f"http://{PUBLIC_IP}:{internal.port}/a.png"), "", ""])
        assert status == 429 and "limits.upload_mb_per_key" in body, body


@pytest.mark.slow  # a release check: timing of a slow server (a URL that answers in 4 s, ~6 s)
def test_a_slow_url_holds_no_other_request(settings, rebinding):
    # (the MCP tools fetched on the event loop: three slow URLs held /health 11.6 s)
    from tests.security.gradio_calls import run

    internal, public = rebinding
    public.delay_s = 4
    with live(settings, limits={"image_urls": True}) as (client, _):
        answers = []
        url = f"http://{PUBLIC_IP}:{internal.port}/page.png"
        caller = threading.Thread(target=lambda: answers.append(run(client, "/gradio_api/run/ocr_image", [url, "", ""])))
        caller.start()
        assert public.asked.wait(30)  # the fetch is under way
        started = time.monotonic()
        assert client.get("/health").status_code == 200
        waited = time.monotonic() - started
        caller.join(60)
        assert answers and answers[0][0] == 200, answers
        assert waited < 2, f"/health waited {waited:.1f} s behind a URL's fetch"
