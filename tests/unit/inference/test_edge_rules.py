"""A table's rules at a line crop's ends, painted over before Tesseract reads the line: a ruled invoice's cells read
without "[" or "1" for the rule beside them, in Russian (where every line is Tesseract's) and without a hint."""

import numpy as np
import pytest

from inference.backends.ocr.edge_rules import without_edge_rules
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
