"""model=auto (inference/routing.py): each page read by the CPU engine first, sent to the VLM only when it needs it,
each page saying which engine read it, why, and how sure that reading is. The real embedded engine and a tiny VLM."""

import time

import numpy as np
import pytest
from PIL import Image, ImageDraw

from inference.errors import ConfigError
from inference.routing import agreement, check, engine_confidence
from inference.routing_settings import RoutingSettings
from inference.values import OcrLine
from tests.helpers import encode, render_with
from tests.unit.inference.test_tables import font, invoice

VLM = "qwen3_vl_2b"  # a tiny random Qwen3-VL: what it writes is noise, but it reads through the real path
CLEAN = ["The quick brown fox jumps over the lazy dog.", "Pack my box with five dozen liquor jugs."]


@pytest.fixture(scope="module")
def routed(tiny_service):
    """The tiny models' session service, its pages routed to the tiny VLM while this module runs (there is no GPU
    here, so routing.vlm: auto would find none)."""
    kept = tiny_service.settings.routing
    tiny_service.settings.routing = RoutingSettings(vlm=VLM)
    yield tiny_service
    tiny_service.settings.routing = kept


def clean_page() -> Image.Image:
    return render_with(font(28), CLEAN)


def scribbled_page() -> Image.Image:
    """The clean page under random pen strokes (seeded): the engine reads some of it, and says it is unsure."""
    rng = np.random.default_rng(0)
    page = clean_page()
    draw = ImageDraw.Draw(page)
    for _ in range(300):
        x, y = rng.integers(0, page.width), rng.integers(0, page.height)
        draw.line((x, y, x + rng.integers(-12, 12), y + rng.integers(-20, 20)), fill="black", width=3)
    return page


def noise_page() -> Image.Image:
    return Image.fromarray((np.random.default_rng(0).random((300, 600, 3)) * 255).astype("uint8"))


def test_the_cpu_engine_is_sure_of_a_clean_page_and_unsure_of_a_scribbled_one(routed):
    clean = routed.ocr(clean_page(), "embedded")
    assert clean.confidence is not None and clean.confidence > 0.9, clean
    assert (clean.confidence_source, clean.engine, clean.route) == ("engine", "embedded", None)
    scribbled = routed.ocr(scribbled_page(), "embedded")
    assert scribbled.text and scribbled.confidence is not None and scribbled.confidence < min(0.85, clean.confidence - 0.1)
    assert routed.ocr(noise_page(), "embedded").confidence is None  # nothing read: nothing measured (and routed, below)


def test_a_clean_page_stays_with_the_cpu_engine(routed):
    result = routed.ocr(clean_page(), "auto")
    assert (result.model, result.engine, result.route, result.confidence_source) == ("auto", "embedded", None, "engine")
    assert result.cpu_agreement is None
    assert result.confidence > 0.9 and "quick brown fox" in result.text
    assert not result.warnings


@pytest.mark.parametrize(
    "page, route",
    [(invoice, "table"), (lambda: Image.new("RGB", (400, 300), "white"), "no-text"), (noise_page, "no-text")],
    ids=["table", "blank", "noise"],
)
def test_a_page_that_needs_it_goes_to_the_vlm(routed, page, route):
    result = routed.ocr(page(), "auto")
    assert (result.model, result.engine, result.route) == ("auto", VLM, route), result
    assert result.confidence_source == "logprob" and 0.0 <= result.confidence <= 1.0, result
    # the tiny VLM writes noise: it agrees with nothing the CPU engine read (None: the engine read nothing)
    if route == "table":
        assert result.cpu_agreement is not None and result.cpu_agreement < 0.5, result
    else:
        assert result.cpu_agreement is None, result


def test_a_page_the_engine_is_less_sure_of_than_routing_min_confidence_goes_to_the_vlm(routed):
    settings = routed.settings.routing
    routed.settings.routing = RoutingSettings(vlm=VLM, min_confidence=1.0)  # the clean page's 0.96-0.999 is now too low
    try:
        result = routed.ocr(clean_page(), "auto")
    finally:
        routed.settings.routing = settings
    assert (result.engine, result.route, result.confidence_source) == (VLM, "low-confidence", "logprob"), result


def test_a_document_says_for_each_page_who_read_it_and_why_and_a_job_keeps_it(routed):
    pdf = encode(clean_page(), "TIFF", save_all=True, append_images=[invoice()])  # pages as drawn (a PDF's: larger)
    expected = [("embedded", None, "engine"), (VLM, "table", "logprob")]

    def said(pages):
        return [(p["engine"], p["route"], p["confidence_source"]) for p in pages]

    result = routed.ocr(pdf, "auto", filename="doc.tiff").model_dump(mode="json")
    assert said(result["pages"]) == expected, result["pages"]
    assert all(isinstance(p["confidence"], float) for p in result["pages"])
    batch = routed.batch_ocr([("doc.tiff", pdf), ("clean.png", encode(clean_page()))], "auto").model_dump(mode="json")
    assert batch["model"] == "auto" and said(batch["results"][0]["pages"]) == expected
    assert said([batch["results"][1]]) == expected[:1]  # a one-page file says it beside its text
    job = routed.submit_job([("doc.tiff", pdf), ("table.png", encode(invoice()))], "auto")
    assert job.model == "auto"
    deadline = time.monotonic() + 120
    while routed.job(job.id).state not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert routed.job(job.id).state == "done"
    results = routed.job_result(job.id).model_dump(mode="json")["results"]
    pages = results[0]["pages"]
    assert said(pages) == expected and said([results[1]]) == expected[1:]
    assert pages[0]["confidence"] == result["pages"][0]["confidence"] and isinstance(pages[1]["confidence"], float)


