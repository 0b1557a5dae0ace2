"""The PDF readers' pool serves callers in the order they came (an attack pass: two clients reading slow pages took
the two readers back at once, page after page, and a third's one-page PDF waited 38 s)."""

from __future__ import annotations

import threading
import time

from inference.pdf_sandbox import _Pool
from tests.polling import wait_until


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


def test_callers_take_turns_a_client_sending_many_at_once_waits_behind_the_others():
    # (in the order they came, a client's 30 slow PDFs sent at once kept every other client's one-page PDF behind them)
    from inference.callers import CALLER

    pool, mine = _Pool(1), CALLER.set("flooder")
    try:
        held = pool.take()
        order: list[str] = []

        def client(name: str) -> None:
            CALLER.set(name)
            child = pool.take()
            order.append(name)
            pool.give_back(child, True)

        flood = [threading.Thread(target=client, args=("flooder",)) for _ in range(3)]
        for thread in flood:
            thread.start()
        assert wait_until(lambda: len(pool.waiting) == 3, 10)
        victim = threading.Thread(target=client, args=("victim",))
        victim.start()
        assert wait_until(lambda: len(pool.waiting) == 4, 10)
        pool.give_back(held, True)
        for thread in [*flood, victim]:
            thread.join(10)
        assert order == ["flooder", "victim", "flooder", "flooder"]  # one of the flood's that came first, then the victim
    finally:
        CALLER.reset(mine)
        for child in list(pool.all):
            child.kill()
