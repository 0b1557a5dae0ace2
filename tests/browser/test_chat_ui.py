"""Chat that feels like chat, in the browser (Playwright + Debian's Chromium): a question typed over two lines, the
answer streamed in with the image, Retry asking again, a new image starting a new conversation; the Gradio queue's
messages recorded in the page and kept when it fails."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx
from PIL import Image, PngImagePlugin

from tests.browser.conftest import ARTIFACTS, playwright, upload
from tests.helpers import render_lines

METRICS = httpx.Client(timeout=10)  # one client for the polls: each of httpx.get's loads the CA certificates (~25 ms)


def answered(server: str) -> float:
    """How many batches (a stream counts as one, once it has ended) the server's models have answered, by /metrics."""
    text = METRICS.get(f"{server}/metrics").text
    return sum(float(v) for v in re.findall(r"^chatvlm_batch_size_count\{[^}]*\} (\S+)$", text, re.MULTILINE))


def settled(page, selector: str, quiet_s: float = 1.0, timeout: float = 30.0) -> None:
    """Wait until the element's text has not changed for ``quiet_s`` (the last updates of an event have arrived)."""
    end, last, since = time.monotonic() + timeout, None, time.monotonic()
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < end, f"{selector} kept changing"
        text = page.locator(selector).inner_text()
        if text != last:
            last, since = text, time.monotonic()
        time.sleep(0.1)


# The Gradio queue's messages as the page sends and receives them, each with its time in ms: the events it joins
# (fn_index, trigger) and the ids they get, and every message of the SSE stream of /gradio_api/queue/data (its
# kind, event and a summary of the outputs). Kept in test-artifacts when the chat test fails.
QUEUE_RECORDER = """(() => {
  const t0 = performance.now(), log = window.__queue = [];
  const note = (text) => log.push(`${(performance.now() - t0).toFixed(0)} ${text}`);
  const brief = (value) => Array.isArray(value) ? `[${value.length}]` : value && typeof value === "object"
    ? (value.__type__ || "{" + Object.keys(value).slice(0, 3).join(",") + "}") : JSON.stringify(value ?? null).slice(0, 40);
  const fetch = window.fetch;
  window.fetch = async function (input, init) {
    const url = typeof input === "string" ? input : input.url;
    let join = null;
    if (url.includes("/queue/join")) {
      try { join = JSON.parse(init.body); } catch (e) { join = {}; }
      note(`join fn=${join.fn_index} trigger=${join.trigger_id} data=${(join.data || []).map(brief).join(" ")}`);
    } else if (url.includes("cancel")) note(`cancel ${init && init.body}`);
    const response = await fetch.apply(this, arguments);
    if (join) response.clone().json().then((r) => note(`joined fn=${join.fn_index} event=${String(r.event_id).slice(0, 6)}`));
    if (!url.includes("/queue/data") || !response.body) return response;
    note("stream opened");
    const [mine, theirs] = response.body.tee(), reader = theirs.getReader(), text = new TextDecoder();
    (async () => {
      let rest = "";
      for (;;) {
        const {value, done} = await reader.read().catch((e) => ({done: true}));
        if (done) { note("stream ended"); break; }
        const parts = (rest + text.decode(value, {stream: true})).split("\\n\\n");
        rest = parts.pop();
        for (const part of parts) {
          if (!part.startsWith("data:")) continue;
          const m = JSON.parse(part.slice(5));
          const out = m.output && m.output.data ? " out=" + m.output.data.map(brief).join(" ") : "";
          const failed = m.success === false ? " FAILED: " + String((m.output || {}).error).slice(0, 120) : "";
          note(`${m.msg} ${String(m.event_id || "").slice(0, 6)}${out}${failed}`);
        }
      }
    })();
    return new Response(mine, {status: response.status, statusText: response.statusText, headers: response.headers});
  };
})();"""


def test_chat_feels_like_chat(tiny_server, browser, english_file, tmp_path, request):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(QUEUE_RECORDER)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    try:
        page.goto(f"{tiny_server}/", wait_until="domcontentloaded")
        playwright.expect(page.get_by_role("tab", name="OCR")).to_be_visible(timeout=60_000)
        chat_like_a_person(page, tiny_server, english_file, tmp_path)
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{request.node.name}.queue.txt").write_text("\n".join(page.evaluate("window.__queue || []")))
        (ARTIFACTS / f"{request.node.name}.console.txt").write_text("\n".join(console))
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        raise
    finally:
        page.close()


