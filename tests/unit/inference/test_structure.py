"""A page's structure on the CPU engines (issue #21): the lines assigned to layout regions in reading order, page
numbers by form, running headers and page numbers by repetition across a document's pages, the CDLA layout model
itself on a page rendered here, and Markdown without the headers, footers and page numbers, through /ocr."""

from __future__ import annotations

import textwrap
import threading

import pytest
from PIL import Image, ImageDraw

from inference.backends.ocr import layout_model
from inference.backends.ocr.structure import page_structure
from inference.blocks import Block, OcrLine
from inference.markdown import blocks_to_markdown, to_markdown
from inference.page_marginals import mark_running, running_key
from inference.page_margins import is_page_number
from inference.page_results import PageRead, page_results
from inference.page_structure import Region, page_blocks
from inference.results import OcrResult
from tests.helpers import HAS_TESSERACT, cyrillic_font, encode, needs_tesseract, render_lines, text_pdf


def line(text: str, x0: float, y0: float, x1: float, y1: float) -> OcrLine:
    return OcrLine(text=text, box=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], confidence=0.9)


# -- pure: lines and regions -> blocks --------------------------------------------------------------------------------


def test_lines_go_to_the_smallest_region_holding_them_in_reading_order():
    lines = [
        line("Annual report 2024", 60, 20, 300, 40),
        line("Results", 60, 80, 400, 130),
        line("First paragraph, line one", 60, 160, 700, 180),
        line("first paragraph, line two.", 60, 185, 600, 205),
        line("Second paragraph outside any region", 60, 260, 700, 280),
        line("and its second line.", 60, 285, 500, 305),
        line("Closing words in the big region.", 60, 340, 700, 360),
        line("Page 3 of 7", 350, 960, 450, 980),
    ]
    regions = [
        Region("header", 0.9, [55, 15, 310, 45]),
        Region("title", 0.9, [55, 75, 410, 135]),
        Region("text", 0.7, [50, 150, 720, 215]),  # a region around a paragraph it also found alone...
        Region("text", 0.95, [55, 155, 710, 210]),  # ...whose lines go to the smaller one
        Region("reference", 0.8, [50, 330, 720, 370]),
        Region("figure", 0.9, [60, 400, 700, 900]),  # no line in it: placed by position
    ]
    blocks = page_blocks(lines, (800, 1000), regions)
    assert [b.type for b in blocks] == ["header", "title", "text", "text", "text", "figure", "page_number"]
    assert blocks[2].text == "First paragraph, line one\nfirst paragraph, line two." and blocks[2].confidence == 0.95
    assert blocks[3].text.startswith("Second paragraph") and blocks[3].confidence is None  # outside: a text block
    assert blocks[4].text == "Closing words in the big region." and blocks[4].confidence == 0.8
    assert blocks[5].bbox == [60, 400, 700, 900] and blocks[5].lines is None
    assert blocks[2].bbox == [60, 160, 700, 205]  # a text block is its lines' extent


def test_a_region_the_reading_order_interrupts_makes_two_blocks_and_captions_inside_a_table_are_its_own():
    lines = [
        line("Left column top", 50, 100, 380, 120),
        line("Left column bottom", 50, 130, 380, 150),
        line("Right column", 420, 100, 750, 120),
        line("Item", 50, 300, 120, 320),
        line("Price", 400, 300, 480, 320),
    ]
    regions = [
        Region("reference", 0.7, [40, 90, 390, 160]),
        Region("text", 0.9, [45, 125, 385, 155]),  # the second line: a smaller region, interrupting the first
        Region("table", 0.9, [40, 290, 760, 500]),
        Region("table_caption", 0.8, [45, 295, 130, 325]),  # the table's header cell taken for a caption
    ]
    blocks = page_blocks(lines, (800, 1000), regions)
    assert [(b.type, b.text) for b in blocks] == [
        ("text", "Left column top"),
        ("text", "Left column bottom"),
        ("text", "Right column"),
        ("table", "Item Price"),  # (a row's parts: one line of the text)
    ]
    assert blocks[3].table is None and blocks[3].bbox == [40, 290, 760, 500]


def test_without_regions_paragraphs_titles_and_page_numbers_come_from_the_lines():
    lines = [
        line("Quarterly Report", 50, 40, 500, 100),
        line("Revenue grew in every region", 50, 150, 600, 175),
        line("and costs stayed flat.", 50, 180, 400, 205),
        line("The second paragraph.", 50, 260, 400, 285),
        line("12", 390, 960, 410, 980),
        line("Total 12", 390, 500, 480, 520),  # a number in the middle of the page is text
    ]
    blocks = page_blocks(lines, (800, 1000))
    assert [b.type for b in blocks] == ["title", "text", "text", "page_number", "text"]


