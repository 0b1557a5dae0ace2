"""The PDF readers (two child processes) are taken in turns by caller: a client sending many slow PDFs at once
(each page up to limits.page_timeout_s) no longer keeps every other client's PDF behind all of its pages."""

import threading
import time

import pytest

from inference.pdf_sandbox import POOL
from tests.polling import wait_until
from tests.security.conftest import KEYS, OTHER, USER, live
from tests.security.test_pdf_bomb import PAGE_MEMORY_MB, TEXT, pdf, text_content, time_bomb_content

pytestmark = pytest.mark.slow  # (a flood: 12 PDFs that each wait out the page limit, a release's check, ~11 s)

BOMBS = 12  # one key's slow PDFs sent at once: six rounds of the two readers
SLOW_S = 1.5  # each bomb's page takes this long (limits.page_timeout_s here), then fails


def test_a_client_sending_many_slow_pdfs_at_once_does_not_hold_the_readers_from_others(settings):
    # (served in the order they came, a key's slow PDFs sent at once kept every other key's PDF behind all of them; in
    # turns, another key's PDF waits at most a page of the flood's for each of its own reads: ~4 rounds, not 6)
    time_bomb, normal = pdf(time_bomb_content()), pdf(text_content(TEXT), text_content(TEXT[::-1]))
    flooder, victim = {"Authorization": f"Bearer {USER}"}, {"Authorization": f"Bearer {OTHER}"}
    limits = {"page_timeout_s": SLOW_S, "page_memory_mb": PAGE_MEMORY_MB}
    with live(settings, limits=limits, auth={"api_keys": KEYS}) as (client, _):
        answered: dict[str, tuple[int, float]] = {}

        def send(name: str, headers: dict, content: bytes) -> None:
            response = client.post("/ocr", files={"file": (f"{name}.pdf", content, "application/pdf")}, headers=headers)
            answered[name] = (response.status_code, time.monotonic())

        send("warm-up", victim, normal)  # (the readers are started)
        bombs = [threading.Thread(target=send, args=(f"bomb{i}", flooder, time_bomb)) for i in range(BOMBS)]
        for bomb in bombs:
            bomb.start()
        assert wait_until(lambda: len(POOL.waiting) >= BOMBS - 2, 30)  # two bombs' pages render, the others wait
        send("victim", victim, normal)
        for bomb in bombs:
            bomb.join(BOMBS * SLOW_S + 30)
        assert answered["victim"][0] == 200 and {answered[f"bomb{i}"][0] for i in range(BOMBS)} == {400}, answered
        last_four = sorted(answered[f"bomb{i}"][1] for i in range(BOMBS))[-4:]
        assert answered["victim"][1] < min(last_four), answered  # not behind the whole flood
