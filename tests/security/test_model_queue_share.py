"""One client sending many requests at once no longer fills a model's wait queue: it holds at most three quarters of
the places (the others are refused 503 'This client already has...'), so another client's request is admitted, and
taken in turn, not behind all of the flood (it was refused 503 'The server is busy' until the flood drained)."""

import base64
import threading
import time

import pytest

from tests.helpers import ENGLISH, encode, render_lines
from tests.polling import wait_until
from tests.security.conftest import KEYS, OTHER, USER, live
from tests.security.gradio_calls import run

pytestmark = pytest.mark.slow  # (floods of a model's queue: a release's check, ~9 s; a full queue's 503: tests/e2e/test_serving)

QUEUE = 4  # limits.max_queue_per_model here: one client may hold 3 of its places
FLOOD = 10  # one key's requests sent at once


@pytest.mark.parametrize("door", ["rest", "mcp"])  # (mcp: the MCP tool ocr_image, through the Gradio API that serves it)
def test_a_client_flooding_a_model_leaves_room_and_turns_for_others(settings, door):
    page = encode(render_lines(ENGLISH * 6, font_size=28))
    flooder, victim = {"Authorization": f"Bearer {USER}"}, {"Authorization": f"Bearer {OTHER}"}
    limits = {"max_queue_per_model": QUEUE, "max_batch_files": QUEUE}
    with live(settings, limits=limits, auth={"api_keys": KEYS}) as (client, service):
        answered: dict[str, tuple[int, str, float]] = {}

        def send(name: str, headers: dict) -> None:
            response = client.post("/ocr", files={"file": (f"{name}.png", page, "image/png")}, headers=headers)
            answered[name] = (response.status_code, response.text, time.monotonic())

        def call_tool(name: str, headers: dict) -> None:  # (the tool charged its caller, then its work ran as nobody's)
            data_url = "data:image/png;base64," + base64.b64encode(page).decode()
            status, text = run(client, "/gradio_api/run/ocr_image", [data_url, "embedded", ""], headers)
            answered[name] = (status, text, time.monotonic())

        send("warm-up", victim)  # (the model is loaded)
        runner = service.manager.runner("embedded")
        flooding = send if door == "rest" else call_tool
        flood = [threading.Thread(target=flooding, args=(f"flood{i}", flooder)) for i in range(FLOOD)]
        for thread in flood:
            thread.start()
        assert wait_until(lambda: runner.waiting >= QUEUE - 1, 30), runner.waiting  # the flood holds its share
        send("victim", victim)
        for thread in flood:
            thread.join(60)
    assert answered["victim"][0] == 200, answered["victim"]  # (was: 503, the queue full of the flood)
    refused = [text for status, text, _ in answered.values() if status == 503]  # (the flood's: the victim's was 200)
    assert any("This client already has" in text for text in refused), answered  # (a late one may find the queue full)
    served = sorted((at, name) for name, (status, _, at) in answered.items() if status == 200 and name != "warm-up")
    assert served[-1][1] != "victim", served  # taken in its turn, not after every request of the flood waiting