def test_lines_of_no_height_make_blocks():
    """A text layer's print of 0.2 pt gives lines of no height: every job of such a PDF failed (max() of no row)."""
    lines = [line(f"w{i:05d} x{i % 97}", 50, 10 + i * 0.5, 60, 10 + i * 0.5) for i in range(40)]
    blocks = page_blocks(lines, (800, 1000))
    assert sorted(line.text for block in blocks for line in block.lines or []) == sorted(line.text for line in lines)


def test_a_title_twice_the_usual_line_is_level_1_and_a_smaller_one_level_2():
    lines = [
        line("Annual Report", 50, 40, 600, 100),  # 60 px: three body lines
        line("Revenue grew in every region", 50, 150, 600, 175),
        line("and costs stayed flat.", 50, 180, 400, 205),
        line("Outlook", 50, 260, 300, 295),  # 35 px
        line("The second paragraph.", 50, 330, 400, 355),
    ]
    blocks = page_blocks(lines, (800, 1000))
    assert [(b.type, b.level) for b in blocks] == [("title", 1), ("text", None), ("title", 2), ("text", None)]
    md = blocks_to_markdown(blocks)
    assert md.startswith("# Annual Report\n\nRevenue grew") and "\n## Outlook\n" in md


def test_blocks_found_on_a_turned_page_have_their_boxes_in_the_page_as_sent():
    from inference.backends.ocr.rapid_geometry import turn_back
    from inference.backends.ocr.structure import turn_blocks

    blocks = page_blocks([line("Sideways", 10, 20, 110, 40)], (200, 100))  # found on the page turned 90 degrees
    [block] = turn_blocks(blocks, lambda box: turn_back(box, 90, (100, 200)))  # the page as sent: 100 x 200
    assert block.bbox == [60, 10, 80, 110] and block.lines[0].box == [[80, 10], [80, 110], [60, 110], [60, 10]]


def body(top: float, rows: int, x0: float = 60, x1: float = 740) -> list[OcrLine]:
    """A paragraph of ``rows`` lines 20 px high, 25 px apart, from ``top``."""
    return [
        line(f"Body line {i} of the paragraph, long enough to be text.", x0, top + 25 * i, x1, top + 25 * i + 20)
        for i in range(rows)
    ]


def test_a_short_line_alone_in_the_top_or_bottom_margin_is_a_header_or_footer_and_page_numbers_beside_it_split_off():
    lines = [
        line("Quarterly Review 2010  Internal Report", 60, 20, 400, 40),  # the layout model called it text, or none ran
        *body(90, 30),
        line("Northwind Analytics  Confidential", 60, 950, 330, 970),  # one region holds both: one text block
        line("Page 7 of 40", 640, 950, 740, 970),
    ]
    regions = [Region("text", 0.9, [50, 85, 750, 840]), Region("text", 0.8, [50, 945, 750, 975])]
    blocks = page_blocks(lines, (800, 1000), regions)
    assert [(b.type, b.text) for b in blocks if b.type != "text"] == [
        ("header", "Quarterly Review 2010  Internal Report"),
        ("footer", "Northwind Analytics  Confidential"),
        ("page_number", "Page 7 of 40"),
    ]
    assert blocks[-2].bbox == [60, 950, 330, 970] and blocks[-1].bbox == [640, 950, 740, 970]
    # without a layout model too (the body: one paragraph)
    assert [b.type for b in page_blocks(lines, (800, 1000))] == ["header", "text", "footer", "page_number"]
    markdown = blocks_to_markdown(blocks)
    assert "Quarterly" not in markdown and "Northwind" not in markdown and "Page 7" not in markdown
    assert markdown.count("Body line") == 30


LETTER = [f"Line {i} of the letter, long enough to be its text." for i in range(20)]


def tight(top: float, texts: list[str]) -> list[OcrLine]:
    """Lines in tight boxes (Tesseract's: the letters' own height, 14 px), 28 px apart, from ``top``."""
    return [line(text, 60, top + 28 * i, 60 + 12 * len(text), top + 28 * i + 14) for i, text in enumerate(texts)]


def test_a_running_header_above_lines_in_tight_boxes_is_still_set_off():
    lines = [line("Quarterly Review 2010  Internal Report", 60, 20, 400, 34), *tight(90, LETTER)]
    assert [b.type for b in page_blocks(lines, (800, 1000))][:2] == ["header", "text"]


