"""The OCR model pickers offer `auto` where it routes pages (the CPU engine and a VLM both run here): first when it is
the default (the UI then reads as a request without a model does), after the default otherwise, and not at all where
no VLM can run (there auto is the CPU engine alone). The tiny models' service, pages routed to a tiny VLM."""

from __future__ import annotations

import gradio as gr
import pytest

from inference.routing_settings import RoutingSettings
from ui.widgets import model_dropdown

VLM = "qwen3_vl_2b"


@pytest.fixture
def routing(tiny_service):
    kept = tiny_service.settings.routing, tiny_service.settings.defaults.ocr_model
    yield tiny_service
    tiny_service.settings.routing, tiny_service.settings.defaults.ocr_model = kept


def choices(service, task: str = "ocr") -> list[tuple[str, str]]:
    with gr.Blocks():
        dropdown, _ = model_dropdown(service, task)
    assert dropdown.value == dropdown.choices[0][1]  # the first is the one chosen
    return dropdown.choices


def offered(service) -> list[str]:
    return [value for _, value in choices(service)]


def test_auto_is_offered_where_it_routes_first_when_it_is_the_default(routing):
    routing.settings.routing = RoutingSettings(vlm="none")
    without = offered(routing)
    assert "auto" not in without and "embedded" in without

    routing.settings.routing = RoutingSettings(vlm=VLM)
    routing.settings.defaults.ocr_model = "auto"
    first = offered(routing)
    assert first[0] == "auto" and first[1:] == without, first
    name = {value: label for label, value in choices(routing)}["auto"]
    assert "embedded" in name.lower() and "Qwen3-VL" in name, name  # what reads first, and what pages go to

    routing.settings.defaults.ocr_model = without[0]
    after = offered(routing)
    assert after == [without[0], "auto", *without[1:]], after
    assert "auto" not in [value for _, value in choices(routing, "chat")]  # chat has no auto of this kind
