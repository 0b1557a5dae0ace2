"""The UI's chat, OCR and model endpoints with the tiny vision-language models, through gradio_client."""

import pytest
from gradio_client import Client, handle_file

from inference.device import gpu_info


@pytest.fixture(scope="module")
def gradio(tiny_server):
    return Client(f"{tiny_server}/", verbose=False)


def test_multi_turn_chat(gradio, english_file):
    history, prompt = gradio.predict(handle_file(str(english_file)), "What is this?", "qwen3_vl_2b", 0.0, 6, [], api_name="/chat")
    assert prompt == "" and [m["role"] for m in history] == ["user", "assistant"]
    assert history[0]["content"] == [{"text": "What is this?", "type": "text"}]
    assert isinstance(history[1]["content"][0]["text"], str)
    history, _ = gradio.predict(handle_file(str(english_file)), "And then?", "qwen3_vl_2b", 0.0, 6, history, api_name="/chat")
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]


def test_ocr_and_models_panel(gradio, english_file):
    text, details = gradio.predict(handle_file(str(english_file)), "got_ocr", "", api_name="/ocr")
    assert isinstance(text, str) and details["model"] == "got_ocr"
    table, status = gradio.predict(api_name="/models")
    states = {row[0]: row[1] for row in table["data"]}
    chat = "qwen3_vl_2b" if gpu_info().available else "smolvlm2_500m"
    assert states["got_ocr"] == "ready" and f"default chat model: `{chat}`" in status
    table, _, message = gradio.predict("got_ocr", api_name="/unload_model")
    assert {row[0]: row[1] for row in table["data"]}["got_ocr"] == "unloaded" and message == "Model got_ocr unloaded"
