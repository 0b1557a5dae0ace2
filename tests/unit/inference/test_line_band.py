"""A line's crop cut free of the neighbouring lines' ink that the detector's box takes in on small, tight print."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from inference.backends.ocr.line_band import own_line, own_rows
from tests.helpers import cer

DEJAVU = "/usr/share/fonts/truetype/dejavu/"
ROWS = [
    "Measure an object with an instrument",
    "Navigate to a specific room in a house",
    "Search an environment for an object",
    "Interact with a moving agent",
    "Read the posts of the discovery feed",
    "Move through the doors of the house",
    "Using keys with doors",
    "Pick and give an object",
] * 3


def stack(lines: list[str], pitch: int, size: int = 20, width: int = 520) -> np.ndarray:
    """Lines ``pitch`` px apart on white, as an RGB array."""
    image = Image.new("RGB", (width, 10 + pitch * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for i, text in enumerate(lines):
        draw.text((8, 4 + pitch * i), text, fill="black", font=ImageFont.truetype(DEJAVU + "DejaVuSans.ttf", size))
    return np.asarray(image)


def dark_rows(pixels: np.ndarray) -> np.ndarray:
    """The rows holding any dark pixel."""
    return np.flatnonzero((pixels.min(axis=2) < 160).any(axis=1))


def test_the_neighbours_ink_cut_by_the_crop_s_edges_goes_and_the_line_s_own_marks_stay():
    page = stack(["Tight leading, gap", "Élève über Ångström, jypq", "the next line below"], pitch=34)
    alone = stack(["", "Élève über Ångström, jypq", ""], pitch=34)
    crop, own = page[20:84], alone[20:84]  # (the middle line with the foot of the one above and the top of the one below)
    assert dark_rows(crop)[0] == 0 and dark_rows(crop)[-1] == crop.shape[0] - 1  # (both edges cut through ink)
    top, bottom = own_rows(crop)
    assert top > 0 and bottom < crop.shape[0], (top, bottom)
    kept = own_line(crop)
    assert np.array_equal(dark_rows(kept), dark_rows(own[top:bottom]))  # (nothing of the neighbours left)
    assert np.array_equal(dark_rows(own)[[0, -1]] - top, dark_rows(kept)[[0, -1]])  # (its accents, its descenders)


def test_accents_parted_from_a_word_in_small_letters_stay_with_it():
    """'mémé' has no ascender: its accents are a band of their own, further from its letters than a line's parting
    (3 rows at 24 px); only the foot of 'océan' above, which the crop's edge cuts through, goes."""
    image = Image.new("RGB", (120, 80), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(DEJAVU + "DejaVuSerif.ttf", 24)
    draw.text((8, 0), "océan", fill="black", font=font)
    draw.text((8, 25), "mémé", fill="black", font=font)
    crop = np.asarray(image)[22:57]
    accents = [row for row in dark_rows(crop) if row >= 4][0]  # (the first row of mémé's accents, below océan's foot)
    top, bottom = own_rows(crop)
    assert 0 < top <= accents and bottom == crop.shape[0], (top, bottom, accents)


def test_a_column_of_accented_words_in_tight_rows_keeps_its_accents(service):
    words = ["minimum", "année", "mémé", "vénérer", "écran", "rêve"]
    scale, pitch = 3, 25  # (24 px type 25 px apart, drawn 3x and shrunk)
    column = Image.new("RGB", (300 * scale, (40 + pitch * len(words)) * scale), "white")
    font = ImageFont.truetype(DEJAVU + "DejaVuSerif.ttf", 24 * scale)
    for i, word in enumerate(words):
        ImageDraw.Draw(column).text((20 * scale, (20 + pitch * i) * scale), word, fill="black", font=font)
    image = column.resize((300, 40 + pitch * len(words)), Image.Resampling.LANCZOS)
    assert service.ocr(image, "embedded").text.split() == words


def test_a_crop_of_its_line_alone_or_with_marks_apart_from_its_edges_is_left_as_it_is():
    alone = stack(["Élève über Ångström, jypq"], pitch=40)
    assert own_line(alone) is alone
    page = stack(["Tight leading, gap", "Élève über Ångström, jypq", "the next line below"], pitch=34)
    whole_above = page[4:84]  # (the line above whole in the crop, not cut by its edge: kept; the one below cut: gone)
    top, bottom = own_rows(whole_above)
    assert top == 0 and bottom < whole_above.shape[0], (top, bottom)
    flat = np.full((30, 200, 3), 200, np.uint8)
    flat[10:20, 20:180] = 190  # (too little contrast to tell ink from paper)
    assert own_line(flat) is flat


def test_small_tight_rows_of_a_table_read_as_they_are_printed(service):
    """Rows of small serif type 17 px apart on a page read at the size the peer's pages are (their boxes take in the
    rows around them): each read as printed (before: 'Measre n bt h n strument', CER 0.047 and 0.032 on these pages)."""
    truth = "\n".join(ROWS)
    for face in ("DejaVuSerif.ttf", "DejaVuSans.ttf"):  # (fonts-dejavu-core)
        scale, size, pitch = 3, 13, 17  # (drawn 3x and shrunk: smooth edges, as a PDF renderer draws small print)
        image = Image.new("RGB", (1390 * scale, 1800 * scale), "white")
        draw = ImageDraw.Draw(image)
        font = ImageFont.truetype(DEJAVU + face, size * scale)
        for i, row in enumerate(ROWS):
            y = 300 + pitch * i
            if i % 2 == 0:  # (every other row on grey, as in the paper's table)
                draw.rectangle((80 * scale, (y - 3) * scale, 1300 * scale, (y + pitch - 3) * scale), fill=(226, 226, 226))
            draw.text((160 * scale, y * scale), row, fill="black", font=font)
        result = service.ocr(image.resize((1390, 1800), Image.Resampling.LANCZOS), "embedded")
        assert cer(result.text, truth) <= 0.02, (face, result.text)
