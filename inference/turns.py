"""Callers take turns where work waits for something scarce (a model's workers, the PDF readers): of the work waiting,
the next served is the one of the caller served longest ago; one never served counts as served when its work came, so
that a new caller never passes those already waiting; among one caller's, in the order they came. A caller
(``inference.callers.CALLER``) sending many requests at once then waits behind each of the others', not they behind all
of its. Not thread-safe: its owner's lock guards it."""

from __future__ import annotations

import itertools

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
