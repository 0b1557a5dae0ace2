"""The sign-in's ``next``: only a path on this server follows a sign-in (no open redirect), whatever way a browser
might read it as another host (a scheme, ``//``, a backslash it reads as a slash, a control character it drops); a
local page asked for (``/?view=api``) is kept."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import USER_KEY as USER  # the keys of the session's keyed_server

ELSEWHERE = ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/\\/evil.example", "/\t/evil.example", "/\x00x"]


@pytest.mark.parametrize("elsewhere", ELSEWHERE)
def test_next_never_leads_to_another_host(keyed_server, elsewhere):
    with httpx.Client(base_url=keyed_server, timeout=60) as browser:
        signed_in = browser.post("/login", data={"key": USER, "next": elsewhere}, follow_redirects=False)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/", elsewhere
        assert 'name="next" value="/"' in browser.get("/login", params={"next": elsewhere}).text


def test_a_local_page_asked_for_is_kept(keyed_server):
    with httpx.Client(base_url=keyed_server, timeout=60) as browser:
        kept = browser.post("/login", data={"key": USER, "next": "/?view=api"}, follow_redirects=False)
        assert kept.status_code == 303 and kept.headers["location"] == "/?view=api"


def test_another_sites_link_to_the_sign_out_leaves_the_browser_signed_in(keyed_server):
    """(an attack pass: any page could sign a browser out with a link or a redirect; browsers say where a navigation
    came from in Sec-Fetch-Site, and the session cookie, SameSite=Lax, comes with a top-level navigation)"""
    with httpx.Client(base_url=keyed_server, timeout=60) as browser:
        assert browser.post("/login", data={"key": USER}, follow_redirects=False).status_code == 303
        away = browser.get("/logout", headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False)
        assert away.status_code == 303 and away.headers["location"] == "/"
        assert browser.get("/models").status_code == 200  # still signed in
        kept = dict(browser.cookies)
        out = browser.get("/logout", headers={"Sec-Fetch-Site": "same-origin"}, follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert browser.get("/models", cookies=kept).status_code == 401  # the session is closed, not only forgotten
