"""The document-OCR models and the CPU chat model of config.yaml, each a tiny random model of its real
architecture (``python -m tests.tiny_models``), answered through /ocr and /chat with the entry's own prompt,
page size, sampling and clean-up, their answers made the page's blocks; and the chat default of a host without a GPU."""

import time

import pytest
from PIL import Image

from inference import InferenceService, ModelUnavailable, load_settings
from inference.blocks import BLOCK_TYPES
from inference.device import gpu_info
from inference.images import fit_longest_side
from inference.registry import Registry
from inference.values import ChatParams, ChatWork, OcrWork
from tests.conftest import ROOT
from tests.helpers import ENGLISH, encode, render_lines
from tests.polling import loaded_backend

IMAGE = render_lines(ENGLISH)
PNG = encode(IMAGE)
CLASSES = {
    "lightonocr_2_1b": "LightOnOcrForConditionalGeneration",
    "lightonocr_3_0_8b": "Qwen3_5ForConditionalGeneration",  # the 4B's twin is the same
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
    # its answer, read as Markdown, is the page's blocks (no boxes: Markdown has none)
    assert bool(body["blocks"]) == bool(body["text"].strip())  # a blank answer has none
    assert all(b["type"] in BLOCK_TYPES and b["bbox"] is None and b["text"] in body["text"] for b in body["blocks"])


def test_lightonocr_3_reads_a_page_as_grounded_blocks(tiny_client, service):
    """The 1B's twin (LightOnOCR-2's architecture) is asked with `grounding` at its card's sampling; its grounding
    answer (tests.tiny_models.GROUNDING_ANSWER) comes back as labelled blocks with boxes in the page's pixels."""
    response = tiny_client.post("/ocr?model=lightonocr_3_1b", files={"file": ("d.png", PNG)})
    assert response.status_code == 200, response.text
    body = response.json()
    width, height = body["image_size"]
    assert [b["type"] for b in body["blocks"]] == ["title", "table", "page_number"] and body["warnings"] == []
    title, table, number = body["blocks"]
    assert title["bbox"] == pytest.approx([0, 0, width * 0.5, height * 0.099], abs=0.1)
    assert number["bbox"] == pytest.approx([width * 0.45, height * 0.95, width * 0.55, height * 0.999], abs=0.1)
    assert [[c["text"] for c in row] for row in table["table"]["rows"]] == [["a", "b"], ["1", "2"]]
    assert body["text"] == "T\n\n|a|b|\n|-|-|\n|1|2|\n\n7" and title["text"] == "T" and title["level"] == 1
    md = tiny_client.post("/ocr?model=lightonocr_3_1b&format=markdown", files={"file": ("d.png", PNG)}).text
    assert md.strip() == "# T\n\n| a | b |\n|---|---|\n| 1 | 2 |"  # the page number left out
    backend, prompt = prompt_of(service, "lightonocr_3_1b")
    assert prompt.endswith("grounding<|im_end|>\n<|im_start|>assistant\n")
    params = backend.ocr_request(OcrWork(IMAGE)).params
    assert (params.temperature, params.top_p) == (0.2, 0.9) and backend.options.longest_side == 1540
    _, qwen3_5 = prompt_of(service, "lightonocr_3_0_8b")  # Qwen3.5-based: thinking off, as LightOn asks
    assert qwen3_5.endswith("grounding<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_page_models_sample_as_their_cards_say():
    """The registry's sampling per model (config.yaml): LightOnOCR-3 at 0.2 / top_p 0.9, olmOCR at 0.1 and read again
    hotter when a page fails, the others greedy; OCR work is batched only with work of the same sampling."""
    registry = Registry(load_settings(ROOT / "config.yaml", env={}))
    ids = ("lightonocr_3_1b", "lightonocr_3_4b", "olmocr_2_7b", "qwen3_vl_2b")
    backends = {i: registry.backend_class(i)(registry.get(i)) for i in ids}  # built, not loaded
    sampling = {i: b.ocr_request(OcrWork(IMAGE)).params for i, b in backends.items()}
    assert {i: (p.temperature, p.top_p) for i, p in sampling.items()} == {
        "lightonocr_3_1b": (0.2, 0.9),
        "lightonocr_3_4b": (0.2, 0.9),
        "olmocr_2_7b": (0.1, None),
        "qwen3_vl_2b": (0.0, None),
    }
    assert backends["olmocr_2_7b"].options.ocr_retry_temperatures == [0.1, 0.2, 0.3, 0.5, 0.8, 0.9, 1.0]
    assert backends["lightonocr_3_4b"].options.chat_template_kwargs == {"enable_thinking": False}
    lighton = backends["lightonocr_3_1b"]
    assert lighton.batch_key(OcrWork(IMAGE)) != lighton.batch_key(ChatWork([], ChatParams(0.0, 8)))


def test_a_page_whose_answer_failed_is_read_again(tiny_settings):
    """olmOCR's retry, on its twin (greedy here, so that it fails every time): each retry is one more generate, the
    warnings say so, and every token generated counts."""
    spec = next(m for m in tiny_settings.models if m.id == "olmocr_2_7b")
    spec = spec.model_copy(update={"options": {**spec.options, "ocr_retry_temperatures": [0.0, 0.0]}})
    backend = Registry(tiny_settings).backend_class(spec.id)(spec)
    backend.load()
    try:
        output = backend.run_batch([OcrWork(IMAGE), OcrWork(IMAGE)], [lambda: False, lambda: False])[0]
    finally:
        backend.unload()
    assert output.completion_tokens == 48 and "limit of 16 new tokens" in output.warnings[0]  # 3 answers of 16
    assert "read again at temperature 0, 0;" in output.warnings[1] and "none of the answers ended" in output.warnings[1]


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
