"""PDF text layers drawn with hostile geometry (found by fuzzing content streams: text matrices, font sizes, spacing
of extreme values).

- Text drawn far off its page (a character spacing of 10^6 points, a stretched text matrix): the text layer's boxes
  had their left edges 10^6-10^7 px off the page while their right edges were cut to it, and the reading order counted
  boxes pixel column by pixel column from the leftmost: one 22-letter line took 18 s of CPU and 330 MB, a tiny PDF of
  200 such pages (one content stream) an hour. A box is now cut to the page on every side, and columns are counted by
  the boxes' ends, not by pixels.
- Text drawn with no extent (every box at one point): the reading order found a gutter with boxes on both sides by one
  count and none on the right by another, and raised: /ocr answered 500, a job of such a page failed whole.
- And should the tables step (OpenCV on the page's rendering) raise on a page, the page keeps its blocks (an OCR
  page its reading: it failed alone)."""

from __future__ import annotations

import random
import time

from inference import documents
from inference.layout import Box, find_gutter, reading_order
from inference.text_layer_pages import text_layer_reads
from tests.helpers import drawn_pdf, encode, render_lines

ORDINARY = "BT /F1 12 Tf 72 700 Td " + " ".join(f"(Row {i} of the page's ordinary text) Tj 0 -14 Td" for i in range(6))
SPREAD = "BT /F1 12 Tf 1000000 Tc 72 300 Td (spread out far and wide) Tj ET"  # each letter 10^6 points after the last


def test_text_drawn_far_off_the_page_is_boxed_on_it_and_laid_out_at_once(open_server):
    pdf = drawn_pdf([ORDINARY + " ET " + SPREAD])
    started = time.process_time()  # (the server runs in this process: its CPU counts here)
    response = open_server.post("/ocr", files={"file": ("spread.pdf", pdf)})
    spent = time.process_time() - started
    assert response.status_code == 200, response.text[:300]
    [page] = response.json()["pages"]
    assert page["source"] == "text-layer" and "Row 5 of the page" in page["text"]
    width, height = page["image_size"]
    for line in page["lines"]:
        for x, y in line["box"]:
            assert 0 <= x <= width and 0 <= y <= height, (line["text"], line["box"])
    assert spent < 10, f"{spent:.1f} s of CPU for a one-page PDF of 7 lines"  # (was 18 s)


def test_columns_are_found_in_a_time_that_goes_with_the_boxes_not_their_width():
    left = [Box(i, 0, 20 * i, 4e8, 20 * i + 10, "left column words") for i in range(5)]
    right = [Box(5 + i, 4e8 + 50, 20 * i, 9e8, 20 * i + 10, "right column words") for i in range(5)]
    started = time.process_time()
    assert find_gutter(left + right) == (4e8 + 1, 4e8 + 49)  # (a list of 9 * 10^8 counts before: minutes, 7 GB)
    assert time.process_time() - started < 1


def test_boxes_with_no_extent_are_read_in_one_row():
    piled = [Box(i, 0, 0, 0, 0, f"w{i}") for i in range(5)]
    assert [[b.index for b in row] for row in reading_order(piled)] == [[0, 1, 2, 3, 4]]


# a content stream the fuzzing found (its boxes all at the page's corner): /ocr answered 500
PILED = (
    "BT 0 12 -305.556 -1342.046 -5 12 Tm /F1 -561.234 Tf 1980.711 Tz 0.2 1051.542 Td (Y- c.Z|| 31) Tj 7 1326.098 1e-7 "
    "-155.951 1681.322 -53.566 Tm 1e38 465.384 -80.935 0.2 29.427 -373.318 Tm (1Y32b.-Y|a- |ba) Tj -5 Tc 1663.364 Tw "
    "(-X -) Tj -308.329 -1872.508 1e38 0 1e-30 0 Tm 1e38 92.366 -0 -1008.692 -1983.216 511.025 Tm (Y aX 1.2|) Tj "
    "/F1 99999 Tf (  b3) Tj (a .) Tj (12.Z) Tj ET"
)


def test_a_page_of_piled_up_text_is_answered(open_server):
    response = open_server.post("/ocr", files={"file": ("piled.pdf", drawn_pdf([PILED], rotate=90))})
    assert response.status_code == 200, response.text[:300]
    assert response.json()["pages"][0]["source"] == "text-layer"


