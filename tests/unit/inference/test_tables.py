"""Tables on the CPU (inference/backends/ocr/tables.py): pages rendered here, read by the embedded engine (RapidOCR,
with Tesseract first where installed), the table's structure from its rules or its gaps, cells filled by position."""

import pytest
from PIL import Image, ImageDraw, ImageFont

from inference.backends.ocr.structure import with_tables
from inference.backends.ocr.tables import erase_rules, find_tables, read_table, strip_rule_artefacts
from inference.blocks import Block, OcrLine, bbox_of
from tests.helpers import cer, encode, ruled_table_pdf

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
INVOICE = [["Item", "Qty", "Price", "Amount"], ["Printer paper A4", "4", "23.50", "94.00"], ["Stapler", "2", "12.00", "24.00"]]
TOTAL = ("Total", "118.00")
GRID_X = [20, 300, 400, 520, 660]  # the invoice's vertical rules
GRID_Y = [20, 62, 104, 146, 188]  # and its horizontal ones
PRICES = [
    ["Product", "Size", "Price"],
    ["Green tea", "250 g", "4.90"],
    ["Coffee beans", "1 kg", "18.50"],
    ["Cocoa", "500 g", "7.25"],
]
PRICE_X = [20, 260, 420]


def font(size: int = 20):
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:
        pytest.skip("DejaVu fonts are needed (.ci/run installs fonts-dejavu-core)")


def invoice() -> Image.Image:
    """A ruled invoice: a header row, two items, and a total whose label spans three columns (no rules inside it)."""
    image = Image.new("RGB", (680, 210), "white")
    draw = ImageDraw.Draw(image)
    for r, row in enumerate(INVOICE):
        for c, text in enumerate(row):
            draw.text((GRID_X[c] + 8, GRID_Y[r] + 9), text, fill="black", font=font())
    draw.text((GRID_X[0] + 8, GRID_Y[3] + 9), TOTAL[0], fill="black", font=font())
    draw.text((GRID_X[3] + 8, GRID_Y[3] + 9), TOTAL[1], fill="black", font=font())
    for y in GRID_Y:
        draw.line((GRID_X[0], y, GRID_X[-1], y), fill="black", width=2)
    for i, x in enumerate(GRID_X):
        draw.line((x, GRID_Y[0], x, GRID_Y[3] if i in (1, 2) else GRID_Y[-1]), fill="black", width=2)
    return image


def price_list() -> Image.Image:
    """An unruled price list: columns only by the gaps between them."""
    image = Image.new("RGB", (560, 200), "white")
    draw = ImageDraw.Draw(image)
    for r, row in enumerate(PRICES):
        for c, text in enumerate(row):
            draw.text((PRICE_X[c], 20 + 42 * r), text, fill="black", font=font())
    return image


@pytest.fixture(scope="module")
def invoice_read(service):
    image = invoice()
    return image, service.ocr(image, "embedded").lines


@pytest.fixture(scope="module")
def prices_read(service):
    image = price_list()
    return image, service.ocr(image, "embedded").lines


def texts(table) -> list[list[str]]:
    return [[cell.text for cell in row] for row in table.rows]


def close(read: list[list[str]], expected: list[list[str]]) -> bool:
    """Same cells, allowing an OCR slip in a cell's text."""
    flat_read, flat_expected = [c for row in read for c in row], [c for row in expected for c in row]
    return [len(r) for r in read] == [len(e) for e in expected] and all(
        cer(a, b) <= 0.2 for a, b in zip(flat_read, flat_expected, strict=True)
    )


def test_a_ruled_invoice_reads_as_its_grid_with_the_spanning_total(invoice_read):
    image, lines = invoice_read
    table = read_table(image, None, lines)
    assert table is not None
    assert close(texts(table), [*INVOICE, list(TOTAL)]), texts(table)
    total = table.rows[3][0]
    assert (total.colspan, total.rowspan) == (3, 1) and table.rows[3][1].colspan == 1, table.rows[3]
    assert all(cell.rowspan == cell.colspan == 1 for row in table.rows[:3] for cell in row)
    # each cell's box is its ruled cell (a few px for the rules' width)
    for r, row in enumerate(table.rows[:3]):
        for c, cell in enumerate(row):
            expected = [GRID_X[c], GRID_Y[r], GRID_X[c + 1], GRID_Y[r + 1]]
            assert all(abs(a - b) <= 6 for a, b in zip(cell.bbox, expected, strict=True)), (cell, expected)
    assert abs(total.bbox[2] - GRID_X[3]) <= 6
    assert not any("|" in cell.text for row in table.rows for cell in row)


