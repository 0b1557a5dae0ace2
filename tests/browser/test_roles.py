"""With API keys on, the page is the signed-in key's (a fresh user's walk found it was the operator's): a user key is
shown neither the Models tab's Load and Unload (refused when pressed) but why, nor the operator's commands (the Models
table's notes, the Chat tab's banner: what an administrator can do instead); an admin key has the buttons and the
commands, as everyone has with keys off."""

from __future__ import annotations

import re

import httpx

from tests.browser.conftest import pages_kept, playwright
from tests.conftest import ADMIN_KEY, USER_KEY

expect = playwright.expect
COMMAND = re.compile(r"python -m |pip install |apt-get install ")


def signed_in(browser, base: str, key: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.console = []  # (what keep_failed keeps beside a failed page's screenshot)
    page.on("console", lambda message: page.console.append(f"{message.type}: {message.text}"))
    page.goto(f"{base}/login", wait_until="domcontentloaded")
    page.locator("#key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("tab", name="OCR")).to_be_visible(timeout=60_000)
    return page


def models_tab(page) -> str:
    """The Models tab once its table is in (it comes with the page's load, as the buttons do); its text."""
    page.get_by_role("tab", name="Models").click()
    expect(page.locator("#models-table")).to_contain_text("embedded", timeout=30_000)
    return page.locator("#models-table").inner_text()


def test_a_user_key_sees_what_it_may_do_an_admin_key_what_it_manages(keyed_server, browser, request):
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    how_tos = httpx.get(f"{keyed_server}/models", headers=headers, timeout=60).json()
    commands = any(COMMAND.search(m["note"] or "") for m in how_tos["available"] + how_tos["unavailable"])
    no_chat = not httpx.get(f"{keyed_server}/v1/models", headers=headers, timeout=60).json()["data"]
    with pages_kept(request.node.name) as pages:
        pages.append(user := signed_in(browser, keyed_server, USER_KEY))
        table = models_tab(user)
        expect(user.locator("#models-message")).to_contain_text("for an administrator", timeout=30_000)
        for hidden in ("#models-load", "#models-unload", "#models-choice"):
            expect(user.locator(hidden)).to_be_hidden()
        expect(user.locator("#models-refresh")).to_be_visible()  # (re-reading the table is anyone's)
        assert not COMMAND.search(table), table
        if commands:
            assert "an administrator can" in table, table
        user.get_by_role("tab", name="Chat").click()
        if no_chat:  # (on this host no model can chat: the banner says why)
            banner = user.locator("#chat-banner")
            expect(banner).to_contain_text("An administrator can add or fetch one", timeout=30_000)
            assert not COMMAND.search(banner.inner_text()), banner.inner_text()

        pages.append(admin := signed_in(browser, keyed_server, ADMIN_KEY))
        table = models_tab(admin)
        for shown in ("#models-load", "#models-unload", "#models-choice"):
            expect(admin.locator(shown)).to_be_visible(timeout=30_000)
        expect(admin.locator("#models-message")).not_to_contain_text("for an administrator")
        assert bool(COMMAND.search(table)) == commands, table
        if no_chat and commands:
            admin.get_by_role("tab", name="Chat").click()
            expect(admin.locator("#chat-banner")).to_contain_text("(see the Models tab)", timeout=30_000)
