"""The PDF readers' pool serves callers in the order they came (an attack pass: two clients reading slow pages took
the two readers back at once, page after page, and a third's one-page PDF waited 38 s)."""

from __future__ import annotations

import threading
import time

from inference.pdf_sandbox import _Pool


def test_a_caller_that_asks_again_at_once_waits_behind_those_already_waiting():
    pool = _Pool(1)
    try:
        first = pool.take()
        order: list[str] = []

        def another_client() -> None:
            child = pool.take()
            order.append("the one waiting")
            time.sleep(0.2)
            pool.give_back(child, True)

        waiter = threading.Thread(target=another_client)
        waiter.start()
        deadline = time.monotonic() + 10
        while not pool.waiting and time.monotonic() < deadline:  # the other client now waits for the reader
            time.sleep(0.01)
        pool.give_back(first, True)
        again = pool.take()  # the next page of the first client's document, at once
        order.append("the one back at once")
        pool.give_back(again, True)
        waiter.join(10)
        assert order == ["the one waiting", "the one back at once"]
        assert len(pool.all) == 1 and pool.take() is not None  # one reader, and no turn left in the way
    finally:
        for child in list(pool.all):
            child.kill()
