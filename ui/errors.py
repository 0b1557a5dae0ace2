"""Helpers shared by the tabs: honest model choices, language names, and errors that say one sentence to the user
while the rest goes to the log.

Every tab has two kinds of events. The UI's own (private) events never raise: on an error they keep what is on
screen and show the message beside it (:func:`keep_on_error`). The named Gradio API events (``api_name``) raise
``gr.Error``, so that ``gradio_client`` gets the error (:func:`user_errors`).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing, contextmanager
from typing import Any

import gradio as gr

from inference import ChatVLMError, InferenceService, Overloaded
from inference.errors import (
    BadInput,
    ModelUnavailable,
    RateLimited,
    TimedOut,
    http_status,
    note_refusal,
    redact_paths,
    retry_after,
)
from inference.images import not_an_image

log = logging.getLogger(__name__)

LANGUAGES = [("English", "en"), ("Russian", "ru"), ("Ukrainian", "uk"), ("German", "de"), ("French", "fr"),
             ("Spanish", "es"), ("Chinese", "zh")]


def user_message(exc: BaseException) -> str:
    """One sentence for the person in front of the UI (an administrator's details go to the log)."""
    if isinstance(exc, BadInput):
        return redact_paths(str(exc))
    if isinstance(exc, Overloaded):
        return f"The server is busy right now; try again in about {exc.retry_after} s."
    if isinstance(exc, TimedOut):
        return "That took longer than the server allows and was stopped; try a smaller image or a shorter answer."
    if isinstance(exc, ModelUnavailable):
        log.warning("shown to a UI user as 'cannot run': %s", exc)
        return "This model cannot run on this server right now; the Models tab says why."
    if isinstance(exc, ChatVLMError):
        return redact_paths(str(exc))
    log.exception("UI handler failed", exc_info=exc)
    return "Something went wrong on the server; the server log has the details."


@contextmanager
def _as_gr_error(name: str) -> Iterator[None]:
    try:
        yield
    except gr.Error:
        raise
    except ChatVLMError as exc:  # a refused request is no server fault: no traceback in the log for it
        note_refusal(http_status(exc), retry_after(exc))
        raise gr.Error(redact_paths(str(exc)), print_exception=not isinstance(exc, RateLimited)) from None
    except Exception as exc:
        log.exception("UI handler %s failed", name)
        raise gr.Error("Unexpected error; the server log has the details.") from exc


def refusal(message: str, status: int = 400) -> gr.Error:
    """A request the user must change (or may not make): the message for the screen, and the status the Gradio
    API's /run and /api answer with (400, or 403 for a role), instead of Gradio's 500 for every error."""
    note_refusal(status)
    return gr.Error(message, print_exception=False)


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """For the Gradio API's events: readable core errors and unexpected ones surface as gr.Error (plain or async,
    function or generator). A cancelled handler (Stop, a client that left) is not an error: it propagates."""
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def async_streaming(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            with _as_gr_error(fn.__name__):
                async with aclosing(fn(*args, **kwargs)) as items:
                    async for item in items:
                        yield item

        return async_streaming

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            with _as_gr_error(fn.__name__):
                return await fn(*args, **kwargs)

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _as_gr_error(fn.__name__):
            return fn(*args, **kwargs)

    return wrapper


def notice(message: str) -> str:
    return f"⚠️ {message}" if message else ""


def keep_on_error(outputs: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """For the UI's own events: an async handler (or async generator) whose last output is a message line. On an
    error, every other output keeps what it showed (``gr.skip()``) and the message says what went wrong."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        failed = (*([gr.skip()] * (outputs - 1)), None)

        if inspect.isasyncgenfunction(fn):

            @functools.wraps(fn)
            async def streaming(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                try:
                    async with aclosing(fn(*args, **kwargs)) as items:
                        async for item in items:
                            yield item
                except gr.Error as exc:
                    yield (*failed[:-1], notice(exc.message))
                except Exception as exc:
                    yield (*failed[:-1], notice(user_message(exc)))

            return streaming

        @functools.wraps(fn)
        async def handler(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except gr.Error as exc:
                return (*failed[:-1], notice(exc.message))
            except Exception as exc:
                return (*failed[:-1], notice(user_message(exc)))

        return handler

    return wrap


DOCUMENT_TYPES = [".pdf", ".tif", ".tiff"]  # what the document inputs take (images go to the image inputs)


def caller_of(request: Any) -> str | None:
    """Whose rate-limit budget a Gradio event spends (the service charges it): the principal the gatekeeper found
    for its HTTP request (a key's fingerprint, or ``address <ip>`` when keys are off), as the REST routes name it;
    without one (the UI served alone), the Gradio user or the client's address."""
    http = getattr(request, "request", None) if isinstance(request, gr.Request) else request  # MCP: Starlette's
    principal = (getattr(http, "scope", None) or {}).get("state", {}).get("principal")
    if principal is not None:
        return principal.name
    name = getattr(request, "username", None)
    if name:
        return name.split(":", 1)[-1]
    client = getattr(http, "client", None)
    return f"address {client.host}" if client is not None else None


def file_path(value: Any) -> str | None:
    """A gr.File's value (a path, or an object with .name in some Gradio versions) as a path; None when empty."""
    if not value:
        return None
    return value if isinstance(value, str) else getattr(value, "name", None) or str(value)


def image_input(height: int, elem_id: str | None = None, label: str = "Image") -> gr.Image:
    """An image upload whose unreadable files give a readable gr.Error, not Gradio's preprocessing trace.

    (Wrapped per instance: subclassing a Gradio component makes Gradio write a .pyi file next to this one.)
    """
    # image_mode=None: the file is passed on as uploaded (the service decodes it; Gradio would re-encode it first)
    image = gr.Image(type="filepath", label=label, sources=["upload", "clipboard"], height=height, elem_id=elem_id,
                     image_mode=None)
    original = image.preprocess

    def preprocess(payload: Any) -> Any:
        try:
            return original(payload)
        except gr.Error:
            raise
        except Exception:
            name = getattr(payload, "orig_name", None) or "the upload"
            raise refusal(not_an_image(name)) from None

    image.preprocess = preprocess
    return image


def model_dropdown(service: InferenceService, task: str, label: str = "Model", elem_id: str | None = None
                   ) -> tuple[gr.Dropdown, bool]:
    """The models that can do the task, each labelled with what it needs; those that can run here come first
    (the default first) and only they can be the default. Returns the dropdown and whether any can run."""
    choices = service.model_choices(task)
    options = [(f"{c.name}: {c.note}" if c.note else c.name, c.id) for c in choices]
    runnable = [c.id for c in choices if c.runnable]
    dropdown = gr.Dropdown(choices=options, value=(runnable or [None])[0], label=label, elem_id=elem_id,
                           info=None if runnable else "No model for this can run on this server yet.")
    return dropdown, bool(runnable)


def language_picker(elem_id: str | None = None) -> gr.Dropdown:
    """Languages by name; several may be chosen (a page in English and Russian); none = let the server tell."""
    return gr.Dropdown(choices=LANGUAGES, value=[], multiselect=True, label="Language (optional)",
                       info="Leave empty to let the server tell; pick several for a page that mixes them.",
                       elem_id=elem_id)


def language_hint(picked: Any) -> str | None:
    """The picker's value as the service's hint: 'en', 'en+ru', or None."""
    if isinstance(picked, str):
        return picked.strip() or None
    return "+".join(str(code) for code in picked or []) or None
