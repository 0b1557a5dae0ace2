"""Listeners of the core's work, e.g. the metrics an edge exports. The core calls :class:`Observers`; what a
listener does with it (Prometheus counters, logs) is its own business, so nothing here depends on it. And how text
from outside goes into a log line (:func:`printable`)."""

from __future__ import annotations

import logging
import re
from typing import Protocol

log = logging.getLogger(__name__)

# what would end a log line, draw on a terminal or turn text around: C0 and C1 controls, DEL, Unicode's line and paragraph
# separators, its bidirectional controls and zero-width marks; and the backslash (a typed "\x0a" is not a written one)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\\]")


def printable(text: str, longest: int = 200) -> str:
    """``text`` (a request's path, an error that quotes what a client sent) cut to ``longest`` characters, on one line:
    its control characters written as ``\\xNN`` (a path of "/x%0a2026-12-06 ... WARNING chatvlmllm.auth: admin key
    rotated" wrote a second, forged line to the log; "%1b[31m" coloured the operator's terminal)."""
    return _CONTROL.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", text[:longest]
    )


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
