"""The replicas of a remote model, and which one takes the next request:

- each request goes to the healthy replica with the fewest requests in flight;
- a replica that fails ``failures_to_eject`` times in a row is taken out for ``eject_s`` seconds, and probed
  (``GET /models``) before it is used again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .options import RemoteOptions

log = logging.getLogger(__name__)


@dataclass
class Replica:
    url: str
    in_flight: int = 0
    failures: int = 0
    down_until: float = 0.0


class Replicas:
    """The replicas of one model, their health and their load (thread-safe). ``http`` (an httpx client) is set
    by the backend while it is loaded."""

    def __init__(self, options: RemoteOptions, model_id: str):
        self.options = options
        self.model_id = model_id
        self.replicas = [Replica(url) for url in options.base_urls]
        self.http: Any = None
        self._lock = threading.Lock()

    def probe(self, replica: Replica) -> bool:
        """Health check: the replica lists its models. Marks it up or down; True when up."""
        try:
            response = self.http.get(f"{replica.url}/models", timeout=self.options.connect_timeout_s + 2)
            healthy = response.status_code == 200
        except Exception:
            healthy = False
        with self._lock:
            replica.failures = 0 if healthy else self.options.failures_to_eject
            replica.down_until = 0.0 if healthy else time.monotonic() + self.options.eject_s
        if not healthy:
            log.warning("model %s: replica %s does not answer; out for %.0f s", self.model_id, replica.url, self.options.eject_s)
        return healthy

    def pick(self, exclude: Sequence[Replica]) -> Replica | None:
        """The replica with the fewest requests in flight among those up; else one whose time out is over and
        that answers a probe; None when none does."""
        now = time.monotonic()
        with self._lock:
            up = [r for r in self.replicas if r not in exclude and r.failures < self.options.failures_to_eject]
            if up:
                chosen = min(up, key=lambda r: r.in_flight)
                chosen.in_flight += 1
                return chosen
            returning = [r for r in self.replicas if r not in exclude and r.down_until <= now]
        for replica in returning:
            if self.probe(replica):
                with self._lock:
                    replica.in_flight += 1
                return replica
        return None

    def done(self, replica: Replica, ok: bool) -> None:
        """A request to ``replica`` ended; ``ok``: not by the replica's fault."""
        with self._lock:
            replica.in_flight -= 1
            if ok:
                replica.failures = 0
                return
            replica.failures += 1
            if replica.failures >= self.options.failures_to_eject:
                replica.down_until = time.monotonic() + self.options.eject_s
                log.warning(
                    "model %s: replica %s failed %d times in a row; out for %.0f s",
                    self.model_id,
                    replica.url,
                    replica.failures,
                    self.options.eject_s,
                )
