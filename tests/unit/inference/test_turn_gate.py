"""The large images' decoding gate (inference.turns.TurnGate): two at once, and a caller sending many waits behind
each of the others', not they behind all of its (an attack pass: one client's 24 large uploads kept another's photo
waiting 53 s behind a first-come-first-served semaphore)."""

from __future__ import annotations

import contextvars
import threading

from inference.callers import CALLER
from inference.turns import TurnGate
from tests.polling import wait_until


def test_a_caller_waiting_behind_anothers_many_goes_next():
    gate, order, release = TurnGate(2), [], {}
    waiting = []

    def decode(caller: str, name: str) -> None:
        CALLER.set(caller)
        release[name] = threading.Event()
        with gate.place():
            order.append(name)
            release[name].wait(30)

    def start(caller: str, name: str) -> threading.Thread:
        thread = threading.Thread(target=decode, args=(caller, name), daemon=True)
        thread.start()
        waiting.append(thread)
        return thread

    start("flood", "f1"), start("flood", "f2")
    assert wait_until(lambda: order == ["f1", "f2"], 10, 0.01)
    for name in ("f3", "f4", "f5"):
        start("flood", name)
    assert wait_until(lambda: len(gate._waiting) == 3, 10, 0.01)
    start("victim", "v1")  # comes last
    assert wait_until(lambda: len(gate._waiting) == 4, 10, 0.01)
    release["f1"].set()  # a place frees: the victim's, though the flood's three came before it
    assert wait_until(lambda: len(order) == 3, 10, 0.01) and order[2] == "v1", order
    for name in ("f2", "v1", "f3", "f4", "f5"):
        assert wait_until(lambda n=name: n in release, 10, 0.01)
        release[name].set()
    for thread in waiting:
        thread.join(10)
    assert order == ["f1", "f2", "v1", "f3", "f4", "f5"] and gate._used == 0 and not gate._holding


def test_a_turn_not_come_in_time_is_given_up_and_the_places_stay_right():
    contextvars.copy_context().run(turn_given_up)  # (the callers set here stay in it)


def turn_given_up() -> None:
    gate = TurnGate(1)
    CALLER.set("holder")
    assert gate.take(0.01)
    CALLER.set("late")
    assert not gate.take(0.05)  # (images.decode answers 503 with Retry-After then)
    assert not gate._waiting and gate._used == 1
    CALLER.set("holder")
    gate.give_back()
    CALLER.set("late")
    with gate.place():
        assert gate._holding == {"late": 1}
    assert gate._used == 0 and not gate._holding
