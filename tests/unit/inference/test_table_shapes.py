"""Tables' shapes beyond a plain grid: a heading over a group of columns, cells shaded by their values."""

from PIL import Image, ImageDraw

from inference.backends.ocr.table_grid import Edge, assemble
from inference.backends.ocr.table_image import Rule
from inference.backends.ocr.table_pieces import Piece
from inference.backends.ocr.tables import read_table

from .test_tables import close, font, texts


def test_a_heading_centred_over_a_rule_across_columns_spans_them_and_one_beside_its_middle_does_not():
    """A statement's "Year Ended" and "Six Months Ended", each in the middle one of three columns and centred over a rule
    across them, head them (one cell each); "Notes" at the left end of a rule across three columns heads only its own."""
    cols = [Edge(at, False) for at in (0, 200, 300, 400, 500, 600, 700, 800)]
    rows = [Edge(at, False) for at in (0, 30, 60, 90)]

    def piece(text: str, x0: float, x1: float, row: int) -> Piece:
        return Piece(text, x0, 8 + 30 * row, x1, 22 + 30 * row)

    figures = [piece(f"{10 + c}", 260 + 100 * c, 290 + 100 * c, r) for r in (1, 2) for c in range(6)]
    labels = [piece("Revenue", 10, 90, 1), piece("Costs", 10, 70, 2)]
    groups = [piece("Year Ended", 315, 385, 0), piece("Six Months Ended", 605, 695, 0)]
    rules = [Rule(30, 205, 495), Rule(30, 505, 795)]
    table = assemble([*groups, *labels, *figures], list(rows), list(cols), rules, [], (0, 0))
    assert table is not None
    assert [(c.text, c.colspan) for c in table.rows[0]] == [("", 1), ("Year Ended", 3), ("Six Months Ended", 3)]
    notes = piece("Notes", 210, 260, 0)
    table = assemble([notes, *labels, *figures], list(rows), list(cols), [Rule(30, 205, 495)], [], (0, 0))
    assert table is not None and [(c.text, c.colspan) for c in table.rows[0]][:2] == [("", 1), ("Notes", 1)]


def test_a_table_shaded_by_its_values_keeps_every_row_and_its_columns(service):
    """Light cells coloured by their values (a heat map) in runs down each column: their sides, found as short vertical
    rules, are no frame (the rows above them were left out of the table, and out of the page's text) and no columns
    (the columns come from the gaps between the text)."""
    labels = ["Clustering", "Single substances", "Mix of substances", "Simple instrument", "Correlation", "Slope only"]
    labels += ["Linear regression", "Presence rules"]
    values = [[f"0.{(7 * r + 3 * c) % 10}{(r + c) % 10}" for c in range(3)] for r in range(8)]
    shaded = {(2, 0), (3, 0), (4, 0), (3, 1), (4, 1), (5, 1), (5, 2), (6, 2), (7, 2)}
    page = Image.new("RGB", (760, 380), "white")
    draw = ImageDraw.Draw(page)
    draw.line((20, 30, 740, 30), fill="black", width=2)
    for r, label in enumerate(labels):
        y = 44 + 34 * r
        draw.text((30, y), label, fill="black", font=font(18))
        for c, value in enumerate(values[r]):
            x = 360 + 120 * c
            if (r, c) in shaded:
                draw.rectangle((x - 30, y - 7, x + 90, y + 27), fill=(215, 205, 235))
            draw.text((x, y), value, fill="black", font=font(18))
    draw.line((20, 320, 740, 320), fill="black", width=2)
    table = read_table(page, [15, 25, 745, 326], service.ocr(page, "embedded").lines)
    expected = [[label, *row] for label, row in zip(labels, values, strict=True)]
    assert table is not None and close(texts(table), expected), texts(table) if table else None
