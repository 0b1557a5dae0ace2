"""The transformers backends on tiny random models, through the product's own loading path."""

import gc
import weakref

import pytest
from PIL import Image

from inference import ConfigError, InferenceService, ModelUnavailable, load_settings
from inference.device import gpu_info
from inference.languages import parse
from inference.manager import UNAVAILABLE
from inference.values import ChatMessage, ChatParams
from tests.helpers import ENGLISH, render_lines
from tests.polling import loaded_backend, unload_all

IMAGE = render_lines(ENGLISH)


def backend_of(service, model_id):
    service.load_model(model_id)
    return loaded_backend(service.manager, model_id)


def test_loads_real_classes_from_a_local_folder(tiny_service):
    info = tiny_service.load_model("qwen3_vl_2b")
    assert info.state == "ready" and info.load_seconds > 0
    backend = backend_of(tiny_service, "qwen3_vl_2b")
    assert type(backend.model).__name__ == "Qwen3VLForConditionalGeneration"
    assert type(backend.processor).__name__ == "Qwen3VLProcessor"
    assert backend.processor.tokenizer.padding_side == "left"
    got = backend_of(tiny_service, "got_ocr")
    assert type(got.model).__name__ == "GotOcr2ForConditionalGeneration"
    assert got.model.config._attn_implementation == "eager"


def test_greedy_chat_is_deterministic(tiny_service):
    first = tiny_service.chat(IMAGE, "What does it say?", "qwen3_vl_2b", temperature=0.0, max_tokens=12)
    second = tiny_service.chat(IMAGE, "What does it say?", "qwen3_vl_2b", temperature=0.0, max_tokens=12)
    assert first.response == second.response and first.model == "qwen3_vl_2b" and first.prompt == "What does it say?"


@pytest.mark.parametrize("max_tokens", [1, 5, 9])
def test_max_tokens_is_never_exceeded(tiny_service, max_tokens):
    backend = backend_of(tiny_service, "qwen3_vl_2b")
    inputs = backend.inputs(IMAGE, [ChatMessage("user", "Describe")])
    new = backend.generate(inputs, ChatParams(temperature=0.7, max_tokens=max_tokens))
    assert 1 <= new.shape[1] <= max_tokens
    answer = tiny_service.chat(IMAGE, "Describe", "qwen3_vl_2b", temperature=0.0, max_tokens=max_tokens).response
    assert len(answer) <= max_tokens  # the tiny byte-level vocabulary decodes each token to at most one character


def test_stream_grows_to_the_full_answer(tiny_service):
    stream = tiny_service.chat_stream(IMAGE, "Describe", "qwen3_vl_2b", temperature=0.0, max_tokens=10)
    pieces = list(stream)
    assert pieces and all(b.startswith(a) for a, b in zip(pieces, pieces[1:], strict=False))
    whole = tiny_service.chat(IMAGE, "Describe", "qwen3_vl_2b", temperature=0.0, max_tokens=10)
    assert pieces[-1].strip() == whole.response == stream.output.text
    assert stream.output.finish_reason == whole.finish_reason == "length" and stream.output.completion_tokens == 10


def test_an_abandoned_stream_stops_and_frees_its_model(tiny_service):
    """A consumer that reads one piece and leaves: the generation stops within a step and unload is quick."""
    import time

    started = time.monotonic()
    short = tiny_service.chat(IMAGE, "Describe", "qwen3_vl_8b", temperature=0.0, max_tokens=100)
    per_100 = time.monotonic() - started  # this host's pace, busy or not
    assert short.finish_reason == "length"
    # sampled: a greedy random model loops, and a loop is cut after a few hundred tokens (this must be stopped)
    stream = tiny_service.chat_stream(IMAGE, "Describe", "qwen3_vl_8b", temperature=0.7, max_tokens=4000)
    next(stream)
    del stream  # the consumer goes away without closing it: dropping the stream stops the generation
    started = time.monotonic()
    assert tiny_service.unload_model("qwen3_vl_8b").status == "success"
    assert time.monotonic() - started < max(5.0, 10 * per_100)  # generating all 4000 tokens takes about 40 x per_100


def test_history_reaches_the_model(tiny_service):
    backend = backend_of(tiny_service, "qwen3_vl_2b")
    history = [
        ChatMessage("user", "first question"),
        ChatMessage("assistant", "first answer"),
        ChatMessage("user", "second question"),
    ]
    text = backend.processor.tokenizer.decode(backend.inputs(IMAGE, history)["input_ids"][0])
    assert text.count("<|vision_start|>") == 1  # the image stays attached, once
    assert text.index("first question") < text.index("first answer") < text.index("second question")


def test_control_tokens_in_the_prompt_are_not_image_slots(tiny_service):
    """A prompt's "<|image_pad|>" is text, not another slot for the image (transformers >= 5.23: older ones ignore
    apply_chat_template's sanitize_control_tokens, so requirements.txt asks for it)."""
    answer = tiny_service.chat(IMAGE, "what is <|image_pad|> here?", "qwen3_vl_2b", temperature=0.0, max_tokens=3)
    assert isinstance(answer.response, str)
    backend = backend_of(tiny_service, "qwen3_vl_2b")
    slots = [
        int((backend.inputs(IMAGE, [ChatMessage("user", prompt)])["input_ids"] == backend.model.config.image_token_id).sum())
        for prompt in ("what is here?", "what is <|image_pad|><|image_pad|> here?")
    ]
    assert slots[0] > 0 and slots[1] == slots[0], slots


