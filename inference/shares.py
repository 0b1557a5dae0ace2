"""One client's share of the places where requests wait for a model: its runner's wait queue, and the wait for its
load (or unload) to end. A client (``inference.callers.CALLER``: a key, or an address when keys are off) holds at
most :data:`CALLER_SHARE` of them, so that one sending many requests at once leaves places for the others; the
server's own work (caller None: jobs' pages) has no share and waits behind every request."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from .callers import CALLER
from .errors import Overloaded
from .limit_settings import CALLER_SHARE


def refuse_past_share(caller: str | None, mine: int, adding: int, places: int, waiting_for: str, retry: int) -> None:
    """Overloaded when ``caller``, holding ``mine`` of ``places``, would hold more than its share with ``adding``."""
    share = max(1, int(places * CALLER_SHARE))
    if caller is not None and share < places and mine + adding > share:
        raise Overloaded(
            f"This client already has {mine} requests waiting for {waiting_for}: one client may hold {share} "
            f"of its {places} places, the others are kept for other clients. Try again in about {retry} s.",
            retry_after=retry,
        )


class Waiting:
    """The requests waiting for a model's load or unload to end, counted per caller (a model's ``pending``)."""

    def __init__(self) -> None:
        self._callers: Counter[str | None] = Counter()

    def __len__(self) -> int:
        return sum(self._callers.values())

    def check(self, model_id: str, places: int) -> None:
        """Overloaded when one more request of the current caller finds no place (of its share, or at all)."""
        caller = CALLER.get()
        refuse_past_share(caller, self._callers[caller], 1, places, f"model '{model_id}' to be ready", 5)
        if len(self) + 1 > places:
            raise Overloaded(
                f"The server is busy: model '{model_id}' is being loaded or unloaded and {len(self)} requests "
                "wait for it. Try again in a few seconds.",
                retry_after=5,
            )

    @contextmanager
    def one(self) -> Iterator[None]:
        """The current caller's request waits while inside."""
        caller = CALLER.get()
        self._callers[caller] += 1
        try:
            yield
        finally:
            self._callers[caller] -= 1
            if not self._callers[caller]:
                del self._callers[caller]
