"""Model manager panel: every registry model with its state, load and unload, GPU status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr
import pandas as pd

from inference import InferenceService

from .common import user_errors
from .mcp_tools import hide_from_mcp

COLUMNS = ["id", "name", "params", "tasks", "state", "note"]


def _table(service: InferenceService) -> pd.DataFrame:
    listing = service.list_models()
    rows = [
        [m.id, m.name, m.params, ", ".join(m.tasks), m.state, m.error or ""]
        for m in listing.available + listing.unavailable
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


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
    ``may_manage(request)`` whether the caller may load and unload models."""
    status = gr.Markdown()
    table = gr.Dataframe(headers=COLUMNS, label="Models", interactive=False, wrap=True)
    with gr.Row():
        choice = gr.Dropdown(choices=service.model_ids(), value=service.model_ids()[0], label="Model")
        load = gr.Button("Load", variant="primary")
        unload = gr.Button("Unload")
        refresh = gr.Button("Refresh")
    message = gr.Markdown()

    def models():
        return _table(service), _gpu(service)

    def check(request: gr.Request) -> None:
        if not may_manage(request):
            raise gr.Error("Loading and unloading models needs an admin key; this key has the user role.")

    @user_errors
    def load_model(model_id: str, request: gr.Request):
        check(request)
        info = service.load_model(model_id)
        return *models(), f"Model {info.id} is {info.state} (loaded in {info.load_seconds} s)."

    @user_errors
    def unload_model(model_id: str, request: gr.Request):
        check(request)
        message = service.unload_model(model_id).message
        return *models(), message

    refresh.click(hide_from_mcp(models), None, [table, status], api_name="models")
    load.click(hide_from_mcp(load_model), [choice], [table, status, message], api_name="load_model")
    unload.click(hide_from_mcp(unload_model), [choice], [table, status, message], api_name="unload_model")
    gr.on(refresh_on, models, None, [table, status], api_visibility="private")
