"""A person's path: headless Chromium opens the UI, uploads an image in the OCR tab and sees the text."""

import os
import re

import pytest

from tests.browser.conftest import ARTIFACTS, CHROMIUM, playwright, upload
from tests.polling import wait_until

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")


def test_ocr_tab_reads_an_uploaded_image(live_server, browser, english_file, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
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
        upload(page, "#ocr-image", english_file)  # (the upload ended: a click before it reads nothing)
        page.get_by_role("button", name="Extract text").click()
        text = page.locator("#ocr-text textarea")
        playwright.expect(text).to_have_value(re.compile("Invoice"), timeout=60_000)
        assert "318.40" in text.input_value()
        page.screenshot(path=os.environ.get("CHATVLM_SCREENSHOT", str(tmp_path / "ocr.png")), full_page=True)
    finally:
        page.close()


# Every text the Chat tab's conversation showed, in order (recorded in the page, so that a state that lasted a moment
# is seen however busy the machine is).
PLACEHOLDERS = "['Loading the model', 'Thinking…', 'Waiting for the answer above']"  # ui/chat_talk.py's
SEEN = """new MutationObserver(() => {
  const shown = document.querySelector('#chat-conversation'), seen = (window.__seen = window.__seen || []);
  if (shown && seen[seen.length - 1] !== shown.innerText) seen.push(shown.innerText);
}).observe(document, {subtree: true, childList: true, characterData: true});"""


def in_first_screen(page, selector: str, width: int, height: int) -> None:
    box = page.locator(selector).bounding_box()
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= height and box["x"] + box["width"] <= width, (selector, box)


def test_chat_tab_never_loses_what_is_typed_and_stop_ends_the_answer(tiny_settings, browser, english_file, tmp_path):
    """The Chat tab as a person uses it (issue 22): the message box is on a phone's first screen; a question shows
    at once while the model loads; a question sent while an answer comes waits its turn and is answered; streaming
    never wipes what is being typed; Stop (where Send was) ends the answer on the server and marks it stopped, and
    the model then unloads at once."""
    import time

    import httpx

    from tests.conftest import serve_in_thread, without_loop_cut
    from tests.servers import UNTIL_STOPPED

    settings = without_loop_cut(tiny_settings.model_copy(deep=True))
    settings.defaults.max_tokens = 4000  # the tiny model never stops on its own: only Stop ends such an answer
    with serve_in_thread(settings) as (base, service):
        model_id = service.default_model("chat")  # what the Chat tab offers first (not loaded yet)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        try:
            page.add_init_script(SEEN)
            page.goto(f"{base}/", wait_until="domcontentloaded")
            playwright.expect(page.get_by_role("tab", name="Chat")).to_be_visible(timeout=60_000)
            page.get_by_role("tab", name="Chat").click()
            page.locator("#chat-image input[type=file]").set_input_files(str(english_file))
            page.locator("#chat-image img").first.wait_for(timeout=30_000)
            for selector in ("#chat-prompt textarea", "#chat-send"):  # a phone: the message box on the first screen
                in_first_screen(page, selector, 390, 844)
            page.screenshot(path=str(tmp_path / "chat-phone.png"))
            page.set_viewport_size({"width": 1280, "height": 800})
            box, send, stop = page.locator("#chat-prompt textarea"), page.locator("#chat-send"), page.locator("#chat-stop")
            bots = page.locator("#chat-conversation [data-testid=bot]")
            page.get_by_text("Answer settings").click()
            tokens = page.locator("#chat-max-tokens input[type=number]")
            tokens.fill("6")  # short answers
            tokens.press("Enter")
            where = send.bounding_box()

            box.type("First")
            box.press("Enter")
            time.sleep(0.2)
            box.type("Second")  # sent while the first answer comes (the model is still loading)
            box.press("Enter")
            box.type("typing on")  # and typing goes on while the answers stream in
            answered = (
                "(n) => { const bots = document.querySelectorAll('#chat-conversation [data-testid=bot]');"
                f" return bots.length == n && {PLACEHOLDERS}.every((p) => !bots[n - 1].innerText.includes(p))"
                " && bots[n - 1].innerText.trim().length > 0; }"
            )
            page.wait_for_function(answered, arg=2, timeout=120_000, polling=50)
            playwright.expect(send).to_be_visible(timeout=30_000)
            asked = page.locator("#chat-conversation [data-testid=user]").all_inner_texts()
            assert [text.strip() for text in asked if text.strip()] == ["First", "Second"]  # both asked, in order
            assert not any(p in text for p in ("Loading the model", "Thinking", "Waiting") for text in bots.all_inner_texts())
            assert box.input_value() == "typing on"  # never cleared by the answers
            seen = page.evaluate("window.__seen")
            assert any("First" in text and "Loading the model" in text for text in seen), seen[:5]  # shown at once

            # Send is Stop while an answer comes, and Stop ends it (an answer that only a stop ends)
            tokens.fill(str(UNTIL_STOPPED))
            tokens.press("Enter")
            temperature = page.locator("#chat-temperature input[type=number]")
            temperature.fill("0")  # greedy: the tiny model's answer goes on (sampling may pick its end of text)
            temperature.press("Enter")
            box.fill("Third")
            box.press("Enter")
            playwright.expect(stop).to_be_visible(timeout=10_000)
            playwright.expect(send).to_be_hidden(timeout=10_000)
            assert abs(stop.bounding_box()["x"] - where["x"]) < 2  # one place, one action
            runner = service.manager.runner(model_id)
            assert wait_until(lambda: runner.running == 1, 60), "the third answer to start"
            box.type("keep me")  # typed while the answer comes
            stop.click()
            assert wait_until(lambda: runner.running == 0, 10), "Stop to end the generation"
            playwright.expect(bots.nth(2)).to_contain_text("(stopped)", timeout=10_000)
            playwright.expect(send).to_be_visible(timeout=10_000)
            assert box.input_value() == "keep me"
            page.screenshot(path=str(tmp_path / "chat-desktop.png"))
            started = time.monotonic()
            assert httpx.delete(f"{base}/models/{model_id}", timeout=60).status_code == 200
            assert time.monotonic() - started < 10

            page.get_by_text("Answer settings").click()  # closed again
            page.set_viewport_size({"width": 390, "height": 844})  # a phone, with a conversation on screen
            page.evaluate("window.scrollTo(0, 0)")
            in_first_screen(page, "#chat-prompt textarea", 390, 844)
            page.screenshot(path=str(tmp_path / "chat-phone-talk.png"))
        except BaseException:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "chat-tab-never-loses.png"), full_page=True)
            (ARTIFACTS / "chat-tab-never-loses.seen.txt").write_text("\n---\n".join(page.evaluate("window.__seen || []")))
            raise
        finally:
            page.close()


def test_with_api_keys_the_browser_signs_in_then_reads_an_image(keyed_server, browser, english_file):
    from tests.conftest import USER_KEY

    base = keyed_server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
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
        upload(page, "#ocr-image", english_file)
        page.get_by_role("button", name="Extract text").click()
        playwright.expect(page.locator("#ocr-text textarea")).to_have_value(re.compile("Invoice"), timeout=60_000)
    finally:
        page.close()
