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
