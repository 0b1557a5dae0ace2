"""The runner's turns between clients (inference.turns) and each client's share of the wait queue: a client sending
many requests at once neither fills a model's queue nor keeps the others' requests behind all of its."""

from __future__ import annotations

import contextvars

import pytest

from inference.callers import CALLER
from inference.errors import Overloaded
from tests.gate_backend import GateBackend
from tests.unit.inference.test_runner import deadline, work


def as_caller(caller: str | None, submit):
    """``submit()`` run as ``caller``'s request (what the service's charge() sets for the work it does)."""
    return contextvars.copy_context().run(lambda: (CALLER.set(caller), submit())[1])


def test_one_client_holds_at_most_its_share_of_the_queue(make):
    backend = GateBackend()
    runner = make(backend, max_queue=8)  # (one client may hold 6 of its 8 places)
    as_caller("a", lambda: runner.submit([work("running")], deadline()))
    assert backend.entered.wait(5)
    for n in range(6):
        as_caller("a", lambda n=n: runner.submit([work(f"a{n}")], deadline()))
    with pytest.raises(Overloaded, match="This client already has 6 requests waiting") as refused:
        as_caller("a", lambda: runner.submit([work("a6")], deadline()))
    assert refused.value.retry_after >= 1
    with pytest.raises(Overloaded, match="This client"):  # (the cheap look before decoding says the same)
        as_caller("a", lambda: runner.check_room(1))
    as_caller("b", lambda: runner.check_room(2))  # another client finds room...
    as_caller("b", lambda: runner.submit([work("b0")], deadline()))  # ...and gets it
    as_caller(None, lambda: runner.submit([work("own")], deadline()))  # (the server's own work: no share)
    with pytest.raises(Overloaded, match="The server is busy"):  # (the queue itself stays bounded)
        as_caller("c", lambda: runner.submit([work("c0")], deadline()))
    backend.gate.set()


def test_clients_take_turns_at_a_model(make):
    # (served in the order they came, one client's five requests sent at once kept another's behind all of them)
    backend = GateBackend()
    runner = make(backend)
    [first] = as_caller("a", lambda: runner.submit([work("a0")], deadline()))
    assert backend.entered.wait(5)
    tickets = [as_caller("a", lambda n=n: runner.submit([work(f"a{n}")], deadline()))[0] for n in range(1, 5)]
    tickets += as_caller("b", lambda: runner.submit([work("b0")], deadline()))
    tickets += as_caller("c", lambda: runner.submit([work("c0")], deadline()))
    backend.gate.set()
    for ticket in [first, *tickets]:
        ticket.future.result(timeout=10)
    order = [label for batch in backend.batches for label in batch]
    assert order == ["a0", "a1", "b0", "c0", "a2", "a3", "a4"], order  # (b and c: behind one of a's, not four)