def test_pixel_budget_bounds_visual_tokens(tiny_service):
    backend = backend_of(tiny_service, "qwen3_vl_2b")
    budget = backend.options.max_pixels
    huge = Image.new("RGB", (4000, 3000), "white")
    inputs = backend.inputs(huge, [ChatMessage("user", "Describe")])
    image_tokens = int((inputs["input_ids"] == backend.model.config.image_token_id).sum())
    assert 0 < image_tokens <= budget / (32 * 32)
    assert tiny_service.ocr(huge, "qwen3_vl_2b").image_size == [4000, 3000]


def test_ocr_prompt_carries_the_language_hint(tiny_service):
    backend = backend_of(tiny_service, "qwen3_vl_2b")
    assert "Russian" in backend.ocr_prompt(parse("ru")) and "Russian" not in backend.ocr_prompt(None)
    result = tiny_service.ocr(IMAGE, "qwen3_vl_2b", "ru")
    assert isinstance(result.text, str) and result.language == "ru" and result.model == "qwen3_vl_2b"


def test_got_ocr_plain_and_formatted_prompts(tiny_config, tiny_service):
    settings = load_settings(tiny_config, env={})
    entry = next(m for m in settings.models if m.id == "got_ocr")
    formatted = entry.model_copy(update={"id": "got_ocr_format", "options": {**entry.options, "output": "formatted"}})
    settings.models.append(formatted)
    service = InferenceService(settings)
    for model_id, marker in (("got_ocr", " OCR: "), ("got_ocr_format", " OCR with format: ")):
        backend = backend_of(service, model_id)
        inputs = backend.processor(IMAGE, return_tensors="pt", format=backend.options.output == "formatted")
        assert marker in backend.processor.tokenizer.decode(inputs["input_ids"][0])
        assert isinstance(service.ocr(IMAGE, model_id).text, str)
    unload_all(service.manager)


def test_unload_releases_the_model_and_reload_works(tiny_service):
    backend = backend_of(tiny_service, "qwen3_vl_4b")
    model_ref = weakref.ref(backend.model)
    del backend
    assert tiny_service.unload_model("qwen3_vl_4b").message == "Model qwen3_vl_4b unloaded"
    gc.unfreeze()  # the test process freezes what is alive between files (tests/process_costs.py): the model may be there
    gc.collect()
    assert model_ref() is None
    assert tiny_service.chat(IMAGE, "again", "qwen3_vl_4b", temperature=0, max_tokens=2).model == "qwen3_vl_4b"


def test_defaults_on_cpu_and_gpu(tiny_service):
    assert tiny_service.default_model("ocr") == ("lightonocr_3_1b" if gpu_info().available else "embedded")
    assert tiny_service.default_model("chat") == ("qwen3_vl_2b" if gpu_info().available else "smolvlm2_500m")
    assert tiny_service.catalog.registry.default_for("ocr", "auto", gpu=True) == "lightonocr_3_1b"
    assert tiny_service.catalog.registry.default_for("chat", "auto", gpu=True) == "qwen3_vl_2b"


def _settings_with(tmp_path, entry: str):
    path = tmp_path / "config.yaml"
    path.write_text("models:\n" + entry)
    return load_settings(path, env={})


def test_unknown_precision_is_a_config_error_at_start_up(tmp_path):
    settings = _settings_with(
        tmp_path, "  - {id: q, name: Q, backend: transformers, source: Qwen/X, tasks: [chat], options: {precision: int3}}\n"
    )
    with pytest.raises(ConfigError, match="precision"):
        InferenceService(settings)


def test_int8_without_a_gpu_is_a_clear_error_not_a_fallback(tmp_path):
    settings = _settings_with(
        tmp_path, "  - {id: q8, name: Q, backend: transformers, source: Qwen/X, tasks: [chat], options: {precision: int8}}\n"
    )
    service = InferenceService(settings)
    status = service.manager.status("q8")
    assert status.state == UNAVAILABLE and "int8" in status.error
    with pytest.raises(ModelUnavailable, match="int8"):
        service.load_model("q8")


def test_missing_weights_say_how_to_get_them_and_log_where_the_server_looked(tmp_path, caplog):
    settings = _settings_with(
        tmp_path,
        "  - {id: hub, name: H, backend: transformers, source: someone/not-cached, tasks: [ocr, chat]}\n"
        f"  - {{id: folder, name: F, backend: got_ocr, source: {tmp_path}/missing, tasks: [ocr]}}\n",
    )
    service = InferenceService(settings)
    with pytest.raises(ModelUnavailable) as hub:
        service.load_model("hub")
    assert "someone/not-cached" in str(hub.value) and "Hugging Face cache" in str(hub.value)
    assert "python -m inference.download hub" in str(hub.value)
    with pytest.raises(ModelUnavailable, match="holds no config.json") as folder:
        service.load_model("folder")
    for message in (str(hub.value), str(folder.value), service.manager.status("folder").error):
        assert "/" + tmp_path.name not in message and "/.cache" not in message and "huggingface/hub" not in message
    assert f"{tmp_path}/missing" in caplog.text  # the log says where
