"""An /ocr request waiting its turn at a model does not hold its image decoded (an attack pass): a 40 Mpx PNG is 131 KB
sent and 120 MB decoded, and each /ocr request waiting behind a running one held its image decoded from its check until
its turn (24 of them at once: +2.7 GB). A large image is now decoded when its turn comes (``OcrWork.render``); the
images decoded at their check are kept for that turn only while they fit in ``inference.held_images.HELD_BYTES``, the
others decoded again then. model=auto (the default) reads the page with the CPU engine first and sends a blank one on to
the VLM: there it waited with the CPU engine's decoding (six requests: 1.4 GB); it is let go again too. The server's
memory is this process's (it runs in it)."""

from __future__ import annotations

import gc
import io
import threading
from contextlib import contextmanager

import httpx
import pytest
from PIL import Image

from inference import InferenceService, held_images
from inference.cancel import CancelToken
from inference.documents import KEPT_PIXELS
from inference.errors import Cancelled, TimedOut
from inference.routing_settings import RoutingSettings
from tests.polling import wait_until
from tests.security.test_chat_image_memory import held_while_waiting
from tests.servers import UNTIL_STOPPED, one_at_a_time, without_loop_cut

pytestmark = pytest.mark.slow  # (large images waiting behind a chat: a release's check, ~40 s)

WAITING = 6
WHITE = Image.new("RGB", (64, 64), "white")


def large_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (6300, 6300), "white").save(out, "PNG")  # 39.7 Mpx (under limits.max_image_pixels), 130 KB
    return out.getvalue()


def test_ocr_requests_waiting_their_turn_do_not_hold_their_images_decoded(tiny_settings):
    png = large_png()

    def ask(base: str) -> int:
        files = {"file": ("large.png", png, "image/png")}
        return httpx.post(f"{base}/ocr", files=files, data={"model": "qwen3_vl_2b"}, timeout=180).status_code

    held, answers = held_while_waiting(tiny_settings, ask, WAITING)
    assert answers == [200] * WAITING and held_images.HELD.used == 0
    bound = held_images.HELD_BYTES // 2**20 + 250
    assert held < bound, f"{WAITING} /ocr requests of a 40 Mpx image waiting their turn held {held} MB (at most {bound})"


@contextmanager
def model_busy(tiny_settings):
    """The tiny models' service in this process (pages routed to the tiny VLM), that VLM reading one request at a time and
    busy with a chat that goes on until the test ends (or stops it): what is sent to it waits its turn."""
    settings = one_at_a_time(without_loop_cut(tiny_settings.model_copy(deep=True)), "qwen3_vl_2b")
    settings.routing = RoutingSettings(vlm="qwen3_vl_2b")
    service = InferenceService(settings)
    stop = CancelToken()
    chat = threading.Thread(
        target=lambda: pytest.raises(Cancelled, service.chat, WHITE, "Describe", "qwen3_vl_2b", 0.0, UNTIL_STOPPED, cancel=stop)
    )
    try:
        service.load_model("qwen3_vl_2b")
        runner = service.manager.runner("qwen3_vl_2b")
        chat.start()
        assert wait_until(lambda: runner.running == 1, 30), "the long chat to run"
        yield service, runner, stop.cancel
    finally:
        stop.cancel()
        chat.join(30)
        service.close(grace_s=2)


def decoded_mb() -> int:
    """The large images alive in this process (decoded: 113 MB each of 6,300 x 6,300 in RGB)."""
    alive = [o for o in gc.get_objects() if isinstance(o, Image.Image) and o.width * o.height > KEPT_PIXELS]
    return sum(o.width * o.height * len(o.getbands()) for o in alive) // 2**20


def test_auto_pages_waiting_their_turn_at_the_vlm_do_not_hold_their_images_decoded(tiny_settings):
    # model=auto: the CPU engine reads the blank page (its turn: decoded), and sends it on to the VLM, where it waited
    # with that decoding (six /ocr requests: +1.4 GB). What the CPU engine's reading itself keeps of the process's memory
    # is no request's: counted here is what is alive of the images.
    png = large_png()
    with model_busy(tiny_settings) as (service, runner, stop_chat):
        results = []
        askers = [threading.Thread(target=lambda: results.append(service.ocr(png, "auto"))) for _ in range(WAITING)]
        for asker in askers:
            asker.start()
        assert wait_until(lambda: runner.waiting == WAITING, 120, every=0.1), "the pages to wait their turn at the VLM"
        held = decoded_mb()
        stop_chat()
        for asker in askers:
            asker.join(120)
    assert [(r.route, r.engine) for r in results] == [("no-text", "qwen3_vl_2b")] * WAITING
    assert held <= held_images.HELD_BYTES // 2**20, f"{WAITING} pages waiting their turn at the VLM held {held} MB decoded"
    assert held_images.HELD.used == 0


def test_an_ocr_request_that_timed_out_waiting_gives_its_held_image_back_at_once(tiny_settings):
    # (its page's error, raised again by the request, kept the request's frame and document in a reference cycle through
    # its traceback: the image held for it, 113 MB, stayed held in an idle server a minute later and more)
    png = large_png()
    with model_busy(tiny_settings) as (service, *_):
        service.settings.limits.request_timeout_s = 1.0  # (the chat's own deadline was set as it came)
        gc.disable()  # (what the collector would give back some time, maybe much later, is not counted)
        try:
            with pytest.raises(TimedOut):
                service.ocr(png, "qwen3_vl_2b", filename="large.png")
            assert held_images.HELD.used == 0
        finally:
            gc.enable()