@pytest.mark.parametrize(
    "case",
    [
        "gap",  # the body's last line, in the bottom margin a line's spacing below the one above (outside the region)
        "tall",  # a line in the top margin twice the size of the body's: a title or a letterhead, not a header
        "rows",  # three rows in the bottom margin: content (an address block), not a running footer
        "band",  # below the top margin (a line at 8% of the page, as a body's first line can be)
        "alone",  # nothing else on the page to be set off from
        "tight",  # a letter's first lines high on the page, in tight boxes (Tesseract's: gaps of a line height)
    ],
)
def test_lines_in_a_margin_that_are_not_set_off_short_or_body_sized_stay_content(case):
    lines = {
        "gap": [*body(80, 35), line("and the last line of the paragraph.", 60, 955, 400, 975)],
        "tall": [line("Northwind Traders Ltd.", 60, 10, 500, 50), *body(120, 30)],
        "rows": [*body(80, 30), *[line(f"Address line {i}", 60, 935 + 20 * i, 300, 950 + 20 * i) for i in range(3)]],
        "band": [line("Quarterly Review 2010", 60, 60, 400, 80), *body(130, 30)],
        "alone": [line("Quarterly Review 2010", 60, 20, 400, 40)],
        "tight": tight(12, ["Invoice number 4471 dated March 12", "Total amount due: 318.40 USD"] + LETTER),
    }[case]
    regions = [Region("text", 0.9, [50, 75, 750, 952])] if case == "gap" else []
    blocks = page_blocks(lines, (800, 1000), regions)
    assert all(b.type in ("text", "title") for b in blocks), [(b.type, b.text) for b in blocks]


@pytest.mark.parametrize("text", ["3", "- 3 -", "Page 3 of 7", "page 12", "iv", "3 / 7", "[ 41 ]", "Стр. 5"])
def test_page_numbers_are_recognised_by_their_form(text):
    assert is_page_number(text)


@pytest.mark.parametrize("text", ["", "Total 12", "3 apples", "Chapter 3", "2024 results", "-", "Page one"])
def test_other_short_texts_are_not_page_numbers(text):
    assert not is_page_number(text)


# -- pure: repetition across pages ----------------------------------------------------------------------------------


def test_running_headers_and_page_numbers_are_found_across_pages():
    size = (800, 1000)

    def page(n: int) -> list[Block]:
        return [
            Block(type="text", bbox=[50, 20, 400, 40], text="Northwind Traders - Annual Report"),
            Block(type="title", bbox=[50, 60, 400, 90], text=["Sales", "Staff", "Outlook"][n - 1]),
            Block(type="text", bbox=[50, 120, 700, 600], text="Body text that changes from page to page " * n),
            Block(type="text", bbox=[50, 950, 300, 970], text=f"Northwind {2020 + n} edition"),  # a number that changes
            Block(type="text", bbox=[380, 950, 420, 970], text=f"{n}"),
        ]

    marked = mark_running([(page(n), size) for n in (1, 2, 3)])
    for blocks in marked:
        assert [b.type for b in blocks] == ["header", "title", "text", "footer", "page_number"]
    alone = mark_running([(page(1), size), ([], size)])  # one page with blocks: nothing repeats
    assert [b.type for b in alone[0]] == ["text", "title", "text", "text", "text"]
    assert running_key("Page 3 of 7") == running_key("page 4 of 7") == "page # of #"
    # a document's results (REST /ocr, batches, jobs) are built with them marked
    reads = [PageRead(0, n, size, "ocr", text="x", blocks=page(n)) for n in (1, 2, 3)]
    assert [[b.type for b in p.blocks][0] for p in page_results(reads)] == ["header"] * 3


# -- the layout model and the engines -----------------------------------------------------------------------------

P1 = (
    "Revenue grew in every region this quarter, led by the northern stores, while costs stayed flat. The board "
    "expects the same pace for the rest of the year and will review prices in the spring."
)
P2 = (
    "Staff numbers rose by twelve people, most of them in the warehouse. Training took two weeks and every new "
    "colleague passed the safety course before starting work on the floor."
)


def report_page(number: int = 3) -> Image.Image:
    """A page with a running header, a title, two paragraphs and a page number."""
    if cyrillic_font(16) is None:
        pytest.skip("no DejaVu font (.ci/run installs fonts-dejavu-core)")
    image = Image.new("RGB", (850, 1100), "white")
    draw = ImageDraw.Draw(image)
    draw.text((70, 40), "Northwind Traders Quarterly Report", font=cyrillic_font(16), fill="black")
    draw.line((70, 66, 780, 66), fill="black", width=1)
    draw.text((70, 120), "Results of the Third Quarter", font=cyrillic_font(34), fill="black")
    y = 200
    for paragraph in (P1, P2):
        for text in textwrap.wrap(paragraph, 62):
            draw.text((70, y), text, font=cyrillic_font(20), fill="black")
            y += 30
        y += 30
    draw.text((400, 1040), f"- {number} -", font=cyrillic_font(16), fill="black")
    return image


