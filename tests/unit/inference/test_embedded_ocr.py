"""The embedded default engine: routing, reading order, rotation, detector sizing (images rendered here)."""

import logging
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from inference import InferenceService
from inference.backends.ocr.rapid_geometry import detector_size, tall_windows
from inference.backends.ocr.rapid_options import RapidOptions
from inference.backends.ocr.tesseract import find_tessdata, installed_languages
from inference.layout import reading_order, upright_boxes
from tests.helpers import ENGLISH, HAS_TESSERACT, cer, cyrillic_font, render_lines, render_with
from tests.polling import loaded_backend, unload_all

RUSSIAN = "Счёт № 5821 от 12 марта на сумму 3450 рублей"
LEFT = ["Solar power capacity grew", "rapidly during the last", "decade, driven by falling", "panel prices today."]
RIGHT = ["Wind farms now supply a", "large share of electricity", "in several countries, and", "projects keep growing."]


def needs_tesseract_russian(service):
    tessdata = find_tessdata("auto")
    if not HAS_TESSERACT or tessdata is None:
        pytest.skip("Tesseract is not installed (.ci/run installs it)")
    if "rus" not in installed_languages(tessdata):
        pytest.skip("Tesseract's Russian data is not installed (.ci/run installs tesseract-ocr-rus)")


def russian_image():
    font = cyrillic_font(30)
    if font is None:
        pytest.skip("no font with Cyrillic glyphs on this machine (.ci/run installs fonts-dejavu-core)")
    return render_with(font, [RUSSIAN])


def test_the_automatic_default_without_a_gpu_is_the_embedded_engine(service):
    assert service.catalog.registry.default_for("ocr", "auto", gpu=False) == "embedded"


def test_russian_line_is_read_in_cyrillic_without_a_hint(service):
    needs_tesseract_russian(service)
    result = service.ocr(russian_image())
    assert result.model == "embedded" and cer(result.text, RUSSIAN) <= 0.05, result.text
    assert any(line.engine == "tesseract" for line in result.lines)


def test_russian_hint_routes_every_line_to_tesseract(service):
    needs_tesseract_russian(service)
    result = service.ocr(russian_image(), language="ru")
    assert cer(result.text, RUSSIAN) <= 0.05 and {line.engine for line in result.lines} == {"tesseract"}


def test_without_tesseract_a_russian_hint_is_said_and_the_log_says_what_to_install(settings, tmp_path, caplog):
    config = settings.model_copy(deep=True)
    entry = next(m for m in config.models if m.id == "embedded")
    entry.options["tessdata"] = str(tmp_path / "no-tessdata")
    service = InferenceService(config)
    try:
        with caplog.at_level(logging.WARNING):
            result = service.ocr(render_lines(ENGLISH[:1]), "embedded", language="ru")
    finally:
        unload_all(service.manager)
    assert "Invoice" in result.text  # still works
    assert result.warnings == ["This server cannot read Russian; the text is RapidOCR's reading in Latin and Chinese characters."]
    assert "apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus" in caplog.text  # for the operator


def test_english_text_is_read_in_latin_without_warnings(service):
    result = service.ocr(render_lines(ENGLISH))
    assert cer(result.text, "\n".join(ENGLISH)) <= 0.05
    assert result.text.isascii() and result.warnings == []  # no Cyrillic look-alikes from the fallback


def without_tesseract_first(settings) -> InferenceService:
    config = settings.model_copy(deep=True)
    next(m for m in config.models if m.id == "embedded").options["tesseract_first"] = False
    return InferenceService(config)


def test_a_printed_page_is_read_by_tesseract_first_and_reads_the_same_without_it(service, settings):
    if not HAS_TESSERACT:
        pytest.skip("Tesseract is not installed (.ci/run installs it)")
    lines = ENGLISH + LEFT + RIGHT  # more lines than the sample, so the lines after it are read first too
    image = render_lines(lines)
    first = service.ocr(image, "embedded")
    assert cer(first.text, "\n".join(lines)) <= 0.03, first.text
    assert [line.engine for line in first.lines] == ["tesseract"] * len(lines)
    assert all(line.confidence >= 0.85 for line in first.lines)  # kept only when sure of every word
    plain = without_tesseract_first(settings).ocr(image, "embedded")
    assert cer(plain.text, "\n".join(lines)) <= 0.03, plain.text
    assert [line.engine for line in plain.lines] == ["rapidocr"] * len(lines)


