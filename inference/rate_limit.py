"""The rate limit (``limits.rate_limit``), charged where work is admitted: every way in (REST, ``/v1``, the Gradio
queue and direct API, MCP, jobs) reaches the service, and the service charges one request to the caller's budget
before any work. A caller is a name the edge gives (an API key's fingerprint, or ``address <ip>`` when keys are
off); the edges of one server give the same name for the same client, so they share one budget.

A moving window of the ``limits`` library, kept in memory (one process; another storage can take its place).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse, storage, strategies

from .errors import RateLimited


class RateLimiter:
    """``rate`` (e.g. ``"60/minute"``; None: no limit) per caller."""

    def __init__(self, rate: str | None, store: storage.Storage | None = None):
        self.rate: RateLimitItem | None = parse(rate) if rate else None
        self._limiter = strategies.MovingWindowRateLimiter(store or storage.MemoryStorage())

    def retry_after(self, caller: str, count: bool = True) -> int | None:
        """Count one request for ``caller`` (``count=False``: only look): None when it is within the limit, else
        the seconds until one is free (that request is not counted)."""
        if self.rate is None:
            return None
        if self._limiter.hit(self.rate, caller) if count else self._limiter.test(self.rate, caller):
            return None
        reset = self._limiter.get_window_stats(self.rate, caller).reset_time
        return max(1, math.ceil(reset - time.time()))

    def spend(self, caller: str) -> bool:
        """Count one for ``caller`` whatever the budget says (a failure that happened); True when none is left."""
        if self.rate is None:
            return False
        self._limiter.hit(self.rate, caller)
        return not self._limiter.test(self.rate, caller)

    def charge(self, caller: str | None) -> None:
        """Count one request for ``caller`` or raise :class:`RateLimited`. ``None`` is the server itself (a job's
        worker, start-up, the bench): never limited."""
        if caller is None:
            return
        retry = self.retry_after(caller)
        if retry is not None:
            raise RateLimited(
                f"Too many requests: the limit is {self.rate} per key (or client address). Try again in {retry} s.",
                retry_after=retry,
            )