def test_without_a_vlm_here_auto_is_the_cpu_engine_and_says_why(routed):
    settings = routed.settings.routing
    routed.settings.routing = RoutingSettings(vlm="none")
    try:
        result = routed.ocr(invoice(), "auto")
    finally:
        routed.settings.routing = settings
    assert (result.model, result.engine, result.route) == ("auto", "embedded", None)
    said = "would have gone to a vision-language model (table), but routing.vlm is 'none'"
    assert any(said in w for w in result.warnings), result.warnings


def test_a_vlm_page_has_its_log_probability_as_its_confidence(routed):
    result = routed.ocr(clean_page(), VLM)
    assert (result.engine, result.route, result.confidence_source) == (VLM, None, "logprob")
    assert 0.0 < result.confidence <= 1.0


def test_a_vlm_page_forced_past_its_text_layer_is_measured_against_it(routed):
    """force_ocr on a PDF page with a good text layer: the VLM's confidence is its agreement with what the PDF says
    (the tiny model writes noise: low), kept through a job's database."""
    from inference.job_tables import dump_read, load_read
    from inference.page_results import PageRead
    from inference.routing import against_text_layer
    from tests.helpers import text_pdf

    pdf = text_pdf([CLEAN], font_size=14)
    page = routed.ocr(pdf, VLM, filename="clean.pdf", force_ocr=True).pages[0]
    assert (page.source, page.engine, page.confidence_source) == ("ocr", VLM, "text-layer"), page
    assert page.confidence == page.text_layer_agreement == agreement(page.text, "\n".join(CLEAN)), page
    assert page.confidence < 0.5  # noise against the page's text
    kept = against_text_layer(
        PageRead(0, 1, (9, 9), "ocr", text="The quick brown fox", confidence=0.3, confidence_source="logprob"),
        "The quick brown fox",
    )
    assert (kept.confidence, kept.confidence_source, kept.text_layer_agreement) == (1.0, "text-layer", 1.0)
    assert load_read(0, 1, dump_read(kept)).text_layer_agreement == 1.0


def test_routing_names_ocr_models_of_the_configuration(routed):
    with pytest.raises(ConfigError, match="routing.vlm"):
        check(routed.catalog, RoutingSettings(vlm="nope"))
    check(routed.catalog, RoutingSettings(vlm="auto"))


def test_confidences_weigh_lines_by_length_and_agreement_is_one_minus_cer():
    box = [[0, 0], [1, 0], [1, 1], [0, 1]]
    lines = [OcrLine(text="a" * 30, box=box, confidence=0.9), OcrLine(text="bb", box=box, confidence=0.1)]
    assert engine_confidence(lines) == pytest.approx((30 * 0.9 + 2 * 0.1) / 32, abs=1e-4)
    assert engine_confidence([]) is None
    assert agreement("| Hello  World |", "hello world") == 1.0
    assert agreement("hello world", "hello wxrld") == pytest.approx(1 - 1 / 11, abs=1e-4)
    assert agreement("anything", "") is None and agreement("", "abc") == 0.0


def test_a_vlm_answers_log_probabilities_are_those_transformers_computes(tiny_build):
    """The log-probability of each chosen token, kept a step at a time, equals transformers' own
    compute_transition_scores over the whole generation's scores (which it does not keep by default)."""
    import torch
    from transformers import AutoModelForImageTextToText

    from inference.backends.hf.decode import chosen_logprobs

    model = AutoModelForImageTextToText.from_pretrained(tiny_build / "qwen3_vl_tiny").eval()
    prompt = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]])
    chosen = chosen_logprobs()
    with torch.inference_mode():
        out = model.generate(
            input_ids=prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=6,
            min_new_tokens=6,
            do_sample=False,
            logits_processor=[chosen],
            output_scores=True,
            return_dict_in_generate=True,
        )
    ours = chosen.per_token(out.sequences[:, prompt.shape[1] :])
    expected = model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
    assert ours.shape == (2, 6) and torch.allclose(ours, expected, atol=1e-4), (ours, expected)


def test_lines_in_a_script_no_cpu_engine_reads_send_the_page_to_the_vlm():
    """The CPU engines' warning for such lines is what routing looks for (one sentence: values.unread_script_warning)."""
    import inspect

    from inference.backends.ocr import embedded, rapid
    from inference.page_results import PageRead
    from inference.routing import reason
    from inference.values import UNREAD_SCRIPT, unread_script_warning

    for engine in (embedded, rapid):  # the engines say it with the shared words
        assert "unread_script_warning(" in inspect.getsource(engine), engine.__name__
    assert UNREAD_SCRIPT in unread_script_warning(2)
    warnings = [unread_script_warning(2)]
    read = PageRead(0, 1, (100, 100), "ocr", text="Npnbet", warnings=warnings, confidence=0.99)
    assert reason(read, RoutingSettings()) == "script"
    assert reason(PageRead(0, 1, (100, 100), "ocr", text="Hello", confidence=0.99), RoutingSettings()) is None
