"""Small text on a large image (a 4K screenshot's interface text): shrunk whole for the detector, its lines came out
too thin to find (9 px text: none of 60 lines; 11 px: half, read from 6 px crops); they are detected again finer and cut
out of a larger copy (``rapid_detect``). Images rendered here."""

from collections import Counter

import numpy as np
import pytest
from PIL import Image, ImageDraw

from inference.backends.ocr.rapid_detect import SMALL_LINE, Found, finer, sharper
from inference.backends.ocr.rapid_options import RapidOptions
from inference.layout import quad_size
from tests.helpers import font_or_skip, needs_tesseract

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "settings", "panel"]
WORDS += ["shows", "twelve", "options"]


def screenshot(px: int, size: tuple[int, int] = (3840, 2160)) -> tuple[Image.Image, list[str], list[float]]:
    """Three columns of 20 rows of ``px`` px text on a white ``size`` image: (it, its words, each row's middle y)."""
    font = font_or_skip(px)  # (DejaVu Sans: .ci/run installs it)
    rng = np.random.default_rng(px)
    image, words, middles = Image.new("RGB", size, "white"), [], []
    draw = ImageDraw.Draw(image)
    for column in range(3):
        for row in range(20):
            line = " ".join(rng.choice(WORDS, int(rng.integers(3, 8))))
            x, y = 60 + column * size[0] // 3, 80 + row * px * 3
            draw.text((x, y), line, fill="black", font=font)
            top, bottom = draw.textbbox((x, y), line, font=font)[1::2]
            words += line.split()
            middles.append((top + bottom) / 2)
    return image, words, middles


@pytest.mark.parametrize("px", [9, 11, 13])
def test_small_interface_text_on_a_4k_screenshot_is_found_where_it_is(service, px):
    image, _, middles = screenshot(px)
    result = service.ocr(image, model="rapidocr")  # (RapidOCR alone: found as on a 1920 px screenshot)
    assert len(result.lines) >= 57, len(result.lines)  # (before: 0, 30 and 58 of 60)
    rows = sorted({round(y) for y in middles})  # the boxes are in the image as sent (the finer scales undone)
    for line in result.lines:
        middle = sum(y for _, y in line.box) / 4
        assert min(abs(middle - y) for y in rows) <= px / 2, (line.text, line.box)
        assert max(x for x, _ in line.box) <= image.width and quad_size(line.box)[1] < 3 * px, line.box


def test_lines_cut_again_from_a_larger_copy_keep_their_place_where_the_sides_shrank_apart():
    # (RapidOCR rounds each side of its 2,000 px copy to 32 px apart: 2600 x 1400 -> 1984 x 1088, x by 1/1.3105 and y
    # by 1/1.2868; cut again at one scale for both, a wide image's lines slid off their text, 24 px at its foot)
    from rapidocr import RapidOCR
    from rapidocr.utils.process_img import map_boxes_to_original

    original = np.full((1400, 2600, 3), 255, np.uint8)
    engine = RapidOCR(params={"Global.log_level": "error"})
    prepared, record = engine.preprocess_img(original)
    ratio_w, ratio_h = record["preprocess"]["ratio_w"], record["preprocess"]["ratio_h"]
    assert abs(ratio_w - ratio_h) > 0.02  # (the case: sides shrunk apart)
    # lines 20 px high in the copy (under CROP_LINE: cut again), down its whole height, as the detector gives them
    tops = np.arange(20, prepared.shape[0] - 40, 80, dtype=np.float32)
    boxes = np.array([[[40, t], [900, t], [900, t + 20], [40, t + 20]] for t in tops], np.float32)
    found = Found([], boxes, {**record, "padding_1": {"top": 0, "left": 0}})
    again = sharper(engine, original, found)
    assert again.record is not found.record and len(again.crops) == len(boxes)  # (cut again)
    expected = map_boxes_to_original(boxes.copy(), found.record, *original.shape[:2])
    placed = map_boxes_to_original(again.boxes.copy(), again.record, *original.shape[:2])
    assert np.abs(placed - expected).max() < 1.0, np.abs(placed - expected).max()


@needs_tesseract
@pytest.mark.parametrize("px", [9, 11])
def test_small_interface_text_on_a_4k_screenshot_is_read(service, px):
    image, words, _ = screenshot(px)
    result = service.ocr(image)  # (the default: as near perfect as on a 1920 px screenshot)
    read = Counter(result.text.split())
    found = sum(min(count, read[word]) for word, count in Counter(words).items())
    assert found >= 0.95 * len(words), (found, len(words), result.text[:300])  # (before: 0 and 61 of ~295)


def test_finer_only_where_the_lines_found_are_thin_on_a_shrunk_image():
    options = RapidOptions()  # det_long_side 1280, det_fine_side 2560
    assert finer(1.0, [8.0] * 5, options) is None  # (not shrunk: nothing finer to see)
    assert finer(0.53, [SMALL_LINE + 0.5] * 40, options) is None  # (a page of ordinary print: detected once)
    thin = finer(0.5, [10.0] * 40, options)
    assert thin is not None and thin == pytest.approx(1.0)  # (to 20 px, capped at the image's own size)
    assert finer(0.25, [5.0] * 40, options) == pytest.approx(0.5)  # (capped at det_fine_side: twice det_long_side)
    assert finer(0.33, [], options) == pytest.approx(0.66)  # (none found: twice as fine)
    assert finer(0.5, [12.5] * 40, options.model_copy(update={"det_fine_side": 0})) is None  # (turned off)
    assert finer(0.9, [12.0] * 40, options) is None  # (no more than a fifth finer: not worth a second detection)


def test_windows_of_a_tall_textless_image_are_detected_once_each(service, detections):
    # (a 1500 x 26000 grid of dots, no line in it: each of its 20 windows was also detected at 2560 px, 3.4 -> 21 CPU-s
    # and +1.4 GB; and a whole image whose "ink" is a dot grid's or noise's, not a page's, is not tried finer either)
    grid = np.full((26000, 1500), 255, np.uint8)
    grid[::8, ::8] = 0
    noise = np.random.default_rng(0).integers(0, 256, (2160, 3840, 3), dtype=np.uint8)
    windows = service.ocr(Image.fromarray(grid), model="rapidocr")
    tall = len(detections)
    detections.clear()
    service.ocr(Image.fromarray(noise), model="rapidocr")
    assert not windows.lines and 10 <= tall <= 30, tall  # (one detection a window)
    assert len(detections) == 1, detections  # (the noise: once)