def test_the_layout_model_finds_the_regions_of_a_rendered_page():
    assert layout_model.unavailable_reason() is None, layout_model.unavailable_reason()
    model = layout_model.shared()
    assert model is not None and model.labels[:2] == ("text", "title") and (model.width, model.height) == (608, 800)
    regions = model(report_page())
    labels = [r.label for r in sorted(regions, key=lambda r: r.bbox[1])]
    assert labels[:4] == ["header", "title", "text", "text"], regions
    title = next(r for r in regions if r.label == "title")
    assert 50 < title.bbox[0] < 90 and 100 < title.bbox[1] < 140 and 500 < title.bbox[2] < 600  # in the page's pixels


def test_ocr_gives_blocks_in_reading_order_and_markdown_leaves_the_marginal_ones_out(client):
    response = client.post("/ocr", files={"file": ("report.png", encode(report_page()))})
    assert response.status_code == 200, response.text
    result = response.json()
    assert [b["type"] for b in result["blocks"]] == ["header", "title", "text", "text", "page_number"], result["blocks"]
    assert result["blocks"][1]["text"] == "Results of the Third Quarter"
    assert "Revenue" in result["blocks"][2]["text"] and "Staff" in result["blocks"][3]["text"]
    assert "Northwind" in result["text"]  # the text stays what it was
    markdown = to_markdown(OcrResult.model_validate(result))
    assert markdown.startswith("## Results of the Third Quarter\n\nRevenue"), markdown
    assert "Northwind" not in markdown and "3 -" not in markdown


@needs_tesseract
def test_tesseract_gives_blocks_too(client):
    response = client.post("/ocr", params={"model": "tesseract"}, files={"file": ("report.png", encode(report_page()))})
    assert response.status_code == 200, response.text
    types = [b["type"] for b in response.json()["blocks"]]
    assert types[:4] == ["header", "title", "text", "text"] and set(types[4:]) <= {"page_number"}, types


BODY = [
    "Revenue grew in every region this quarter, led by the northern stores.",
    "The board expects the same pace for the rest of the year.",
    "",
    "Staff numbers rose by twelve people, most of them in the warehouse.",
    "Training took two weeks for every new colleague.",
]


def test_a_pdf_text_layer_gets_blocks_and_its_running_header_and_page_numbers_leave_the_markdown(client):
    pages = [
        ["Northwind Traders Quarterly Report", "", "", "", topic, "", *BODY, *[""] * 31, f"Page {n} of 3"]
        for n, topic in enumerate(["Sales in the north", "Staff and training", "Outlook for next year"], start=1)
    ]
    files = {"file": ("report.pdf", text_pdf(pages), "application/pdf")}
    as_json = client.post("/ocr", files=files).json()
    for page in as_json["pages"]:
        assert page["source"] == "text-layer"
        assert [b["type"] for b in page["blocks"]][0] == "header" and page["blocks"][-1]["type"] == "page_number"
        assert "Northwind" in page["text"] and f"Page {page['page']} of 3" in page["text"]
    markdown = client.post("/ocr?format=markdown", files=files).text
    assert markdown.count("Revenue grew") == 3 and "Outlook for next year" in markdown
    assert "Northwind" not in markdown and "of 3" not in markdown, markdown


def test_a_lone_request_finds_the_layout_beside_its_reading_and_gets_the_same_blocks(service):
    """The layout model runs in a thread of its own beside the engine's reading (a core waits at times in that) for a
    request alone on its model, both engines, once the page proves to have lines enough; the blocks are those found
    after the reading."""
    threads: list[str] = []
    run = layout_model.LayoutModel.__call__

    def spy(self, image, min_score=layout_model.MIN_SCORE):
        threads.append(threading.current_thread().name)
        return run(self, image, min_score)

    layout_model.LayoutModel.__call__ = spy
    try:
        for model in ("embedded", "tesseract") if HAS_TESSERACT else ("embedded",):  # (Tesseract's: where it is installed)
            threads.clear()
            result = service.ocr(report_page(), model)
            assert [b.type for b in result.blocks][:4] == ["header", "title", "text", "text"], (model, result.blocks)
            assert len(threads) == 1 and threads[0].startswith("ocr-layout"), threads
            assert page_structure(report_page(), result.lines) == result.blocks
        sideways = service.ocr(report_page().rotate(90, expand=True), "embedded")  # found again on the page turned back
        assert [b.type for b in sideways.blocks][:4] == ["header", "title", "text", "text"], sideways.blocks
        threads.clear()
        page = Image.new("RGB", (600, 800), "white")  # a page's shape...
        page.paste(render_lines(["Total amount due: 318.40 USD"] * 2), (40, 60))
        assert len(service.ocr(page, "embedded").lines) == 2
        assert threads == []  # ...with two lines found on it: no layout to find
    finally:
        layout_model.LayoutModel.__call__ = run