def test_when_tesseract_is_unsure_of_the_sample_rapidocr_reads_the_other_lines(service):
    needs_tesseract_russian(service)
    lines = [RUSSIAN] * 16  # the sample (8 lines spread over 16: 0, 2, 4, 6, 9, 11, 13, 15) is all Russian...
    for row, english in zip((1, 3, 5), ENGLISH, strict=True):
        lines[row] = english  # ...and these English lines are not in it
    russian_image()  # (skips without a font with Cyrillic glyphs)
    result = service.ocr(render_with(cyrillic_font(30), lines), "embedded")
    assert len(result.lines) == 16 and cer(result.text, "\n".join(lines)) <= 0.05, result.text
    for row in (1, 3, 5):
        assert result.lines[row].engine == "rapidocr" and result.lines[row].text.isascii()
    assert all(result.lines[row].engine == "tesseract" for row in range(16) if row not in (1, 3, 5))


def two_columns() -> Image.Image:
    font = ImageFont.load_default(size=26)
    image = Image.new("RGB", (900, 60 + 44 * len(LEFT)), "white")
    draw = ImageDraw.Draw(image)
    for i, (left, right) in enumerate(zip(LEFT, RIGHT, strict=True)):
        draw.text((30, 30 + 44 * i), left, fill="black", font=font)
        draw.text((480, 30 + 44 * i), right, fill="black", font=font)
    return image


def test_two_column_page_comes_back_column_by_column(service):
    result = service.ocr(two_columns())
    assert cer(result.text, "\n".join(LEFT + RIGHT)) <= 0.05, result.text
    lines = result.text.splitlines()
    assert lines[0].startswith("Solar") and lines[len(LEFT)].startswith("Wind")


def test_receipt_lines_stay_on_one_line(service):
    font = ImageFont.load_default(size=24)
    items = [
        ("2 x Organic Bananas", "1.38"),
        ("1 x Whole Milk 1L", "1.89"),
        ("1 x Sourdough Bread", "4.25"),
        ("SUBTOTAL", "7.52"),
    ]
    image = Image.new("RGB", (560, 40 + 40 * len(items)), "white")
    draw = ImageDraw.Draw(image)
    for i, (name, price) in enumerate(items):
        draw.text((20, 20 + 40 * i), name, fill="black", font=font)
        draw.text((470, 20 + 40 * i), price, fill="black", font=font)
    lines = service.ocr(image).text.splitlines()
    assert len(lines) == len(items)
    for line, (name, price) in zip(lines, items, strict=True):
        assert cer(line, f"{name} {price}") <= 0.1, lines


def test_rotated_paragraph_is_read(service):
    image = render_lines(ENGLISH).rotate(4, expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC)
    result = service.ocr(image)
    assert cer(result.text, "\n".join(ENGLISH)) <= 0.05, result.text


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_page_scanned_sideways_or_upside_down_is_read(service, turn):
    page = render_lines(ENGLISH * 2)
    upright = service.ocr(page)
    result = service.ocr(page.rotate(turn, expand=True))
    assert cer(result.text, "\n".join(ENGLISH * 2)) <= 0.05, result.text
    assert any("turned" in warning for warning in result.warnings)
    # boxes are in the image as sent: the first line's first corner is where the turn put it
    width, height = page.size
    x, y = upright.lines[0].box[0]
    expected = {90: (y, width - x), 180: (width - x, height - y), 270: (height - y, x)}[turn]
    assert all(abs(a - b) <= 6 for a, b in zip(result.lines[0].box[0], expected, strict=True)), result.lines[0].box


