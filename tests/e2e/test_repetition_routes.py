"""A tiny model forced to loop, answered through /chat, /ocr, /v1/chat/completions and the UI's chat (Gradio API):
cut with finish reason repetition (one copy kept, a warning); a max_tokens cut says length."""

import base64
import json
import shutil

import httpx
import pytest

from inference import load_settings
from tests.conftest import serve_in_thread
from tests.helpers import ENGLISH, encode, render_lines

PNG = encode(render_lines(ENGLISH))


def looping_copy(source, folder):
    """A copy of a tiny model whose saved generation config biases it to write "ABABAB..." forever (a real
    ``sequence_bias``, as a model's generation_config.json may carry)."""
    from transformers import AutoTokenizer, GenerationConfig

    shutil.copytree(source, folder)
    a, b = AutoTokenizer.from_pretrained(folder).convert_tokens_to_ids(["A", "B"])
    generation = GenerationConfig.from_pretrained(folder)
    generation.sequence_bias = [[[a], 50.0], [[a, b], 100.0], [[b, a], 100.0]]
    generation.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def loop_client(tiny_build, tmp_path_factory):
    """Entries ``looping`` (the tiny Qwen3-VL) and ``got_looping`` (the tiny GOT-OCR 2.0), each a copy that loops;
    a loop is cut after 24 tokens; served by a real server in this process."""
    folder = tmp_path_factory.mktemp("loop")
    settings = load_settings(tiny_build / "config.yaml", env={})
    settings.limits.shutdown_grace_s = 1  # nothing runs at the end: shut down quickly
    cut = {"repetition_min_tokens": 24, "repetition_max_period": 8, "ocr_max_tokens": 64}
    for model_id, tiny, copy in (("qwen3_vl_2b", "qwen3_vl_tiny", "looping"), ("got_ocr", "got_ocr_tiny", "got_looping")):
        entry = next(m for m in settings.models if m.id == model_id)
        source = looping_copy(tiny_build / tiny, folder / copy)
        settings.models.append(entry.model_copy(update={"id": copy, "source": source, "options": {**entry.options, **cut}}))
    with serve_in_thread(settings) as (base, _), httpx.Client(base_url=base, timeout=120) as client:
        yield client


def chat(client, max_tokens):
    return client.post(
        "/chat",
        files={"file": ("i.png", PNG)},
        data={"prompt": "Describe", "model": "looping", "temperature": "0", "max_tokens": max_tokens},
    )


def test_a_loop_is_cut_to_one_copy_with_finish_reason_repetition(loop_client):
    body = chat(loop_client, 200).json()
    assert body["response"] == "AB" and body["finish_reason"] == "repetition"
    assert "repeating itself" in body["warnings"][0]
    for model in ("looping", "got_looping"):  # the transformers VLM backend and GOT-OCR's
        ocr = loop_client.post(f"/ocr?model={model}", files={"file": ("i.png", PNG)}).json()
        assert ocr["text"] == "AB" and "repeating itself" in ocr["warnings"][0], ocr


def test_max_tokens_before_the_loop_shows_gives_length(loop_client):
    body = chat(loop_client, 5).json()
    assert body["response"] == "ABABA" and body["finish_reason"] == "length"
    assert "limit of 5 new tokens" in body["warnings"][0]
    assert chat(loop_client, 8).json()["finish_reason"] == "length"


def test_openai_protocol_reports_a_repetition_as_length_with_a_warning(loop_client):
    image = "data:image/png;base64," + base64.b64encode(PNG).decode()
    request = {
        "model": "looping",
        "temperature": 0,
        "max_tokens": 200,
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": image}}, {"type": "text", "text": "Describe"}],
            }
        ],
    }
    choice = loop_client.post("/v1/chat/completions", json=request).json()["choices"][0]
    assert choice["message"]["content"] == "AB" and choice["finish_reason"] == "length"
    assert "repeating itself" in choice["warning"]
    with loop_client.stream("POST", "/v1/chat/completions", json={**request, "stream": True}) as response:
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: {")]
    last = [e["choices"][0] for e in events if e.get("choices")][-1]
    assert last["finish_reason"] == "length" and "repeating itself" in last["warning"]
    plain = loop_client.post("/v1/chat/completions", json={**request, "max_tokens": 5}).json()["choices"][0]
    assert plain["finish_reason"] == "length" and "limit of 5" in plain["warning"]


def test_the_ui_chat_keeps_one_copy(loop_client, english_file):
    from gradio_client import Client, handle_file

    gradio = Client(f"{loop_client.base_url}/", verbose=False)
    history, _ = gradio.predict(handle_file(str(english_file)), "Describe", "looping", 0.0, 200, [], api_name="/chat")
    assert history[-1]["content"][0]["text"] == "AB"  # streamed "ABAB...", then cut to one copy