NUMBERS = ["0", "-0", "1e-30", "1e30", "-1e30", "1e38", "-5", "0.001", "1000000", "12", "-12", "99999", "nan", "1e-7", "0.2"]


def fuzzed_stream(rnd: random.Random) -> str:
    """Text drawn with operators of random, often extreme operands (the fuzzing that found the holes above)."""

    def n() -> str:
        return rnd.choice(NUMBERS) if rnd.random() < 0.5 else f"{rnd.uniform(-2000, 2000):.3f}"

    ops = [
        lambda: f"/F1 {n()} Tf",
        lambda: " ".join(n() for _ in range(6)) + " Tm",
        lambda: f"{n()} {n()} Td",
        lambda: f"{n()} Tz",
        lambda: f"{n()} Tc {n()} Tw",
        lambda: f"{n()} TL T*",
        lambda: "(" + "".join(rnd.choice("abc XYZ 123|.-") for _ in range(rnd.randint(0, 20))) + ") Tj",
        lambda: "(" + "".join(rnd.choice("abc XYZ 123|.-") for _ in range(rnd.randint(0, 20))) + ") Tj",
    ]
    stream = "BT " + " ".join(rnd.choice(ops)() for _ in range(rnd.randint(1, 30))) + " ET"
    return f"q {' '.join(n() for _ in range(6))} cm {stream} Q" if rnd.random() < 0.3 else stream


def test_text_layers_of_fuzzed_geometry_are_read_with_boxes_on_their_pages(settings):
    rnd = random.Random(2)
    for _ in range(40):
        pdf = drawn_pdf([fuzzed_stream(rnd) for _ in range(2)], rotate=rnd.choice([0, 90, 180, 270]))
        doc = documents.open_document(pdf, settings.limits, "fuzzed.pdf")
        try:
            layer = [(0, page) for page in doc.pages if not page.needs_ocr]
            for read in text_layer_reads(layer):
                width, height = read.size
                assert all(0 <= x <= width and 0 <= y <= height for line in read.lines for x, y in line.box), read.lines
        finally:
            doc.close()


def test_a_text_layer_page_whose_tables_cannot_be_found_keeps_its_blocks(open_server, monkeypatch):
    """The tables step runs OpenCV on the page's rendering; should it raise on some page, that page keeps its blocks
    (its tables without cells) instead of failing its request, or its whole job with every other page (a text-layer
    page is read at the job's opening, with the others)."""
    import cv2

    def refuse(*args, **kwargs):
        raise cv2.error("OpenCV(4.x) error: (-215:Assertion failed) in function 'adaptiveThreshold'")

    monkeypatch.setattr(cv2, "adaptiveThreshold", refuse)
    rows = [f"Invoice line {i}: printer paper A4, box of {i} reams, 23.50 each" for i in range(14)]
    response = open_server.post("/ocr", files={"file": ("invoice.pdf", drawn_pdf([text_stream(rows)]))})
    assert response.status_code == 200, response.text[:300]
    [page] = response.json()["pages"]
    assert page["source"] == "text-layer" and "Invoice line 13" in page["text"] and page["blocks"], page


def text_stream(rows: list[str]) -> str:
    return "BT /F1 11 Tf 16 TL 72 720 Td " + " ".join(f"({row}) Tj T*" for row in rows) + " ET"


def test_an_ocr_page_whose_tables_cannot_be_found_keeps_its_reading(open_server, monkeypatch):
    import cv2

    def refuse(*args, **kwargs):
        raise cv2.error("OpenCV(4.x) error: (-215:Assertion failed) in function 'adaptiveThreshold'")

    monkeypatch.setattr(cv2, "adaptiveThreshold", refuse)
    page = encode(render_lines([f"Invoice line {i}: printer paper, {i} boxes" for i in range(8)]))
    response = open_server.post("/ocr", params={"model": "rapidocr"}, files={"file": ("page.png", page)})
    assert response.status_code == 200, response.text[:300]
    assert "Invoice line 7" in response.json()["text"] and response.json()["blocks"], response.text[:300]
