"""The document-OCR models and the CPU chat model of config.yaml, each a tiny random model of its real
architecture (``python -m tests.tiny_models``), answered through /ocr and /chat with the entry's own prompt,
page size and clean-up; and the chat default of a host without a GPU."""

import time

import pytest
from PIL import Image

from inference import InferenceService, ModelUnavailable, load_settings
from inference.device import gpu_info
from inference.images import fit_longest_side
from inference.values import OcrWork
from tests.conftest import ROOT
from tests.helpers import ENGLISH, encode, render_lines
from tests.polling import loaded_backend

IMAGE = render_lines(ENGLISH)
PNG = encode(IMAGE)
CLASSES = {
    "lightonocr_2_1b": "LightOnOcrForConditionalGeneration",
    "paddleocr_vl": "PaddleOCRVLForConditionalGeneration",
    "olmocr_2_7b": "Qwen2_5_VLForConditionalGeneration",
    "smolvlm2_500m": "SmolVLMForConditionalGeneration",
}


@pytest.fixture(scope="module")
def service(tiny_client):
    """The service behind ``tiny_client`` (one load of each model serves the REST calls and the looks inside)."""
    return tiny_client.app.state.service


def prompt_of(service, model_id, language=None):
    """The text the model is given for /ocr (its chat template applied, special tokens shown)."""
    service.load_model(model_id)
    backend = loaded_backend(service.manager, model_id)
    inputs = backend.batch_inputs([backend.ocr_request(OcrWork(IMAGE, language))])
    return backend, backend.processor.tokenizer.decode(inputs["input_ids"][0])


@pytest.mark.parametrize("model_id", list(CLASSES))
def test_ocr_with_each_model(tiny_client, service, model_id):
    response = tiny_client.post(f"/ocr?model={model_id}", files={"file": ("d.png", PNG)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == model_id and isinstance(body["text"], str) and "<|" not in body["text"]
    assert body["warnings"] and "limit of 16 new tokens" in body["warnings"][0]  # random weights never stop
    assert type(loaded_backend(service.manager, model_id).model).__name__ == CLASSES[model_id]


def test_each_model_is_asked_its_own_way(service):
    from inference.languages import parse

    _, lighton = prompt_of(service, "lightonocr_2_1b", parse("ru"))
    assert "<|im_start|>user\n<|image_pad|>" in lighton and lighton.endswith("<|im_end|>\n<|im_start|>assistant\n")
    assert "Read all the text" not in lighton and "Russian" not in lighton  # the image alone: no prompt, no hint
    _, paddle = prompt_of(service, "paddleocr_vl", parse("ru"))
    assert paddle.endswith("<|IMAGE_END|>OCR:\nAssistant: ") and "Russian" not in paddle
    backend, olm = prompt_of(service, "olmocr_2_7b")
    assert "a front matter section on top" in olm and backend.options.longest_side == 1288
    header = "---\nprimary_language: en\nis_rotation_valid: True\nrotation_correction: 0\nis_table: False\n---\n"
    assert backend.ocr_text(header + "Invoice 42\n") == "Invoice 42"
    _, smol = prompt_of(service, "smolvlm2_500m", parse("ru"))
    assert "Read all the text" in smol and "The text is in Russian." in smol and "<global-img>" in smol


def test_element_prompts_go_to_paddleocr_vl_through_chat(tiny_client):
    for prompt in ("Table Recognition:", "Formula Recognition:", "Chart Recognition:"):
        response = tiny_client.post(
            "/chat",
            files={"file": ("t.png", PNG)},
            data={"prompt": prompt, "model": "paddleocr_vl", "temperature": "0", "max_tokens": "4"},
        )
        assert response.status_code == 200 and response.json()["finish_reason"] == "length", response.text


def test_smolvlm_chats(tiny_client):
    body = tiny_client.post(
        "/chat",
        files={"file": ("t.png", PNG)},
        data={"prompt": "Describe", "model": "smolvlm2_500m", "temperature": "0", "max_tokens": "6"},
    ).json()
    assert body["model"] == "smolvlm2_500m" and isinstance(body["response"], str)
    assert body["finish_reason"] == "length" and body["warnings"]


def test_longest_side():
    assert fit_longest_side(Image.new("RGB", (3000, 2000)), 1288).size == (1288, 859)
    small = Image.new("RGB", (800, 600))
    assert fit_longest_side(small, 1288) is small


def test_chat_default_on_a_cpu_host_is_the_cpu_model_whose_weights_are_here(service):
    expected = "qwen3_vl_2b" if gpu_info().available else "smolvlm2_500m"
    assert service.default_model("chat") == expected
    assert service.catalog.registry.default_for("chat", "auto", gpu=False) == "smolvlm2_500m"
    assert service.catalog.registry.default_for("ocr", "auto", gpu=False) == "embedded"  # engines stay the CPU's OCR


def test_without_its_weights_a_cpu_host_refuses_chat_at_once_and_says_how():
    bare = InferenceService(load_settings(ROOT / "config.yaml", env={}))  # no weights here (tests' empty cache)
    assert bare.catalog.registry.default_for("chat", "auto", gpu=False) is None
    if gpu_info().available:
        pytest.skip("a GPU host picks a GPU model (fetched on first use)")
    started = time.monotonic()
    with pytest.raises(ModelUnavailable) as refused:
        bare.chat(PNG, "Describe")
    assert time.monotonic() - started < 2  # no download attempt, no load
    message = str(refused.value)
    assert "python -m inference.download smolvlm2_500m" in message and "qwen3_vl_2b" in message
    assert "need a GPU" in message


def test_a_pdf_is_read_by_a_page_model_at_its_page_size(tiny_client):
    from tests.helpers import image_pdf

    pdf = image_pdf([render_lines(ENGLISH, font_size=48), render_lines(["Second page"], font_size=48)], resolution=72)
    for model_id, side in [("olmocr_2_7b", 1288), ("lightonocr_2_1b", 1540)]:
        response = tiny_client.post(f"/ocr?model={model_id}", files={"file": ("two.pdf", pdf)})
        assert response.status_code == 200, response.text
        pages = response.json()["pages"]
        assert [p["page"] for p in pages] == [1, 2] and all(p["source"] == "ocr" and p["error"] is None for p in pages)
        assert max(pages[0]["image_size"]) == side  # rendered at the size the model reads best
