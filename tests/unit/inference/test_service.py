import io
from pathlib import Path

import pytest

from inference import BadInput, InferenceService, ModelUnavailable, UnknownModel, load_settings
from inference.device import gpu_info
from tests.helpers import ENGLISH, encode, render_lines, text_pdf

ROOT = Path(__file__).resolve().parents[3]


def test_batch_bad_file_fails_alone(service, english_png):
    progress = []
    result = service.batch_ocr(
        [("good.png", english_png), ("empty.jpg", b""), ("text.jpg", b"hello"), ("stream.png", io.BytesIO(english_png))],
        progress=lambda done, total: progress.append((done, total)),
    )
    assert [r.status for r in result.results] == ["success", "error", "error", "success"]
    assert (result.total, result.successful, result.failed) == (4, 2, 2)
    assert "empty" in result.results[1].error and "not an image" in result.results[2].error
    assert "Invoice" in result.results[0].text
    assert sorted(progress) == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_batch_limits(service, english_png):
    with pytest.raises(BadInput, match="No files"):
        service.batch_ocr([])
    limit = service.settings.limits.max_batch_files
    with pytest.raises(BadInput, match="Too many files"):
        service.batch_ocr([("a.png", english_png)] * (limit + 1))


def test_chat_on_an_ocr_engine_says_which_models_can(service, english_png):
    with pytest.raises(BadInput, match="cannot chat. Models that can"):
        service.chat(english_png, "What is this?", model="rapidocr")


def test_default_chat_model_without_weights_says_how_to_fetch_them(service, english_png):
    fetch = "qwen3_vl_2b" if gpu_info().available else "smolvlm2_500m"  # the model `auto` would use here
    with pytest.raises(ModelUnavailable, match=rf"{fetch}.*python -m inference.download {fetch}"):
        service.chat(english_png, "What is this?")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": 2.0}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 10**6}, "max_tokens"),
        ({"prompt": "  "}, "prompt"),
    ],
)
def test_chat_parameters_are_validated(service, english_png, kwargs, message):
    args = {"prompt": "Describe", "model": "rapidocr", **kwargs}
    with pytest.raises(BadInput, match=message):
        service.chat(english_png, **args)


def test_language_hint_is_echoed_and_validated(service):
    image = render_lines(ENGLISH[:1])
    assert service.ocr(image, language=" en ").language == "en"
    with pytest.raises(BadInput, match="language"):
        service.ocr(image, language="<script>")


def test_unknown_model(service):
    with pytest.raises(UnknownModel, match="Models that can do OCR: .*embedded"):
        service.ocr(encode(render_lines(["x"])), model="qwen9")
    with pytest.raises(UnknownModel, match="Models that can chat: ") as refused:  # (not the OCR engines: a user's walk)
        service.chat(encode(render_lines(["x"])), "Hi", model="qwen9")
    assert "embedded" not in str(refused.value) and "qwen3_vl_2b" in str(refused.value)


def test_models_listing_and_defaults(service):
    listing = service.list_models()
    ids = [m.id for m in listing.available]
    chat = "qwen3_vl_2b" if gpu_info().available else None  # no weights here: a CPU host has no chat model ready
    assert "rapidocr" in ids and listing.defaults == {"ocr": "embedded", "chat": chat}  # ocr pinned (conftest)
    for model in listing.available:
        assert model.name and isinstance(model.params, str) and model.tasks


def test_automatic_defaults_follow_the_host():
    """`auto`: LightOnOCR-3 1B for OCR on a GPU host, the embedded engine without one; chat: Qwen3-VL on a GPU host,
    on a CPU host a CPU model whose weights are here (none in the tests' empty cache)."""
    auto = InferenceService(load_settings(ROOT / "config.yaml", env={}))
    gpu = gpu_info().available
    ocr = "lightonocr_3_1b" if gpu else "embedded"
    assert auto.list_models().defaults == {"ocr": ocr, "chat": "qwen3_vl_2b" if gpu else None}
    assert auto.catalog.registry.default_for("ocr", "auto", gpu=False) == "embedded"
    assert auto.catalog.registry.default_for("ocr", "auto", gpu=True) == "lightonocr_3_1b"


def test_model_listing_fields(service):
    listing = service.list_models()
    for model in listing.available:
        assert model.name and isinstance(model.params, str) and model.tasks


def cpu_engine_and(model: str, tmp_path: Path) -> InferenceService:
    """A service configured with the rapidocr engine and one other model (a line of config.yaml's models)."""
    path = tmp_path / "config.yaml"
    path.write_text(f"models:\n  - {{id: r, name: R, backend: rapidocr, tasks: [ocr]}}\n  - {model}\n")
    return InferenceService(load_settings(path, env={}))


def test_when_no_chat_model_can_run_the_error_says_why(tmp_path, english_png):
    service = cpu_engine_and(
        "{id: q8, name: Q, backend: transformers, source: Qwen/X, tasks: [chat], options: {precision: int8}}", tmp_path
    )
    if gpu_info().available:
        pytest.skip("on a GPU host an int8 model may run")
    with pytest.raises(ModelUnavailable, match=r"No model that can chat is ready on this server\. .*q8 .*int8"):
        service.chat(english_png, "What is this?")


def test_a_gpu_model_without_its_weights_is_not_offered_to_be_named_on_a_cpu(tmp_path, english_png):
    # (the error said "name one with model= to try it on the CPU anyway"; named, it was "not downloaded")
    service = cpu_engine_and(
        "{id: big, name: B, backend: transformers, source: Qwen/Not-Here, tasks: [chat], gpu_preferred: true}", tmp_path
    )
    if gpu_info().available:
        pytest.skip("on a GPU host the GPU model is the default")
    with pytest.raises(ModelUnavailable) as refused:
        service.chat(english_png, "What is this?")
    assert "big need a GPU." in str(refused.value) and "model=" not in str(refused.value), refused.value


def test_a_page_preview_is_that_page_rendered_within_its_size(service, english_png):
    from PIL import ImageChops

    letter = text_pdf([["Dear customer, thank you"], ["Kind regards", "the shop team", "and more"]], font_size=20)
    first, second = service.page_image(letter, 1, 600, "letter.pdf"), service.page_image(letter, 2, 600, "letter.pdf")
    assert first.mode == second.mode == "RGB" and max(first.size) == 600 and first.size == second.size
    assert ImageChops.difference(first, second).getbbox() is not None  # two pages, two pictures
    assert max(service.page_image(english_png, 1, 100, "scan.png").size) <= 100
    with pytest.raises(BadInput):
        service.page_image(letter, 3, 600, "letter.pdf")
