"""The rate limit (``limits.rate_limit``), charged where work is admitted: every way in (REST, ``/v1``, the Gradio
queue and direct API, MCP, jobs) reaches the service, and the service charges one request to the caller's budget
before any work. A caller is a name the edge gives (an API key's fingerprint, or ``address <ip>`` when keys are
off); the edges of one server give the same name for the same client, so they share one budget.

A moving window of the ``limits`` library: in this process's memory (one process), or in Redis when a broker is
configured (``jobs.broker_url``: :func:`storage_for`), so that every replica spends the same budget.

When Redis does not answer, a limiter falls back to a window of its own process (logged once per outage, Redis
asked again after :data:`RETRY_S`). Why neither of the other two ways: refusing every request (503) would make a
Redis blip an outage of the synchronous routes, which do not need Redis; letting everything through would drop the
bound on wrong keys (``auth.failed_auth_limit``) exactly when it cannot be shared. A local window keeps every
bound in force, per replica (at most one budget per replica) until Redis answers again.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, errors, parse, storage, strategies

from .errors import ConfigError, RateLimited

log = logging.getLogger(__name__)

REDIS_TIMEOUT_S = 0.5  # a request waits at most this long for Redis (connect, then answer) before the fallback
RETRY_S = 5.0  # after Redis failed to answer, it is asked again this long after (meanwhile: the fallback)


def storage_for(broker_url: str | None) -> storage.Storage | None:
    """The shared storage of the rate-limit windows: Redis at ``broker_url`` (the Celery broker's), or None (this
    process's memory). Nothing connects yet: a Redis that is down at start-up is found out at the first request."""
    if not broker_url:
        return None
    try:
        return storage.storage_from_string(
            broker_url,
            wrap_exceptions=True,
            key_prefix="chatvlm-limits",
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
        )
    except errors.ConfigurationError:
        raise ConfigError("jobs.broker_url needs the 'redis' package for the shared rate limits: pip install redis") from None


class Outage:
    """Whether a shared store (Redis) is taken to be down: after a failure it is left alone for :data:`RETRY_S`;
    the first failure of an outage and the recovery are logged (without the URL, which may hold a password)."""

    def __init__(self, what: str):
        self.what = what
        self._until = 0.0
        self._down = False

    @property
    def down(self) -> bool:
        return time.monotonic() < self._until

    def failed(self, exc: Exception) -> None:
        self._until = time.monotonic() + RETRY_S
        if not self._down:
            self._down = True
            cause = type(getattr(exc, "storage_error", exc)).__name__  # not its text: it may name the URL
            log.warning("%s: Redis does not answer (%s); this process's own state stands in", self.what, cause)

    def answered(self) -> None:
        if self._down:
            self._down = False
            log.info("%s: Redis answers again", self.what)


class RateLimiter:
    """``rate`` (e.g. ``"60/minute"``; None: no limit) per caller, in ``store`` (None: this process's memory);
    ``scope`` keeps the windows of two limiters on one store apart."""

    def __init__(self, rate: str | None, store: storage.Storage | None = None, scope: str = "requests"):
        self.rate: RateLimitItem | None = parse(rate) if rate else None
        self.scope = scope
        self.shared = store is not None
        self._limiter = strategies.MovingWindowRateLimiter(store or storage.MemoryStorage())
        self._local = strategies.MovingWindowRateLimiter(storage.MemoryStorage()) if self.shared else self._limiter
        self._outage = Outage(f"rate limit ({scope})")

    def _ask(self, what: str, caller: str):
        """``what`` (hit, test, get_window_stats) of the shared window, or of the local one while Redis is down."""
        if self.shared and not self._outage.down:
            try:
                answer = getattr(self._limiter, what)(self.rate, self.scope, caller)
            except errors.StorageError as exc:
                self._outage.failed(exc)
            else:
                self._outage.answered()
                return answer
        return getattr(self._local, what)(self.rate, self.scope, caller)

    def retry_after(self, caller: str, count: bool = True) -> int | None:
        """Count one request for ``caller`` (``count=False``: only look): None when it is within the limit, else
        the seconds until one is free (that request is not counted)."""
        if self.rate is None:
            return None
        if self._ask("hit" if count else "test", caller):
            return None
        reset = self._ask("get_window_stats", caller).reset_time
        return max(1, math.ceil(reset - time.time()))

    def spend(self, caller: str) -> bool:
        """Count one for ``caller`` whatever the budget says (a failure that happened); True when none is left."""
        if self.rate is None:
            return False
        self._ask("hit", caller)
        return not self._ask("test", caller)

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
