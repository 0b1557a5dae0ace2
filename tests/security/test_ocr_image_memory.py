"""An /ocr request waiting its turn at a model does not hold its image decoded (an attack pass): a 40 Mpx PNG is 131 KB
sent and 120 MB decoded, and each /ocr request waiting behind a running one held its image decoded from its check until
its turn (24 of them at once: +2.7 GB). A large image is now decoded when its turn comes (``OcrWork.render``); the
images decoded at their check are kept for that turn only while they fit in ``inference.held_images.HELD_BYTES``, the
others decoded again then. The server's memory is this process's (it runs in it)."""

from __future__ import annotations

import io
import threading

import httpx
import pytest
from PIL import Image

from inference import heap, held_images
from tests.e2e.test_serving import LONG_CHAT, leave_when
from tests.polling import wait_until
from tests.security.test_chat_image_memory import rss_mb
from tests.servers import one_at_a_time, serve_in_thread, without_loop_cut

pytestmark = pytest.mark.slow  # (large images waiting behind a chat: a release's check, ~15 s)

WAITING = 6


def large_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (6300, 6300), "white").save(out, "PNG")  # 39.7 Mpx (under limits.max_image_pixels), 130 KB
    return out.getvalue()


def test_ocr_requests_waiting_their_turn_do_not_hold_their_images_decoded(tiny_settings):
    png = large_png()
    settings = one_at_a_time(without_loop_cut(tiny_settings.model_copy(deep=True)), "qwen3_vl_2b")
    with serve_in_thread(settings) as (base, service):
        service.load_model("qwen3_vl_2b")
        runner = service.manager.runner("qwen3_vl_2b")
        leave = threading.Event()
        running = leave_when(f"{base}/chat", leave, LONG_CHAT)  # holds the model: the requests below wait
        answers: list[int] = []

        def ask() -> None:
            files = {"file": ("large.png", png, "image/png")}
            data = {"model": "qwen3_vl_2b"}
            answers.append(httpx.post(f"{base}/ocr", files=files, data=data, timeout=180).status_code)

        askers = [threading.Thread(target=ask) for _ in range(WAITING)]
        try:
            assert wait_until(lambda: runner.running == 1, 30), "the long chat to run"
            heap.trim()
            before = rss_mb()
            for asker in askers:
                asker.start()
            assert wait_until(lambda: runner.waiting == WAITING, 90, every=0.1), "the requests to wait their turn"
            heap.trim()  # (what checking them took and gave back, returned to the system: what stays is what they hold)
            held = rss_mb() - before
        finally:
            leave.set()
            running.join()
        for asker in askers:
            asker.join(180)
    assert answers == [200] * WAITING
    bound = held_images.HELD_BYTES // 2**20 + 250
    assert held < bound, f"{WAITING} /ocr requests of a 40 Mpx image waiting their turn held {held} MB (at most {bound})"