def test_a_line_running_up_or_down_the_page_margin_is_read_either_way(service):
    stamp = "arXiv:2401.06062v1 [math.NT] 11 Jan 2024"  # (up a paper's left margin; journals print "Downloaded from ...")
    font = cyrillic_font(26) or pytest.skip("no scalable font on this machine (.ci/run installs fonts-dejavu-core)")
    page = Image.new("RGB", (1300, 1000), "white")
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(ENGLISH * 3):
        draw.text((150, 80 + 45 * i), line, font=font, fill="black")
    line = Image.new("RGB", (900, 40), "white")
    ImageDraw.Draw(line).text((5, 5), stamp, font=font, fill="black")
    page.paste(line.rotate(90, expand=True), (30, 60))  # (reads up the page)
    page.paste(line.rotate(270, expand=True), (1240, 60))  # (reads down it)
    result = service.ocr(page, "embedded")
    tall = [line for line in result.lines if max(y for _, y in line.box) - min(y for _, y in line.box) > 400]
    assert len(tall) == 2 and all(cer(line.text, stamp) <= 0.05 for line in tall), [line.text for line in tall]
    assert {block.type for block in result.blocks if any(cer(t.text, stamp) <= 0.05 for t in block.lines)} == {"footer"}


def test_light_on_dark_is_read(service):
    result = service.ocr(ImageOps.invert(render_lines(ENGLISH)))
    assert cer(result.text, "\n".join(ENGLISH)) <= 0.05, result.text


def test_detector_size_for_a_small_line_stays_small():
    options = RapidOptions()
    kind, side = detector_size(700, 100, options)
    scale = side / (100 if kind == "min" else 700)
    assert scale <= options.det_max_upscale and 700 * scale <= 1400  # not thousands of pixels
    kind, side = detector_size(2480, 3508, options)  # a scanned A4 page is shrunk to a bounded size
    assert kind == "max" and side <= options.det_long_side


def test_tall_images_are_read_in_overlapping_windows_that_share_out_every_line():
    options = RapidOptions()
    assert tall_windows(600, 800, options) == [(0, 800, 0, 800)]  # a page: one window
    assert len(tall_windows(1200, 3000, options)) == 1  # tall but not narrow: shrinking keeps text readable
    windows = tall_windows(250, 7200, options)
    assert len(windows) > 3
    assert windows[0][2] == 0 and windows[-1][3] == 7200  # the kept parts cover the image...
    for (_, bottom, _, keep_bottom), (top, _, keep_top, _) in zip(windows, windows[1:], strict=False):
        assert keep_bottom == keep_top  # ...without gaps or double counting
        assert bottom - top >= 128  # and windows overlap by more than a text line


def test_long_till_receipt_is_read_line_by_line(service):
    lines = [f"ITEM {i:03d} x{i % 7 + 1}  {i * 37 % 900 + 10}.{i % 90 + 10}" for i in range(160)]
    receipt = render_with(ImageFont.load_default(size=22), lines, spacing=1.4)
    assert receipt.height > 3 * receipt.width and receipt.height > 2 * RapidOptions().det_long_side
    result = service.ocr(receipt)
    assert len(result.text.splitlines()) == len(lines)
    assert cer(result.text, "\n".join(lines)) <= 0.02, result.text[:500]


def test_a_lone_request_detects_on_every_core_and_under_load_on_its_own(settings):
    config = settings.model_copy(deep=True)
    next(m for m in config.models if m.id == "embedded").options["workers"] = 2
    service, narrow_service = InferenceService(config), None
    try:
        service.load_model("embedded")
        backend = loaded_backend(service.manager, "embedded")
        with backend.engine() as engine:
            with backend.detector(engine) as detector:  # the other engine is idle: the wide detector, both held
                assert detector is backend._wide and detector is not engine and backend._pool.empty()
                assert detector.text_rec is None  # the wide instance only detects: no recogniser loaded
                # its threads (one per core) sleep between operators instead of spinning on the cores others use
                options = detector.text_det.session.session.get_session_options()
                assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
                assert options.intra_op_num_threads == min(2, os.cpu_count() or 1)  # a thread per core
            assert backend._pool.qsize() == 1  # given back after detection
            with backend.engine(), backend.detector(engine) as detector:  # another request holds the other one
                assert detector is engine
        page = render_lines(ENGLISH * 2)
        wide = service.ocr(page, "embedded")
        next(m for m in config.models if m.id == "embedded").options["wide_detector"] = False
        narrow_service = InferenceService(config)
        narrow = narrow_service.ocr(page, "embedded")  # each request detects on its own engine, as under load
        assert [line.text for line in wide.lines] == [line.text for line in narrow.lines]
        for a, b in zip(wide.lines, narrow.lines, strict=True):
            assert max(abs(p - q) for pa, pb in zip(a.box, b.box, strict=True) for p, q in zip(pa, pb, strict=True)) <= 2
    finally:
        for each in (service, narrow_service):
            if each is not None:
                unload_all(each.manager)


