"""A financial statement on the CPU (inference/backends/ocr/tables.py): columns of figures each ruled on its own, row
labels on the left and headers above, rendered here and read by the embedded engine."""

from PIL import Image, ImageDraw

from inference.backends.ocr.structure import page_structure
from inference.backends.ocr.tables import find_tables
from tests.helpers import cer
from tests.unit.inference.test_tables import close, font, texts

STATEMENT = [
    ["", "Year Ended"],  # (over the three years: one cell across them)
    ["", "Jan 26, 2025", "Jan 28, 2024", "Jan 29, 2023"],
    ["Cost of revenue", "178", "141", "138"],
    ["Research and development", "3,423", "2,532", "1,892"],
    ["Sales and marketing", "1,136", "876", "680"],
    ["Total", "4,737", "3,549", "2,710"],
]
STATEMENT_X = [(440, 580), (610, 750), (780, 920)]  # each column of figures ruled on its own


def statement(merged: bool = False) -> Image.Image:
    """A financial statement: labels on the left, three columns of figures each ruled under its date and above and under
    its total (no rule crosses the labels), "Year Ended" over the dates ruled across them, a sentence above and one
    below. ``merged``: each rule runs on across the three columns (as a statement's do in a small rendering, where the
    gaps between its columns' rules close: a PDF page's preview)."""
    page = Image.new("RGB", (960, 330), "white")
    draw = ImageDraw.Draw(page)
    draw.text(
        (20, 20), "Stock-based compensation expense, net of amounts capitalized, was as follows:", fill="black", font=font(18)
    )
    draw.text((680 - draw.textlength("Year Ended", font=font(18)) / 2, 70), "Year Ended", fill="black", font=font(18))
    for r, row in enumerate(STATEMENT[1:]):
        y = 100 if r == 0 else 106 + 34 * r
        draw.text((20, y), row[0], fill="black", font=font(18))
        for (_, x1), text in zip(STATEMENT_X, row[1:], strict=True):
            draw.text((x1 - 8 - draw.textlength(text, font=font(18)), y), text, fill="black", font=font(18))
    draw.line((440, 94, 920, 94), fill="black", width=2)  # under "Year Ended", across the columns it heads
    for x0, x1 in [(STATEMENT_X[0][0], STATEMENT_X[-1][1])] if merged else STATEMENT_X:
        for y in (126, 239, 276, 281):
            draw.line((x0, y, x1, y), fill="black", width=2)
    draw.text((20, 300), "Amounts capitalized in inventories were not significant.", fill="black", font=font(18))
    return page


def test_a_statement_ruled_column_by_column_is_one_table_with_its_labels_and_its_headers(service):
    """Columns of figures each ruled on their own (under the dates, above and under the totals) are one table, with the
    labels level with their rows and the headers above the rules, "Year Ended" one cell over the three years it heads; no
    rule crossing the labels, rows come from the text."""
    page = statement()
    lines = service.ocr(page, "embedded").lines
    found = find_tables(page, lines)
    assert len(found) == 1 and close(texts(found[0][1]), STATEMENT), [texts(table) for _, table in found]
    assert [cell.colspan for cell in found[0][1].rows[0]] == [1, 3]  # "Year Ended", centred over its rule across them
    blocks = page_structure(page, lines)
    assert [b.type for b in blocks] == ["text", "table", "text"], [(b.type, b.text) for b in blocks]
    assert texts(blocks[1].table) == texts(found[0][1])


def test_a_statement_whose_columns_rules_run_together_keeps_its_labels(service):
    """A statement's rules running on across its columns of figures (one rule a row, as in a PDF page's small preview)
    are still a statement's: the labels level with its rows are its first column (without them the table was dropped:
    the text block holding the labels had its centre outside the rules)."""
    page = statement(merged=True)
    lines = service.ocr(page, "embedded").lines
    found = find_tables(page, lines)
    assert len(found) == 1, [texts(table) for _, table in found]
    labels = [row[0] for row in texts(found[0][1])]
    assert [cer(a, b) <= 0.2 for a, b in zip(labels[-4:], [row[0] for row in STATEMENT[-4:]], strict=True)] == [True] * 4
    blocks = page_structure(page, lines)
    assert [b.type for b in blocks] == ["text", "table", "text"], [(b.type, b.text) for b in blocks]
