"""Helpers shared by the tabs: core errors become gr.Error messages, once."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing, contextmanager
from typing import Any

import gradio as gr

from inference import ChatVLMError, InferenceService
from inference.errors import redact_paths
from inference.images import not_an_image

log = logging.getLogger(__name__)

LANGUAGES = ["", "en", "ru", "zh", "de", "fr", "es", "uk"]


@contextmanager
def _as_gr_error(name: str) -> Iterator[None]:
    try:
        yield
    except gr.Error:
        raise
    except ChatVLMError as exc:
        raise gr.Error(redact_paths(str(exc))) from None
    except Exception as exc:
        log.exception("UI handler %s failed", name)
        raise gr.Error("Unexpected error; the server log has the details.") from exc


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a UI handler (plain or async, function or generator); readable core errors and unexpected ones
    surface as gr.Error. A cancelled handler (Stop, a client that left) is not an error: it propagates."""
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

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def streaming(*args: Any, **kwargs: Any) -> Iterator[Any]:
            with _as_gr_error(fn.__name__):
                yield from fn(*args, **kwargs)

        return streaming

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _as_gr_error(fn.__name__):
            return fn(*args, **kwargs)

    return wrapper


def image_input(height: int, elem_id: str | None = None) -> gr.Image:
    """An image upload whose unreadable files give a readable gr.Error, not Gradio's preprocessing trace.

    (Wrapped per instance: subclassing a Gradio component makes Gradio write a .pyi file next to this one.)
    """
    image = gr.Image(type="filepath", label="Image", sources=["upload", "clipboard"], height=height, elem_id=elem_id)
    original = image.preprocess

    def preprocess(payload: Any) -> Any:
        try:
            return original(payload)
        except gr.Error:
            raise
        except Exception:
            name = getattr(payload, "orig_name", None) or "the upload"
            raise gr.Error(not_an_image(name)) from None

    image.preprocess = preprocess
    return image


def model_dropdown(service: InferenceService, task: str, label: str = "Model") -> gr.Dropdown:
    """Models that can do the task: those that can run here first (default first), then the others, which
    explain why they cannot when chosen."""
    able = service.models_for(task)
    choices = able + [m for m in service.model_ids(task) if m not in able]
    return gr.Dropdown(choices=choices, value=(able or choices or [None])[0], label=label)


def language_box() -> gr.Dropdown:
    return gr.Dropdown(choices=LANGUAGES, value="", allow_custom_value=True, label="Language hint (optional)")
