"""Listeners of the core's work, e.g. the metrics an edge exports. The core calls :class:`Observers`; what a
listener does with it (Prometheus counters, logs) is its own business, so nothing here depends on it."""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)


class Listener(Protocol):
    def model_used(self, model_id: str) -> None:
        """A request (in the calling thread) was resolved to this model."""

    def batch_done(self, model_id: str, size: int, seconds: float, tokens: int) -> None:
        """A model answered a batch of ``size`` requests (a stream: 1) in ``seconds``, generating ``tokens``."""


class Observers:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def add(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def model_used(self, model_id: str) -> None:
        for listener in self._listeners:
            listener.model_used(model_id)

    def batch_done(self, model_id: str, size: int, seconds: float, tokens: int) -> None:
        for listener in self._listeners:
            try:
                listener.batch_done(model_id, size, seconds, tokens)
            except Exception:  # a listener's fault never fails the requests it watched
                log.exception("observer of model %s failed", model_id)