def test_a_line_read_across_the_cells_is_cut_at_the_rules(invoice_read):
    """An engine that reads each row as one line ("Printer paper A4 4 23.50 94.00") still gives the row's cells."""
    image, lines = invoice_read
    rows: dict[int, list[OcrLine]] = {}
    for line in lines:
        x0, y0, x1, y1 = bbox_of(line.box)
        rows.setdefault(next(r for r in range(4) if y0 + y1 < GRID_Y[r + 1] * 2), []).append(line)
    joined = []
    for row in rows.values():
        row.sort(key=lambda line: bbox_of(line.box)[0])
        x0, y0 = min(bbox_of(line.box)[0] for line in row), min(bbox_of(line.box)[1] for line in row)
        x1, y1 = max(bbox_of(line.box)[2] for line in row), max(bbox_of(line.box)[3] for line in row)
        text = "| " + " ".join(line.text for line in row)  # and a rule read as "|" at its start
        joined.append(OcrLine(text=text, box=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], confidence=0.9))
    assert len(joined) == 4
    table = read_table(image, None, joined)
    assert table is not None and close(texts(table), [*INVOICE, list(TOTAL)]), texts(table)


def test_an_unruled_price_list_reads_by_its_column_gaps(prices_read):
    image, lines = prices_read
    table = read_table(image, [10, 10, 550, 190], lines)
    assert table is not None
    assert close(texts(table), PRICES), texts(table)
    for row in table.rows:  # columns at the gaps: each cell's box holds its text's left edge
        for c, cell in enumerate(row):
            assert cell.bbox[0] <= PRICE_X[c] + 2 and (c + 1 == len(row) or PRICE_X[c] < cell.bbox[2] < PRICE_X[c + 1]), cell


def test_a_ruled_table_is_found_on_a_page_without_a_layout_model(invoice_read):
    image, lines = invoice_read
    page = Image.new("RGB", (800, 420), "white")
    page.paste(image, (60, 150))
    draw = ImageDraw.Draw(page)
    draw.text((60, 40), "Invoice 4471 for March", fill="black", font=font(26))
    x0, y0, x1, y1 = draw.textbbox((60, 40), "Invoice 4471 for March", font=font(26))
    title = OcrLine(text="Invoice 4471 for March", box=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], confidence=0.9)
    moved = [line.model_copy(update={"box": [[x + 60, y + 150] for x, y in line.box]}) for line in lines]
    # a layout's loose box around the table and the title above it: the title is not a row of the ruled table
    loose = read_table(page, [20, 20, 780, 400], [title, *moved])
    assert loose is not None and close(texts(loose), [*INVOICE, list(TOTAL)]), texts(loose)
    found = find_tables(page, moved)
    assert len(found) == 1, found
    bbox, table = found[0]
    assert all(  # the frame's rules (half their width either way)
        abs(a - b) <= 6 for a, b in zip(bbox, [GRID_X[0] + 60, GRID_Y[0] + 150, GRID_X[-1] + 60, GRID_Y[-1] + 150], strict=True)
    ), bbox
    assert close(texts(table), [*INVOICE, list(TOTAL)])
    assert find_tables(page.crop((0, 0, 800, 120)), []) == []  # a title and no rules: no table


def test_rule_artefacts_leave_the_text():
    box = [[0, 0], [100, 0], [100, 20], [0, 20]]
    lines = [
        OcrLine(text="| Printer paper A4 (box) 4 | 23.50 94.00 |", box=box, confidence=0.9),
        OcrLine(text="|Stapler|", box=box, confidence=0.9),
        OcrLine(text="|", box=box, confidence=0.9),
        OcrLine(text="Plain text, no rules", box=box, confidence=0.9),
    ]
    assert [line.text for line in strip_rule_artefacts(lines)] == [
        "Printer paper A4 (box) 4 23.50 94.00",
        "Stapler",
        "Plain text, no rules",
    ]