def test_every_engine_of_the_pool_is_ready_after_load(service):
    """RapidOCR loads its ONNX sessions on first use: the load reads a word with each engine, so no request pays."""
    service.load_model("embedded")
    backend = loaded_backend(service.manager, "embedded")
    engines = list(backend._pool.queue)
    assert len(engines) == backend.workers
    assert all(engine.text_det is not None and engine.text_rec is not None for engine in engines)


def test_the_pool_loads_each_onnx_model_once_and_its_instances_keep_their_own_parameters(settings):
    """Once per process: the rapidocr and embedded models share them too."""
    config = settings.model_copy(deep=True)
    next(m for m in config.models if m.id == "rapidocr").options["workers"] = 3
    service = InferenceService(config)
    try:
        service.load_model("rapidocr")
        backend = loaded_backend(service.manager, "rapidocr")
        first, *others = list(backend._pool.queue)
        for other in others:
            for part in ("text_det", "text_rec"):
                assert getattr(other, part).session is getattr(first, part).session  # one ONNX session
            assert other.text_det.postprocess_op is not first.text_det.postprocess_op  # set per call: each its own
            assert other.text_rec.postprocess_op is first.text_rec.postprocess_op  # read only (18,700 characters)
        assert backend._wide.text_det.session is not first.text_det.session  # the wide one: its own threads
        service.load_model("embedded")  # another backend with the same options: the process's same sessions
        embedded = loaded_backend(service.manager, "embedded")
        assert embedded._pool.queue[0].text_rec.session is first.text_rec.session
        cores = os.cpu_count() or 1  # the wide detectors' threads: min(workers, cores), the same for both up to 3 cores
        assert (embedded._wide.text_det.session is backend._wide.text_det.session) == (min(3, cores) == cores)
        pages = [render_lines(ENGLISH), render_lines(ENGLISH[::-1], font_size=30), render_lines(ENGLISH * 2)]
        alone = [[line.text for line in service.ocr(page, "rapidocr").lines] for page in pages]
        with ThreadPoolExecutor(3) as pool:  # three requests at once, each on its own instance, one session
            together = list(pool.map(lambda page: [line.text for line in service.ocr(page, "rapidocr").lines], pages))
        assert together == alone and all(alone)
    finally:
        unload_all(service.manager)


def test_layout_orders_skewed_rows():
    import math

    angle = math.radians(4)

    def quad(x, y, w, h):
        pts = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
        return [[px * math.cos(angle) - py * math.sin(angle), px * math.sin(angle) + py * math.cos(angle)] for px, py in pts]

    quads = [quad(20, 20 + 40 * i, 700, 30) for i in (2, 0, 1)]
    rows = reading_order(upright_boxes(quads, ["third", "first", "second"]))
    assert [[box.text for box in row] for row in rows] == [["first"], ["second"], ["third"]]


def test_a_hint_may_name_several_languages(service):
    needs_tesseract_russian(service)
    font = cyrillic_font(30)
    image = render_with(font, [RUSSIAN, "Total amount due: 318.40 USD"])
    both = "\n".join([RUSSIAN, "Total amount due: 318.40 USD"])
    for hint in ("eng+rus", "en+ru", "English, Russian"):
        tesseract = service.ocr(image, "tesseract", hint)
        assert tesseract.language == hint and cer(tesseract.text, both) <= 0.08, (hint, tesseract.text)
    mixed = service.ocr(image, "embedded", "en+ru")
    assert cer(mixed.text, both) <= 0.08, mixed.text
    russian, english = mixed.lines  # each line read in its own script
    assert any("а" <= ch <= "я" for ch in russian.text) and russian.engine == "tesseract"
    assert english.text.isascii()
