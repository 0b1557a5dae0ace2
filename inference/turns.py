"""Callers take turns where work waits for something scarce (a model's workers, the PDF readers): of the work waiting,
the next served is the one of the caller served longest ago; one never served counts as served when its work came, so
that a new caller never passes those already waiting; among one caller's, in the order they came. A caller
(``inference.callers.CALLER``) sending many requests at once then waits behind each of the others', not they behind all
of its. :class:`Turns` is not thread-safe (its owner's lock guards it); :class:`TurnGate` is a few places taken so."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .callers import CALLER

MAX_CALLERS = 10_000  # callers whose last turn is remembered (those served longest ago are forgotten first)


class Turns:
    def __init__(self) -> None:
        self._count = itertools.count()
        self._served: dict[str | None, int] = {}  # each caller's last turn served (a count of events)

    def arrival(self) -> int:
        """The order of work coming now (to rank it by)."""
        return next(self._count)

    def rank(self, caller: str | None, arrival: int) -> tuple[int, int]:
        """The work's place in line: the lowest goes first."""
        return self._served.get(caller, arrival), arrival

    def served(self, caller: str | None) -> None:
        self._served[caller] = next(self._count)
        if len(self._served) > MAX_CALLERS:
            self._served = dict(sorted(self._served.items(), key=lambda item: item[1])[-MAX_CALLERS // 2 :])


class TurnGate:
    """At most ``places`` holders at once (the images decoded at once, say); of the callers waiting, the next in is the
    one holding the fewest places now, then as :class:`Turns` says. Thread-safe."""

    def __init__(self, places: int) -> None:
        self.places = places
        self._used = 0
        self._holding: dict[str | None, int] = {}
        self._waiting: list[list] = []  # [caller, arrival] of each thread waiting
        self._turns = Turns()
        self._cond = threading.Condition()

    def _next(self) -> list:
        return min(self._waiting, key=lambda w: (self._holding.get(w[0], 0), *self._turns.rank(w[0], w[1])))

    def take(self, timeout: float | None = None) -> bool:
        """Take a place once it is this caller's turn (``inference.callers.CALLER``); False when that has not come within
        ``timeout`` seconds. The same caller gives it back (:meth:`give_back`)."""
        caller = CALLER.get()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            waiting = [caller, self._turns.arrival()]
            self._waiting.append(waiting)
            try:
                while self._used >= self.places or self._next() is not waiting:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._cond.wait(left)
            finally:
                self._waiting.remove(waiting)
                self._cond.notify_all()
            self._turns.served(caller)
            self._used += 1
            self._holding[caller] = self._holding.get(caller, 0) + 1
            return True

    def give_back(self) -> None:
        caller = CALLER.get()
        with self._cond:
            self._used -= 1
            if (left := self._holding.pop(caller) - 1) > 0:
                self._holding[caller] = left
            self._cond.notify_all()

    @contextmanager
    def place(self) -> Iterator[None]:
        """A place held while the block runs (waiting for it as long as it takes)."""
        self.take()
        try:
            yield
        finally:
            self.give_back()
