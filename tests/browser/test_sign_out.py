"""Signing out with API keys on (a new user's walk): "Sign out" signs out in the same tab and lands on the sign-in page
(it opened /logout in a new tab, and the page stayed "Signed in as ..."); another tab of the same browser, whose
sign-in has ended with it, is sent to the sign-in page at its next action (it showed a raw toast: HTTP 401 and the REST
API's JSON)."""

from __future__ import annotations

import re
from contextlib import closing

from tests.browser.conftest import pages_kept, playwright
from tests.conftest import USER_KEY

expect = playwright.expect


def opened(context, url: str):
    page = context.new_page()
    page.console = []  # (what keep_failed keeps beside a failed page's screenshot)
    page.on("console", lambda message: page.console.append(f"{message.type}: {message.text}"))
    page.goto(url, wait_until="domcontentloaded")
    return page


def test_sign_out_signs_out_here_and_another_tab_is_sent_to_sign_in(keyed_server, browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # one browser's tabs: one sign-in (cookie)
    with pages_kept(request.node.name) as pages, closing(context):
        pages.append(first := opened(context, f"{keyed_server}/login"))
        first.locator("#key").fill(USER_KEY)
        first.get_by_role("button", name="Sign in").click()
        expect(first.get_by_role("tab", name="OCR")).to_be_visible(timeout=60_000)
        pages.append(second := opened(context, f"{keyed_server}/"))
        expect(second.get_by_role("tab", name="OCR")).to_be_visible(timeout=60_000)
        expect(second.locator("#signed-in")).to_contain_text("Signed in as user", timeout=30_000)

        expect(first.locator("#signed-in")).to_contain_text("Signed in as user", timeout=30_000)
        first.locator("#signed-in").get_by_role("link", name="Sign out").click()
        expect(first).to_have_url(re.compile(r"/login"), timeout=30_000)  # here, not in a new tab
        expect(first.locator("#key")).to_be_visible()
        assert len(context.pages) == 2, [p.url for p in context.pages]

        second.get_by_role("button", name="Extract text").click()  # an action in the tab whose sign-in ended
        expect(second).to_have_url(re.compile(r"/login\?next=/"), timeout=30_000)
        expect(second.locator("#key")).to_be_visible()
        second.locator("#key").fill(USER_KEY)  # signed in again: back on the page
        second.get_by_role("button", name="Sign in").click()
        expect(second.locator("#signed-in")).to_contain_text("Signed in as user", timeout=60_000)
        assert second.url == f"{keyed_server}/"
