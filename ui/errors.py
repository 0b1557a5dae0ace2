"""The UI's one error translator: a UI event and its Gradio API event say the same sentence for the same error.

The sentence is the kernel's: a typed core error's message (paths redacted), as the REST edge says it in its
``{"detail"}``; an unexpected error is one sentence for the user and a traceback for the log. A refusal also notes
its status (and Retry-After) for Gradio's /run and /api, which would answer every error with a 500
(``inference.errors.note_refusal``; ``api.gradio_calls`` answers with it).

Every tab has two kinds of events. The UI's own (private) events never raise: on an error they keep what is on
screen and show the sentence beside it (:func:`keep_on_error`). The named Gradio API events (``api_name``) raise
``gr.Error`` with it, so that ``gradio_client`` gets the error (:func:`user_errors`).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing, contextmanager
from typing import Any

import gradio as gr

from inference import ChatVLMError
from inference.errors import ModelUnavailable, http_status, note_refusal, redact_paths, retry_after

log = logging.getLogger(__name__)

UNEXPECTED = "Something went wrong on the server; the server log has the details."
CANNOT_RUN = (
    "The model for this (the one named, or the default) cannot run on this server now: the Models tab, or GET /models, says why."
)


def message_for(exc: BaseException, where: str = "UI handler") -> str:
    """The one sentence for an error: a gr.Error's own, a core error's (its status noted for the Gradio API; a
    model that cannot run says so, and the Models tab (or /models) says why: an administrator's how-to stays off the
    user's screen, in the log), or :data:`UNEXPECTED` (the traceback goes to the log)."""
    if isinstance(exc, gr.Error):
        return exc.message
    if isinstance(exc, ChatVLMError):  # a refused request is no server fault: no traceback in the log for it
        note_refusal(http_status(exc), retry_after(exc))
        if isinstance(exc, ModelUnavailable):
            log.warning("shown to a UI user as 'cannot run': %s", exc)
            return CANNOT_RUN
        return redact_paths(str(exc))
    log.error("%s failed", where, exc_info=exc)
    return UNEXPECTED


def as_gr_error(exc: BaseException, where: str = "UI handler") -> gr.Error:
    if isinstance(exc, gr.Error):
        return exc
    # never Gradio's own traceback print: a refusal is the user's to fix (its one log line is the access log's), and
    # message_for has logged an unexpected error's traceback once already
    return gr.Error(message_for(exc, where), print_exception=False)


def refusal(message: str, status: int = 400) -> gr.Error:
    """A request the user must change (or may not make): the message for the screen, and the status the Gradio
    API's /run and /api answer with (400, or 403 for a role), instead of Gradio's 500 for every error."""
    note_refusal(status)
    return gr.Error(message, print_exception=False)


@contextmanager
def _raised_as_gr_error(name: str) -> Iterator[None]:
    try:
        yield
    except gr.Error:
        raise
    except Exception as exc:
        raise as_gr_error(exc, f"UI handler {name}") from None


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """For the Gradio API's events: errors surface as gr.Error with :func:`message_for`'s sentence (plain or async,
    function or generator). A cancelled handler (Stop, a client that left) is not an error: it propagates."""
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def async_streaming(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            with _raised_as_gr_error(fn.__name__):
                async with aclosing(fn(*args, **kwargs)) as items:
                    async for item in items:
                        yield item

        return async_streaming

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            with _raised_as_gr_error(fn.__name__):
                return await fn(*args, **kwargs)

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _raised_as_gr_error(fn.__name__):
            return fn(*args, **kwargs)

    return wrapper


def notice(message: str) -> str:
    return f"⚠️ {message}" if message else ""


def keep_on_error(outputs: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """For the UI's own events: an async handler (or async generator) whose last output is a message line. On an
    error, every other output keeps what it showed (``gr.skip()``) and the message says :func:`message_for`'s
    sentence."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        kept = (gr.skip(),) * (outputs - 1)

        def said(exc: Exception) -> Any:  # (a handler of one output returns the message alone, not a 1-tuple)
            shown = (*kept, notice(message_for(exc, f"UI handler {fn.__name__}")))
            return shown if outputs > 1 else shown[0]

        if inspect.isasyncgenfunction(fn):

            @functools.wraps(fn)
            async def streaming(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                try:
                    async with aclosing(fn(*args, **kwargs)) as items:
                        async for item in items:
                            yield item
                except Exception as exc:
                    yield said(exc)

            return streaming

        @functools.wraps(fn)
        async def handler(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except Exception as exc:
                return said(exc)

        return handler

    return wrap
