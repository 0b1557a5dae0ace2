"""The one way to declare a named Gradio API endpoint (``api_name``): :func:`endpoint`.

An endpoint gets its own inputs and outputs (made by the factories given, inside a hidden group, so that they
never show on the page), an invisible trigger, and its handler wrapped by :func:`ui.errors.user_errors` (errors
reach ``gradio_client`` as ``gr.Error`` with the UI's sentence). Its parameters are the components' (a file input
takes ``handle_file(...)``; ``/gradio_api/call/v2/<name>`` names them after the handler's arguments). Every endpoint
but an MCP tool is kept out of the MCP server's tools (:func:`hide_from_mcp`; ``ui.mcp_tools.only_tools`` enforces
it once the server is mounted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr

from .errors import user_errors

Factory = Callable[[], Any]  # makes one component: functools.partial(gr.Textbox, label="model")
UI_ONLY = "ui"  # the mark of a handler that is not an MCP tool


def hide_from_mcp(fn: Any) -> Any:
    """Keep an event out of the MCP tool list (its inputs are the UI's, not an agent's)."""
    fn._mcp_type = UI_ONLY
    return fn


def is_hidden_from_mcp(fn: Any) -> bool:
    return getattr(fn, "_mcp_type", None) == UI_ONLY


def endpoint(
    name: str, fn: Callable[..., Any], inputs: Sequence[Factory], outputs: Sequence[Factory], tool: bool = False, **event: Any
) -> Any:
    """Declare the named endpoint ``/name`` that runs ``fn`` (plain or async, function or generator) on the
    inputs made by ``inputs`` and answers with the outputs made by ``outputs``. ``tool``: also an MCP tool
    (described by ``fn``'s docstring). ``event``: more of Gradio's event options (``queue=False``...)."""
    with gr.Group(visible=False):
        made_inputs = [make() for make in inputs]
        made_outputs = [make() for make in outputs]
        trigger = gr.Button()
    handler = user_errors(fn)
    if not tool:
        hide_from_mcp(handler)
    return trigger.click(handler, made_inputs, made_outputs, api_name=name, **event)
