"""A page on another site cannot show the UI in a frame (to lay it under its own buttons); an origin the operator
allowed (``server.frame_ancestors``, as a Space's huggingface.co) can, and the UI works there. Chromium decides, from
the server's ``Content-Security-Policy: frame-ancestors`` (api/headers.py). The two sites are real servers on this
machine (another port is another origin)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.browser.conftest import pages_kept, playwright
from tests.security.conftest import changed
from tests.servers import serve_in_thread

expect = playwright.expect


@contextmanager
def site(framed: list[str]):
    """A site on a free port whose one page shows ``framed[0]`` (set later) in an iframe; yields its origin."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            body = f'<html><body><iframe src="{framed[0]}/" width="1200" height="800"></iframe></body></html>'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def sites(settings):
    """(the UI's address, a friend's origin it names in server.frame_ancestors, a stranger's origin)."""
    framed: list[str] = []
    with (
        site(framed) as friend,
        site(framed) as stranger,
        serve_in_thread(changed(settings, server={"frame_ancestors": [friend]})) as (base, _),
    ):
        framed.append(base)
        yield base, friend, stranger


def framing(browser, origin: str):
    """The page of the site at ``origin``, with the UI in its iframe."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.console = []
    page.on("console", lambda message: page.console.append(f"{message.type}: {message.text}"))
    page.goto(f"{origin}/", wait_until="load")
    return page


def test_only_allowed_sites_show_the_ui_in_a_frame(sites, browser, request):
    framed_server, friend_site, stranger_site = sites
    with pages_kept(request.node.name) as pages:
        pages.append(stranger := framing(browser, stranger_site))
        frame = stranger.frames[1]
        assert frame.url.startswith("chrome-error://"), frame.url  # refused: the frame shows Chromium's error page

        pages.append(friend := framing(browser, friend_site))
        expect(friend.frame_locator("iframe").get_by_role("tab", name="OCR")).to_be_visible(timeout=60_000)
        assert friend.frames[1].url.startswith(framed_server)
