"""Typed errors of the inference core. Each edge (REST, UI) translates them once."""

from __future__ import annotations

import re
from contextvars import ContextVar

# A filesystem path (/home/x/model, ./models/q, ../w, ~/m, C:\models\x): messages never show one.
_PATH = re.compile(
    r"(?<![\w.:/~])(?:~|\.{1,2})?(?:/[\w.@+-]+){2,}/?|(?<![\w.:/~])(?:~|\.{1,2})/[\w.@+-]+"
    r"|[A-Za-z]:\\[^\s'\"]+"
)


# This server's own routes, which messages name ("POST /batch/ocr"): not filesystem paths.
_ROUTE = re.compile(
    r"/(?:batch/ocr|jobs/(?:[0-9a-f]{32}|\{\w+\})(?:/(?:result|events))?|models/(?:\w[\w.-]*|\{\w+\})/(?:load|unload)"
    r"|v1/(?:chat/completions|models)|gradio_api/(?:upload|info|mcp))/?"
)


SHORT_OF_DISK = "The server is short of disk space for what it is sent; try again later."
SHUTTING_DOWN = "The server is shutting down; send the request again once it is back."


def redact_paths(message: str) -> str:
    """A message with any filesystem path replaced by <path> (the server log keeps the whole story); the server's
    routes it names are kept. Text that is no Unicode (an unpaired surrogate a client sent) is replaced, so that the
    message can be sent at all."""
    message = message.encode("utf-8", "replace").decode("utf-8")
    return _PATH.sub(lambda m: m.group() if _ROUTE.fullmatch(m.group()) else "<path>", message)


class ChatVLMError(Exception):
    """Base class: the message is a readable sentence meant for the user."""


class BadInput(ChatVLMError):
    """The request is wrong: a bad parameter or an unreadable image (HTTP 400)."""


class PayloadTooLarge(BadInput):
    """An uploaded file is larger than the configured byte limit (HTTP 413)."""


class UnknownModel(ChatVLMError):
    """No model with this id is configured (HTTP 404)."""


class NotFound(ChatVLMError):
    """No such job (or it expired, or it belongs to another key) (HTTP 404)."""


class NotReady(ChatVLMError):
    """The job has not finished yet: its result is not there (HTTP 409)."""


class ModelUnavailable(ChatVLMError):
    """The model is configured but cannot be loaded or used here (HTTP 503). ``log_detail`` is for the server log
    only (where the server looked: paths never go into a response)."""

    def __init__(self, message: str, log_detail: str | None = None):
        super().__init__(message)
        self.log_detail = log_detail


class Overloaded(ChatVLMError):
    """The model's wait queue is full: try again later (HTTP 503 with Retry-After)."""

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class Forbidden(ChatVLMError):
    """The caller may not ask for this (HTTP 403): e.g. a user key asking for an admin's privilege."""


class RateLimited(ChatVLMError):
    """The caller (an API key, or a client address) used its ``limits.rate_limit`` budget (HTTP 429 with
    Retry-After)."""

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class TimedOut(ChatVLMError):
    """The request did not finish within the server's time limit; its work was dropped or stopped (HTTP 503)."""


class OutOfMemory(ChatVLMError):
    """The accelerator ran out of memory for this request; the server keeps serving (HTTP 503)."""


class Cancelled(ChatVLMError):
    """The client went away or stopped the request; its work was dropped or stopped."""


class ConfigError(ChatVLMError):
    """config.yaml (or an environment override) is invalid; raised at start-up."""


# Each typed error's HTTP status, most specific first: one table that every edge renders (REST's {"detail"},
# OpenAI's body, the Gradio API's status).
STATUS: list[tuple[type[ChatVLMError], int]] = [
    (PayloadTooLarge, 413),
    (BadInput, 400),
    (UnknownModel, 404),
    (NotFound, 404),
    (NotReady, 409),
    (Forbidden, 403),
    (RateLimited, 429),
    (ModelUnavailable, 503),
    (Overloaded, 503),
    (TimedOut, 503),
    (OutOfMemory, 503),
    (Cancelled, 503),  # the client has gone: nobody reads it
    (ConfigError, 500),
]


def http_status(exc: ChatVLMError) -> int:
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 500)


def retry_after(exc: BaseException) -> int | None:
    """Seconds the client should wait before trying again (busy, or over its rate limit); None otherwise."""
    return exc.retry_after if isinstance(exc, Overloaded | RateLimited) else None


# A refusal raised deep in a handler whose framework answers every error the same way (Gradio's /run and /api: 500):
# the edge that serves the request sets a list here, the handler notes (status, retry_after) in it, and the edge
# answers with that status.
REFUSAL: ContextVar[list[tuple[int, int | None]] | None] = ContextVar("chatvlm_refusal", default=None)


def note_refusal(status: int, retry: int | None = None) -> None:
    holder = REFUSAL.get()
    if holder is not None:
        holder.append((status, retry))
