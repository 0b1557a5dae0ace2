"""Gradio events called with inputs they cannot take: refused in one sentence, before Gradio raises.

Gradio checks an event's inputs as it prepares them and raises a plain exception for a call that sends too few values
(its message copies every value sent), a value a component cannot take (a word for a number, an object for an
example's index) and an event that runs in the browser only (nothing to call on the server); its examples' loader
raises given no example (null). Its queue and its direct calls (``/gradio_api/run/...``) then print the traceback to
the server's stderr, its log: ~2 to 4 KB a request, and the values sent besides (3 MB sent, 3 MB written), so that
anyone could fill the server's disk at a request's price (an attack pass). :func:`guard` checks what it can before
Gradio does, and says a component's refusal in our words: a refusal (:func:`ui.errors.refusal`: shown, never printed;
400 for a direct call) and one short log line.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from typing import Any

import gradio as gr
from gradio.exceptions import ComponentProcessingError

from inference.observe import printable

from .errors import refusal

log = logging.getLogger(__name__)

BROWSER_ONLY = "This event runs in the browser only: there is nothing to call on the server."
NO_EXAMPLE = "Pick an example: the index of one of the examples."
_INPUT = re.compile(r"at index (\d+) \(a `(\w+)` component\)")  # (Gradio's message: blocks._format_processing_error)
_EXPECTED = re.compile(r"Expected a `([^`\n]{1,80})`")


def cannot_take(exc: ComponentProcessingError) -> str:
    """The sentence for a value an input's component could not take (which input, what it takes; never the value)."""
    text = str(exc)
    found, expected = _INPUT.search(text), _EXPECTED.search(text)
    which = f"Input {int(found.group(1)) + 1} of this event (a {found.group(2)})" if found else "An input of this event"
    takes = f"; it takes {expected.group(1)}" if expected else ""
    return f"{which} cannot take the value sent{takes}."


def refused(event: Any, message: str) -> gr.Error:
    name = str(getattr(event, "name", "") or getattr(event, "api_name", "") or "?")
    log.warning("refused a Gradio event's inputs (%s): %s", printable(name, 60), printable(message, 300))
    return refusal(message)


def guard(blocks: gr.Blocks) -> None:
    """Check every event's inputs before Gradio prepares them (see the module doc)."""
    prepare = blocks.preprocess_data
    signature = inspect.signature(prepare)

    @functools.wraps(prepare)
    async def preprocess_data(*args: Any, **kwargs: Any) -> Any:
        call = signature.bind_partial(*args, **kwargs).arguments
        event, inputs = call.get("block_fn"), call.get("inputs")
        if isinstance(event, int):
            event = blocks.fns[event]
        if event is not None and event.fn is None:
            raise refused(event, BROWSER_ONLY)
        blocks_in, values = list(getattr(event, "inputs", ())), inputs if isinstance(inputs, list) else []
        if len(values) < len(blocks_in):  # (Gradio's own check: more values than inputs are left unused)
            raise refused(event, f"This event takes {len(blocks_in)} input values; the call sent {len(values)}.")
        given = zip(blocks_in, values, strict=False)
        if any(isinstance(block, gr.Dataset) and value is None for block, value in given):
            raise refused(event, NO_EXAMPLE)  # (gr.Examples' loader, its event's function, unpacks what it is given)
        try:
            return await prepare(*args, **kwargs)
        except ComponentProcessingError as exc:
            raise refused(event, cannot_take(exc)) from None

    blocks.preprocess_data = preprocess_data  # type: ignore[method-assign]
