"""Rows read across a page (a receipt's item and its price, a price list, a form's label and its value) stay rows in
the page's blocks and in its Markdown, as they are in its text: the layout model finds a text region over the label
column only (or takes a lone price for a header), and the Markdown of a block wrote each line apart."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from inference.markdown import blocks_to_markdown, lines_to_markdown, to_markdown
from inference.page_structure import Region, page_blocks
from tests.helpers import dejavu
from tests.helpers import line_at as line
from ui.examples import RECEIPT  # (the UI's own example)

PRICES = [
    ("PRICE LIST", ""),
    ("Haircut", "25.00"),
    ("Beard trim", "12.50"),
    ("Colour", "48.00"),
    ("Wash and dry", "15.00"),
    ("Styling", "20.00"),
    ("Kids cut", "18.00"),
]


def sheet(rows: list[tuple[str, str]], face: str, size: int, width: int) -> Image.Image:
    """A receipt or price list: the labels at the left, the prices in a column 90 px from the right edge."""
    font = dejavu(face, size)
    image = Image.new("RGB", (width, 40 + 38 * len(rows)), "white")
    draw = ImageDraw.Draw(image)
    for i, (label, price) in enumerate(rows):
        draw.text((24, 20 + 38 * i), label, fill="black", font=font)
        if price:
            draw.text((width - 90, 20 + 38 * i), price, fill="black", font=font)
    return image


def squeezed(text: str) -> str:
    return "".join(text.split()).casefold()


# (the layout model, on these: no region; a text region over the labels alone; a text region over the labels and a
# "header" on the first price; a text region over the labels of the price list)
@pytest.mark.parametrize(
    ("rows", "face", "size", "width"),
    [
        (RECEIPT, "DejaVuSans.ttf", 22, 420),
        (RECEIPT, "DejaVuSerif.ttf", 22, 420),
        (RECEIPT, "DejaVuSans.ttf", 20, 420),
        (PRICES, "DejaVuSerif.ttf", 22, 420),
    ],
)
def test_a_receipts_markdown_keeps_each_item_with_its_price_and_its_title_alone(service, rows, face, size, width):
    result = service.ocr(sheet(rows, face, size, width), "embedded")
    paragraphs = [squeezed(p.lstrip("#")) for p in to_markdown(result).split("\n\n")]
    for label, price in rows:  # each row a paragraph of its own: the label with its price, the title alone
        assert squeezed(label + price) in paragraphs, (label, price, to_markdown(result))


# -- pure: lines and regions -> blocks -> Markdown --------------------------------------------------------------------


def receipt_lines(top: float = 20, step: float = 38, price_x: float = 325) -> list:
    """The receipt's lines in reading order (the engine's: row by row, the label before its price)."""
    out = []
    for i, (label, price) in enumerate(RECEIPT):
        y = top + step * i
        out.append(line(label, 20, y, 20 + 11 * len(label), y + 28))
        if price:
            out.append(line(price, price_x, y + 1, price_x + 11 * len(price), y + 29))
    return out


@pytest.mark.parametrize(
    "regions",
    [
        [Region("text", 0.6, [23, 25, 186, 314])],  # the labels' column only (the UI's example receipt)
        [Region("text", 0.6, [15, 15, 200, 330]), Region("text", 0.5, [320, 55, 400, 320])],  # one for each column
        [Region("text", 0.6, [15, 15, 200, 330]), Region("header", 0.5, [322, 57, 375, 90])],  # a price taken for a header
        [Region("title", 0.5, [18, 132, 200, 170])],  # an item taken for a title
    ],
)
def test_a_row_read_across_goes_to_one_block_whatever_regions_its_parts_lie_in(regions):
    blocks = page_blocks(receipt_lines(), (420, 344), regions)
    for label, price in RECEIPT[1:-1]:  # (one block, and one line of its text, as in the page's text)
        assert any(f"{label} {price}" in b.text.splitlines() for b in blocks), [b.text for b in blocks]
    markdown = blocks_to_markdown(blocks)
    assert markdown.split("\n\n") == [" ".join(part for part in row if part) for row in RECEIPT]


def test_rows_in_markdown_a_row_read_across_is_a_paragraph_and_a_line_split_by_a_narrow_gap_is_whole():
    lines = [
        line("Date of birth", 20, 55, 166, 85),
        line("12 March 1990", 256, 56, 427, 86),
        line("City", 19, 92, 71, 131),  # (taller than the usual line: no heading beside its value)
        line("Leeds", 256, 94, 329, 124),
        line("Written in the city of Leeds in the", 20, 170, 400, 198),
        line("spring,", 410, 171, 480, 199),  # (the engine split the line at a wide space)
        line("and sent the same day.", 20, 204, 300, 232),
    ]
    assert lines_to_markdown(lines) == (
        "Date of birth 12 March 1990\n\nCity Leeds\n\nWritten in the city of Leeds in the spring,\nand sent the same day."
    )


def test_a_row_is_as_tall_as_its_tallest_line_for_headings_not_as_its_lines_together():
    lines = [
        line("Maxwell's equations in differential form:", 20, 40, 400, 60),
        line("∇ × E =", 20, 100, 100, 120),
        line("∂B", 110, 91, 130, 111),  # (a fraction's numerator beside it, raised: together 29 px tall, the usual 20)
        line("∂t", 110, 112, 130, 132),
    ]
    assert lines_to_markdown(lines) == "Maxwell's equations in differential form:\n\n∇ × E = ∂B\n∂t"


def test_a_running_headers_row_in_the_top_band_is_left_as_the_layout_model_found_it():
    lines = [line("ANNUAL REPORT 2024", 60, 20, 300, 40), line("Chapter 3: results", 560, 20, 740, 40)]
    lines += [line(f"Body line {k} of the chapter, as running text.", 60, 120 + 30 * k, 740, 140 + 30 * k) for k in range(8)]
    blocks = page_blocks(lines, (800, 1000), [Region("header", 0.9, [55, 15, 305, 45])])
    assert blocks[0].type == "header" and blocks[0].text == "ANNUAL REPORT 2024"
