"""A chat request waiting its turn holds its images as the model reads them, not as large as they were sent (an attack
pass): a /v1 request of 683 KB carried four white PNGs of 6,300 x 6,300 pixels (each 130 KB, 120 MB decoded), and
each waiting request held all four decoded; twelve at once took the server from 1.1 GB to 9.2 GB. Each image is now
prepared for its model when the request is admitted (``Backend.prepare_image``: the tiny Qwen reads about 1 Mpx), so
requests waiting behind a running chat hold a few MB each; and large images are decoded (and prepared) two at a time
(``inference.images.LARGE_PIXELS``): 24 such requests at once took 4.3 GB while they all decoded together. The
server's memory is this process's (it runs in it)."""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Callable

import httpx
import pytest
from PIL import Image

from inference import heap
from tests.conftest import serve_in_thread
from tests.e2e.test_serving import LONG_CHAT, leave_when
from tests.polling import wait_until
from tests.servers import one_at_a_time, without_loop_cut

pytestmark = pytest.mark.slow  # (floods of large images: a release's check, ~20 s)


def rss_mb() -> int:
    return int(open("/proc/self/statm").read().split()[1]) * 4096 // 2**20


def large_images(count: int) -> dict:
    """A /v1 request with ``count`` white PNGs of 39.7 Mpx (under limits.max_image_pixels), 130 KB each."""
    out = io.BytesIO()
    Image.new("RGB", (6300, 6300), "white").save(out, "PNG")
    url = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
    images = [{"type": "image_url", "image_url": {"url": url}}] * count
    return {
        "model": "qwen3_vl_2b",
        "max_tokens": 2,
        "messages": [{"role": "user", "content": [*images, {"type": "text", "text": "hi"}]}],
    }


def test_large_images_sent_at_once_are_decoded_a_few_at_a_time(tiny_settings):
    body, peak, done, answers = large_images(1), [0], threading.Event(), []
    with serve_in_thread(tiny_settings.model_copy(deep=True)) as (base, _):
        url = f"{base}/v1/chat/completions"
        assert httpx.post(url, json=body, timeout=120).status_code == 200  # (the model loaded, its first batch run)
        heap.trim()
        before = rss_mb()

        def watch() -> None:
            while not done.wait(0.02):
                peak[0] = max(peak[0], rss_mb())

        def ask() -> None:
            answers.append(httpx.post(url, json=body, timeout=300).status_code)

        watcher, askers = threading.Thread(target=watch), [threading.Thread(target=ask) for _ in range(10)]
        watcher.start()
        for asker in askers:
            asker.start()
        for asker in askers:
            asker.join(300)
        done.set()
        watcher.join()
    assert answers == [200] * 10
    assert peak[0] - before < 1600, f"ten requests of one 40 Mpx image took {peak[0] - before} MB at once"


def held_while_waiting(tiny_settings, ask: Callable[[str], int], count: int) -> tuple[int, list[int]]:
    """The MB this process holds more while ``count`` requests (``ask(base)``: one sent, its status) wait their turn
    behind a chat that runs until they all wait (the tiny Qwen reading one request at a time), and their statuses."""
    settings = one_at_a_time(without_loop_cut(tiny_settings.model_copy(deep=True)), "qwen3_vl_2b")
    answers: list[int] = []
    with serve_in_thread(settings) as (base, service):
        service.load_model("qwen3_vl_2b")
        runner = service.manager.runner("qwen3_vl_2b")
        leave = threading.Event()
        running = leave_when(f"{base}/chat", leave, LONG_CHAT)  # holds the model: the requests below wait
        askers = [threading.Thread(target=lambda: answers.append(ask(base))) for _ in range(count)]
        try:
            assert wait_until(lambda: runner.running == 1, 30), "the long chat to run"
            heap.trim()
            before = rss_mb()
            for asker in askers:
                asker.start()
            assert wait_until(lambda: runner.waiting == count, 90, every=0.1), "the requests to wait their turn"
            heap.trim()  # (what decoding them took and gave back, returned to the system: what stays is what they hold)
            held = rss_mb() - before
        finally:
            leave.set()
            running.join()
        for asker in askers:
            asker.join(180)
    return held, answers


def test_chat_requests_waiting_their_turn_hold_their_images_small(tiny_settings):
    body = large_images(4)

    def ask(base: str) -> int:
        return httpx.post(f"{base}/v1/chat/completions", json=body, timeout=120).status_code

    held, answers = held_while_waiting(tiny_settings, ask, 4)
    assert answers == [200] * 4
    assert held < 500, f"four waiting requests of 4 images held {held} MB"
