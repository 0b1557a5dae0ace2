"""A person's path: headless Chromium opens the UI, uploads an image in the OCR tab and sees the text."""

import os
import re

import pytest

from tests.browser.conftest import ARGS, CHROMIUM, playwright
from tests.polling import wait_until

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")


def test_ocr_tab_reads_an_uploaded_image(live_server, english_file, tmp_path):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            console: list[str] = []
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
            page.goto(f"{live_server}/", wait_until="domcontentloaded")
            try:
                # The page builds itself from /config after load; on a busy machine that takes a while.
                playwright.expect(page.get_by_role("tab", name="OCR")).to_be_visible(timeout=60_000)
            except AssertionError as error:
                page.screenshot(path=str(tmp_path / "no-tabs.png"), full_page=True)
                raise AssertionError(f"{error}\nbrowser console:\n" + "\n".join(console[-30:])) from None
            page.locator("input[type=file]").first.set_input_files(str(english_file))
            page.get_by_role("button", name="Extract text").click()
            text = page.locator("#ocr-text textarea")
            playwright.expect(text).to_have_value(re.compile("Invoice"), timeout=60_000)
            assert "318.40" in text.input_value()
            page.screenshot(path=os.environ.get("CHATVLM_SCREENSHOT", str(tmp_path / "ocr.png")), full_page=True)
        finally:
            browser.close()


def test_chat_tab_stop_ends_the_generation_on_the_server(tiny_settings, english_file):
    """Send in the Chat tab starts a long answer; Stop ends it on the server, and the model unloads at once."""
    import time

    import httpx

    from tests.conftest import serve_in_thread, without_loop_cut

    settings = without_loop_cut(tiny_settings.model_copy(deep=True))
    settings.defaults.max_tokens = 4000  # the tiny model never stops on its own: only Stop ends this answer
    with serve_in_thread(settings) as (base, service), playwright.sync_playwright() as p:
        model_id = service.default_model("chat")  # what the Chat tab offers first
        service.load_model(model_id)
        runner = service.manager.runner(model_id)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/", wait_until="domcontentloaded")
            playwright.expect(page.get_by_role("tab", name="Chat")).to_be_visible(timeout=60_000)
            page.get_by_role("tab", name="Chat").click()
            page.locator("#chat-image input[type=file]").set_input_files(str(english_file))
            page.locator("#chat-prompt textarea").fill("Describe the image")
            page.locator("#chat-send").click()
            assert wait_until(lambda: runner.running == 1, 60), "the answer to start"
            page.locator("#chat-stop").click()
            assert wait_until(lambda: runner.running == 0, 10), "Stop to end the generation"
            started = time.monotonic()
            assert httpx.delete(f"{base}/models/{model_id}", timeout=60).status_code == 200
            assert time.monotonic() - started < 10
        finally:
            browser.close()


def test_with_api_keys_the_browser_signs_in_then_reads_an_image(keyed_server, english_file):
    from tests.conftest import USER_KEY

    base = keyed_server
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/?view=api", wait_until="domcontentloaded")
            assert "/login" in page.url  # asked to sign in first
            page.locator("#key").fill("wrong-key-000000")
            page.get_by_role("button", name="Sign in").click()
            playwright.expect(page.get_by_text("That key is not valid.")).to_be_visible()
            page.locator("#key").fill(USER_KEY)
            page.get_by_role("button", name="Sign in").click()
            playwright.expect(page.get_by_role("tab", name="OCR")).to_be_visible(timeout=60_000)
            assert page.url == f"{base}/?view=api"  # the page asked for, kept through the sign-in
            # who is signed in (the key's role and fingerprint, never the key), and the way out
            playwright.expect(page.locator("#signed-in")).to_contain_text("Signed in as user (key-", timeout=30_000)
            assert USER_KEY not in page.content()
            assert page.locator("#signed-in").get_by_role("link", name="Sign out").get_attribute("href") == "/logout"
            page.goto(f"{base}/", wait_until="domcontentloaded")
            playwright.expect(page.get_by_role("tab", name="OCR")).to_be_visible(timeout=60_000)
            page.locator("input[type=file]").first.set_input_files(str(english_file))
            page.get_by_role("button", name="Extract text").click()
            playwright.expect(page.locator("#ocr-text textarea")).to_have_value(re.compile("Invoice"), timeout=60_000)
        finally:
            browser.close()
