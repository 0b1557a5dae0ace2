"""A line crop made ready for Tesseract to read again: a table's rules at its ends painted over (a ruled invoice's cells
read without "[" or "1" for the rule beside them, in Russian, where every line is Tesseract's, and without a hint), and
light print on a dark band turned dark on light (Tesseract reads it without trying each unsure line inverted too)."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from inference.backends.ocr.edge_rules import dark_on_light, without_edge_rules
from tests.helpers import font_or_skip, needs_tesseract, ruled_invoice

ROWS = [
    ["Товар", "Кол", "Цена", "Сумма"],
    ["Бумага (пачка)", "11", "92.55", "834.83"],
    ["Степлер офисный", "9", "25.66", "212.79"],
    ["Ручки шариковые", "1", "98.97", "638.19"],
    ["Папка синяя", "12", "54.33", "444.96"],
]


def test_a_column_of_ink_from_a_crops_top_to_its_bottom_at_its_end_is_a_rule():
    crop = np.full((30, 80), 250, dtype=np.uint8)
    crop[:, 1:3] = 10  # the cell's rule, top to bottom
    crop[5:26, 8:11] = 20  # a "1"'s stem beside it: ~70% of the crop's height
    crop[5:26, 70:73] = 20  # another at the other end
    cleared = without_edge_rules(crop)
    assert cleared[:, 0:4].min() >= 240  # the rule painted with the paper's grey...
    assert cleared[5:26, 8:11].max() == 20 and cleared[5:26, 70:73].max() == 20  # ...not the strokes
    assert crop[:, 1:3].max() == 10  # (a copy: the crop as it was)
    plain = crop.copy()
    plain[:, 1:3] = 250
    assert without_edge_rules(plain) is plain  # nothing to paint: the crop itself
    crop[:, 40:42] = 10  # a full-height stroke in the middle of a line is not at its end: no rule of a cell's
    assert without_edge_rules(crop)[:, 40:42].max() == 10
    leaning = plain.copy()
    for row in range(30):  # a rule that leans (a box turned a little): 3 px aside from top to bottom
        leaning[row, 1 + row // 10] = 10
    assert without_edge_rules(leaning)[:, 0:6].min() >= 240


@needs_tesseract
@pytest.mark.parametrize("language", ["ru", None])
def test_a_ruled_russian_invoice_reads_its_cells_without_its_rules(service, language):
    """With a hint of Russian every line is Tesseract's, which read the rule left of a cell as "[" ("[92.55"); without one,
    the lines RapidOCR read in Latin look-alikes are read again by Tesseract, and were so too ("[товар [Цена")."""
    result = service.ocr(ruled_invoice(font_or_skip(22), ROWS), "embedded", language=language)
    assert result.text.splitlines() == [" ".join(row) for row in ROWS]


def test_light_print_on_a_dark_band_is_turned_dark_on_light():
    band = np.full((30, 80), 30, dtype=np.uint8)
    band[8:22, 10:70:6] = 230  # light strokes on a dark band
    turned = dark_on_light(band)
    assert turned[0, 0] == 225 and turned[8, 10] == 25
    paper = 255 - band
    assert dark_on_light(paper) is paper  # dark on light already: the crop itself
    grey_band = np.full((30, 80), 110, dtype=np.uint8)
    grey_band[8:22, 10:70:6] = 0  # black print on a band darker than mid-grey: as it is
    assert dark_on_light(grey_band) is grey_band
    ruled = paper.copy()
    ruled[0:2, :] = ruled[-2:, :] = 0  # a cell whose rules run along the crop's top and bottom (its border mostly dark)
    assert dark_on_light(ruled) is ruled


BANDS = [  # (text, band, print)
    ("Счёт на оплату № 5821 от 12 марта", (40, 40, 60), "white"),
    ("Итого к оплате: восемь тысяч рублей", (100, 100, 100), "black"),
    ("Товар: бумага для принтера, пачка", (20, 20, 20), "white"),
]
ENGLISH = ["The invoice is payable within ten days.", "Please quote the number on every payment."]


@needs_tesseract
@pytest.mark.parametrize("language", ["ru", None])
def test_russian_lines_printed_on_dark_bands_are_read_in_cyrillic(service, language):
    """Where Tesseract reads lines again (every line with a hint of Russian; without one, those RapidOCR read in Latin
    look-alikes) it reads them without its own inversion: light print on a dark band is turned dark on light first ("ФТ:
    Иа: Кении У ед]" with the hint and "5821  12" without, else), black print on a dark grey band is not ("Vitoro kK
    onnaTe" where a crop was turned by its border's grey)."""
    font = font_or_skip(28)
    page = Image.new("RGB", (1200, 640), "white")
    draw = ImageDraw.Draw(page)
    for top, (text, band, ink) in zip((40, 140, 460), BANDS, strict=True):
        draw.rectangle((40, top, 1160, top + 70), fill=band)
        draw.text((60, top + 15), text, font=font, fill=ink)
    for i, text in enumerate(ENGLISH):
        draw.text((60, 260 + 70 * i), text, font=font, fill="black")
    result = service.ocr(page, "embedded", language=language)
    lines = result.text.splitlines()
    assert len(lines) == 5 and [lines[0], lines[1], lines[-1]] == [text for text, _, _ in BANDS], lines  # (the hint: "оп")