def test_erasing_rules_keeps_the_letters_of_a_large_heading():
    """Rules go (an engine then reads no "|" from them); a heading's tall strokes, shorter than a rule, stay."""
    image = invoice()
    heading = Image.new("RGB", (680, 120), "white")
    ImageDraw.Draw(heading).text((20, 10), "Illinois 1911", fill="black", font=font(80))
    page = Image.new("RGB", (680, 330), "white")
    page.paste(heading, (0, 0))
    page.paste(image, (0, 120))
    erased = erase_rules(page).convert("L")
    assert erased.crop((0, 0, 680, 120)).tobytes() == heading.convert("L").tobytes()
    for x in GRID_X:  # the vertical rules, between the rows' text
        assert min(erased.crop((x - 1, 120 + GRID_Y[0] + 4, x + 2, 120 + GRID_Y[0] + 8)).getdata()) > 200, x
    for y in GRID_Y:
        assert min(erased.crop((GRID_X[0] + 4, 120 + y - 1, GRID_X[0] + 8, 120 + y + 2)).getdata()) > 200, y
    assert min(erased.crop((GRID_X[0] + 8, 120 + GRID_Y[1] + 9, GRID_X[1], 120 + GRID_Y[2])).getdata()) < 100  # text stays


def test_running_text_between_rules_is_not_found_as_a_table():
    """Two columns of prose between full-width rules have the gaps and the rules of a table, not its short cells."""
    page = Image.new("RGB", (900, 400), "white")
    draw = ImageDraw.Draw(page)
    prose = "the regional market grew during the last period as demand rose"
    lines = []
    for i in range(6):
        for x in (20, 470):
            text = " ".join(prose.split()[i % 3 : i % 3 + 8])
            draw.text((x, 40 + 50 * i), text, fill="black", font=font(16))
            x0, y0, x1, y1 = draw.textbbox((x, 40 + 50 * i), text, font=font(16))
            lines.append(OcrLine(text=text, box=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], confidence=0.9))
    for y in (25, 180, 330):
        draw.line((20, y, 880, y), fill="black", width=2)
    assert read_table(page, None, lines) is not None  # read as a table when a layout says it is one...
    assert find_tables(page, lines) == []  # ...but not found as one


def invoice_page() -> Image.Image:
    """A page: a title, a sentence, then the ruled invoice."""
    page = Image.new("RGB", (760, 520), "white")
    draw = ImageDraw.Draw(page)
    draw.text((20, 30), "Invoice 2041", fill="black", font=font(40))
    draw.text((20, 110), "Thank you for your order of office supplies.", fill="black", font=font())
    draw.text((20, 150), "Payment is due within thirty days of delivery.", fill="black", font=font())
    page.paste(invoice(), (20, 230))
    return page


def test_an_invoice_through_ocr_is_a_table_block_and_a_markdown_table(client):
    """The engine's structure carries the table's cells (whether the layout model or the rules found it): the JSON's
    table block, a Markdown table, and no '|' from the ruled lines in the text."""
    png = encode(invoice_page())
    result = client.post("/ocr", files={"file": ("invoice.png", png)}).json()
    tables = [b for b in result["blocks"] if b["type"] == "table"]
    assert len(tables) == 1, [(b["type"], b["text"]) for b in result["blocks"]]
    rows = [[" ".join(c["text"].split()) for c in row] for row in tables[0]["table"]["rows"]]
    assert close(rows[:3], INVOICE), rows
    assert "|" not in result["text"], result["text"]
    markdown = client.post("/ocr?format=markdown", files={"file": ("invoice.png", png)}).text
    assert "| Item | Qty | Price | Amount |" in markdown or "<td>Item</td>" in markdown, markdown
    assert markdown.index("Invoice 2041") < markdown.index("Item")


def test_lines_of_a_block_reaching_past_a_ruled_table_stay_in_the_text(invoice_read):
    """A block whose centre lies in a table found by its rules gives the table its lines there, and keeps the others."""
    image, lines = invoice_read
    page = Image.new("RGB", (900, 420), "white")
    page.paste(image, (60, 150))
    moved = [line.model_copy(update={"box": [[x + 60, y + 150] for x, y in line.box]}) for line in lines]
    notes = [
        OcrLine(text=f"note {n}", box=[[760, y], [840, y], [840, y + 20], [760, y + 20]], confidence=0.9)
        for n, y in ((1, 180), (2, 222))
    ]
    boxes = [bbox_of(line.box) for line in moved + notes]
    whole = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
    block = Block(type="text", bbox=whole, text="\n".join(line.text for line in moved + notes), lines=moved + notes)
    blocks = with_tables(page, [block], moved + notes)
    assert [b.type for b in blocks] == ["table", "text"], [(b.type, b.text) for b in blocks]
    assert close(texts(blocks[0].table), [*INVOICE, list(TOTAL)]) and blocks[1].text == "note 1\nnote 2"
    assert blocks[1].lines == notes and blocks[1].bbox == [760, 180, 840, 242]