def answer_ended(server: str, page, before: float) -> None:
    """Wait until an answer begun after ``before`` (answered()'s count) has ended on the server, and its last
    words have reached the page."""
    end = time.monotonic() + 60
    while answered(server) <= before:
        assert time.monotonic() < end, "the question was not answered"
        time.sleep(0.05)
    settled(page, "#chat-conversation")


def only_ours(image: Image.Image, path: Path) -> Path:
    """The image saved with a mark of its own (a PNG text chunk): Gradio keeps an upload at a path made from its
    content and a seed shared by every server on this machine, and a server deletes the uploads it received when it
    stops; the same picture sent to another server of the session (or of another test run) would be deleted under
    this test (the recorded queue of a failed run: the chat history's image refused as 'no longer on the server')."""
    mark = PngImagePlugin.PngInfo()
    mark.add_text("test-run", uuid.uuid4().hex)
    image.save(path, pnginfo=mark)
    return path


def chat_like_a_person(page, tiny_server, english_file, tmp_path) -> None:
    page.get_by_role("tab", name="Chat").click()
    page.get_by_text("Answer settings").click()
    tokens = page.locator("#chat-max-tokens input[type=number]")
    tokens.fill("24")  # short answers (a random model never ends one: 512 tokens of gibberish to stream and render)
    tokens.press("Enter")
    said_before_any_answer(page)
    with Image.open(english_file) as picture:
        upload(page, "#chat-image", only_ours(picture, tmp_path / "document.png"))
    box = page.locator("#chat-prompt textarea")
    box.fill("What does it say?")
    box.press("Shift+Enter")  # a new line, not a send
    box.type("Read it all.")
    assert box.input_value() == "What does it say?\nRead it all."
    assert page.locator("#chat-conversation [data-testid=user]").count() == 0
    before = answered(tiny_server)
    box.press("Enter")  # sends
    bot = page.locator("#chat-conversation [data-testid=bot]")
    playwright.expect(bot).to_have_count(1, timeout=90_000)  # the answer streams in...
    playwright.expect(box).to_have_value("")
    playwright.expect(page.locator("#chat-conversation img")).to_have_count(1, timeout=30_000)  # the image shows in it
    # ...until it ends: only then is Retry's answer the next one to end (the recorded queue of a failed run showed
    # Retry pressed while the first answer streamed: the wait below then saw the first answer end, and Retry's
    # last words came after the new image's change, bringing the old conversation back)
    answer_ended(tiny_server, page, before)
    # Retry asks the last question again: still one question and one answer
    before = answered(tiny_server)
    page.locator("#chat-retry").click()
    answer_ended(tiny_server, page, before)
    playwright.expect(bot).to_have_count(1)
    # a new image starts a new conversation
    upload(page, "#chat-image", only_ours(render_lines(["Another document"]), tmp_path / "other.png"))
    playwright.expect(bot).to_have_count(0, timeout=10_000)
    playwright.expect(page.locator("#chat-message")).to_contain_text("new conversation", timeout=30_000)


def said_before_any_answer(page) -> None:
    """A question sent without an image, and Retry with nothing asked: each says why on the screen, and it stays there
    (the answering loop that follows every send and Retry wiped it in 0.2 s), the question kept in its box."""
    box, message = page.locator("#chat-prompt textarea"), page.locator("#chat-message")
    box.fill("Anything there?")
    box.press("Enter")
    playwright.expect(message).to_contain_text("Upload an image first", timeout=30_000)
    page.wait_for_timeout(1500)  # (no event to wait for: the loop that wiped it had ended by then)
    playwright.expect(message).to_contain_text("Upload an image first")
    playwright.expect(box).to_have_value("Anything there?")
    page.locator("#chat-retry").click()
    playwright.expect(message).to_contain_text("no question to ask again", timeout=30_000)
    page.wait_for_timeout(1500)
    playwright.expect(message).to_contain_text("no question to ask again")
    box.fill("")
