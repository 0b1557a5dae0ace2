"""Model manager panel: every registry model with its state and what it needs, load and unload, GPU status."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import gradio as gr
import pandas as pd

from inference import InferenceService, ModelUnavailable, for_role

from .endpoints import endpoint, hide_from_mcp
from .errors import keep_on_error, refusal
from .widgets import caller_of, role_of

COLUMNS = ["id", "state", "name", "params", "tasks", "note"]  # the state early: it stays in view on a phone
USERS_CANNOT_MANAGE = "Loading and unloading models is for an administrator (an admin key); this key has the user role."


def _table(service: InferenceService, role: str | None) -> pd.DataFrame:
    """Every model, its note as ``role`` may act on it (with keys on, a user reads what an administrator can do)."""
    listing = service.list_models()
    notes = {c.id: c.note for task in ("ocr", "chat") for c in service.model_choices(task)}
    rows = [
        [m.id, m.state, m.name, m.params, ", ".join(m.tasks), for_role(m.error or notes.get(m.id) or m.note or "", role)]
        for m in listing.available + listing.unavailable
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def _loadable(service: InferenceService) -> str:
    """The model the panel starts on: one that can load here now (the default OCR model, if it can)."""
    ready = [c.id for task in ("ocr", "chat") for c in service.model_choices(task) if c.runnable]
    default = service.default_model("ocr")
    return default if default in ready else (ready or service.model_ids())[0]


def _gpu(service: InferenceService) -> str:
    health = service.health()
    defaults = service.list_models().defaults
    gpu = f"GPU: **{health.gpu_name}**" if health.gpu_available else "GPU: **none** (CPU only)"
    if health.gpu_memory:
        gpu += f" — {health.gpu_memory['allocated_gib']} GiB allocated"
    chat = defaults.get("chat") or "none available"
    return f"{gpu} · default OCR model: `{defaults.get('ocr')}` · default chat model: `{chat}`"


def build(service: InferenceService, refresh_on: list, may_manage: Callable[[Any], bool]) -> None:
    """The panel; ``refresh_on`` are the events (page load, tab select) that re-read the states;
    ``may_manage(request)`` whether the caller may load and unload models: with API keys on, a user key is shown
    neither the buttons nor the model to pick for them, but why (they are shown once the page knows its caller)."""
    shown = not service.settings.auth.api_keys  # (keys off: everyone manages, nothing to wait for)
    status = gr.Markdown()
    table = gr.Dataframe(headers=COLUMNS, label="Models", interactive=False, wrap=True, elem_id="models-table")
    with gr.Row():
        choice = gr.Dropdown(
            choices=service.model_ids(), value=_loadable(service), label="Model", elem_id="models-choice", visible=shown
        )
        load = gr.Button("Load", variant="primary", elem_id="models-load", visible=shown)
        unload = gr.Button("Unload", elem_id="models-unload", visible=shown)
        refresh = gr.Button("Refresh", elem_id="models-refresh")
    message = gr.Markdown(elem_id="models-message")

    def refreshed(request: gr.Request):
        return _table(service, role_of(request)), _gpu(service)

    def opened(request: gr.Request):
        """The panel as this caller sees it: the table, and Load and Unload for those who may use them (else why)."""
        manages = may_manage(request)
        said = gr.skip() if manages else USERS_CANNOT_MANAGE
        return *refreshed(request), *(gr.update(visible=manages),) * 3, said

    def check(request: gr.Request) -> None:
        if not may_manage(request):
            raise refusal("Loading and unloading models needs an admin key; this key has the user role.", 403)

    def state_of(model_id: str) -> str | None:
        listing = service.list_models()
        return next((m.state for m in listing.available + listing.unavailable if m.id == model_id), None)

    async def load_one(model_id: str, request: gr.Request):
        check(request)
        was = await _in_thread(state_of, model_id)
        try:
            info = await _in_thread(service.load_model, model_id, caller_of(request))
        except ModelUnavailable as exc:  # (an administrator's load: why, and what to do, as POST /models/{id}/load says)
            raise refusal(str(exc), 503) from None
        if was == info.state == "ready":  # (its load time is the first load's: this press loaded nothing)
            return *refreshed(request), f"Model {info.id} is {info.state}: it was already loaded (nothing to do)."
        return *refreshed(request), f"Model {info.id} is {info.state} (loaded in {info.load_seconds} s)."

    async def unload_one(model_id: str, request: gr.Request):
        check(request)
        message = (await _in_thread(service.unload_model, model_id, caller_of(request))).message
        return *refreshed(request), message

    gr.on(refresh_on, opened, None, [table, status, choice, load, unload, message], api_visibility="private")
    refresh.click(refreshed, None, [table, status], api_visibility="private")
    load.click(hide_from_mcp(keep_on_error(3)(load_one)), [choice], [table, status, message], api_visibility="private")
    unload.click(hide_from_mcp(keep_on_error(3)(unload_one)), [choice], [table, status, message], api_visibility="private")

    # The Gradio API's /models, /load_model and /unload_model: errors raised to the client.
    def list_models(request: gr.Request):
        """Every configured model with its state, and the GPU status."""
        return refreshed(request)

    async def load_model(model_id: str, request: gr.Request):
        """Load a model now (admin role when API keys are on)."""
        return await load_one(model_id, request)

    async def unload_model(model_id: str, request: gr.Request):
        """Unload a model from memory (admin role when API keys are on)."""
        return await unload_one(model_id, request)

    model = partial(gr.Textbox, label="model")
    listing = [partial(gr.Dataframe, headers=COLUMNS, label="models"), partial(gr.Markdown, label="status")]
    endpoint("models", list_models, [], listing)
    endpoint("load_model", load_model, [model], [*listing, partial(gr.Markdown, label="message")])
    endpoint("unload_model", unload_model, [model], [*listing, partial(gr.Markdown, label="message")])


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """A blocking service call (a load can take minutes) off the event loop, in the waiters' pool."""
    import anyio

    from inference.cancel import waiters

    return await anyio.to_thread.run_sync(fn, *args, limiter=waiters())