def test_a_scrap_of_rule_inside_a_table_joins_no_cells(service):
    """A short stroke under a word (an underline, the edge of a shaded band) is no rule between rows: cells beside it
    stay apart."""
    rows = [["Region", "Units", "Revenue"], ["North", "120", "4,310"], ["South", "95", "3,870"], ["East", "143", "5,020"]]
    page = Image.new("RGB", (640, 240), "white")
    draw = ImageDraw.Draw(page)
    for r, row in enumerate(rows):
        for x, text in zip((20, 260, 460), row, strict=True):
            draw.text((x, 30 + 44 * r + (10 if r else 0)), text, fill="black", font=font())
    for y in (20, 64, 230):
        draw.line((10, y, 630, y), fill="black", width=2)
    draw.line((260, 128, 330, 128), fill="black", width=2)  # under "120"
    table = read_table(page, None, service.ocr(page, "embedded").lines)
    assert table is not None and close(texts(table), rows), texts(table)


def test_the_edges_in_a_photo_are_no_table_and_a_sheet_ruled_for_writing_is_one():
    """Edges stacked like a table's rules (a device's panels in a photo), its few words in the first and last bands: no
    table where the layout model saw a figure around them; the same drawing as a page's text (a sign-up sheet), or with
    a small figure inside it (a logo), is a table, and so is a table with text in its rows inside a figure."""
    page = Image.new("RGB", (700, 460), "white")
    draw = ImageDraw.Draw(page)
    for y in (20, 120, 180, 240, 300, 420):
        draw.line((40, y, 660, y), fill="black", width=3)
    words = [(70, 60, "24.5"), (300, 60, "RMS"), (540, 60, "kHz"), (70, 350, "Lake"), (300, 350, "Shore")]
    filled = [(x, y, text) for y in (135, 195, 255) for x, text in ((70, "North"), (300, "120"), (540, "4,310"))]
    whole, inside, logo = [30, 10, 670, 430], [300, 150, 360, 210], [620, 380, 660, 410]
    for kinds, drawn, expected in (
        ([("figure", whole)], words, ["figure"]),
        ([("text", whole)], words, ["table"]),
        ([("text", whole), ("figure", inside)], words, ["table"]),
        ([("figure", whole)], words + filled, ["table"]),
        ([("figure", logo), ("text", whole)], words, ["table"]),
    ):
        sheet = page.copy()
        lines = []
        for x, y, text in drawn:
            ImageDraw.Draw(sheet).text((x, y), text, fill="black", font=font())
            x0, y0, x1, y1 = ImageDraw.Draw(sheet).textbbox((x, y), text, font=font())
            lines.append(OcrLine(text=text, box=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], confidence=0.9))
        assert len(find_tables(sheet, lines)) == 1  # the rules alone read as a table...
        text = "\n".join(line.text for line in lines)
        blocks = [
            Block(type=kind, bbox=box, text=text if box == whole else "", lines=lines if box == whole else None)
            for kind, box in kinds
        ]
        assert [b.type for b in with_tables(sheet, blocks, lines)] == expected, kinds  # ...but not in a picture


def test_the_bars_of_a_pdfs_text_layer_stay_in_its_tables_cells(client):
    """A born-digital table's "|" are its text's (an engine's "|" in a ruled table is a rule read as a letter)."""
    pdf = ruled_table_pdf([("Option", "Value"), ("a | b", "x|y"), ("Paper", "4.00"), ("Total", "12.00")])
    page = client.post("/ocr", files={"file": ("options.pdf", pdf)}).json()["pages"][0]
    tables = [b["table"] for b in page["blocks"] if b["type"] == "table"]
    assert page["source"] == "text-layer" and len(tables) == 1, [(b["type"], b["text"]) for b in page["blocks"]]
    assert [[c["text"] for c in row] for row in tables[0]["rows"]][1] == ["a | b", "x|y"], tables
    markdown = client.post("/ocr?format=markdown", files={"file": ("options.pdf", pdf)}).text
    assert "| a \\| b | x\\|y |" in markdown, markdown
