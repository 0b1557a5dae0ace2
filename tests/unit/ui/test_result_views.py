"""What the OCR and Batch tabs show of a result, without a server (issue #22 points 6-9, #21 point 1): a document's
pages under ``--- page N ---`` markers in the text, the Markdown and the downloads; what the counts count; a page's
blocks drawn with their type on the picture and rendered as Markdown (a result built here, as an engine that
returns blocks would); the Batch table's times rounded and its texts short."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
from PIL import Image

from inference.blocks import Block, OcrLine, Table, TableCell
from inference.results import BatchItem, BatchResult, OcrResult, PageResult
from ui.batch_tab import on_screen, styled, table
from ui.ocr_view import BLOCK_COLOURS, LINE_COLOUR, describe, draw, drawing_state, shown_markdown, shown_text, write_downloads


def line(text: str, x0: float, y0: float, x1: float, y1: float) -> OcrLine:
    return OcrLine(text=text, box=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], confidence=0.9)


def page(number: int, text: str, **extra) -> PageResult:
    return PageResult(page=number, text=text, processing_time=0.1, source="ocr", image_size=[400, 300], **extra)


def invoice() -> list[Block]:
    cells = [[TableCell(text="Item"), TableCell(text="Price")], [TableCell(text="Paper A4"), TableCell(text="94.00")]]
    return [
        Block(type="header", bbox=[10, 5, 390, 20], text="ACME Ltd · page 1"),
        Block(type="title", bbox=[20, 30, 200, 60], text="Invoice 4471"),
        Block(type="table", bbox=[20, 100, 380, 200], text="Item\tPrice\nPaper A4\t94.00", table=Table(rows=cells)),
    ]


def test_a_documents_pages_are_marked_in_the_text_the_markdown_and_the_downloads():
    result = OcrResult(
        text="first\n\nsecond",
        model="embedded",
        processing_time=1.0,
        image_size=[400, 300],
        pages=[page(1, "first", blocks=invoice()), page(3, "", error="it is damaged")],
    )
    assert shown_text(result) == "--- page 1 ---\nfirst\n\n--- page 3 ---\n(page 3 could not be read: it is damaged)"
    markdown = shown_markdown(result)
    assert markdown.startswith("--- page 1 ---\n\n## Invoice 4471") and "--- page 3 ---" in markdown
    assert "| Item | Price |" in markdown and "| Paper A4 | 94.00 |" in markdown and "ACME" not in markdown  # header out
    txt, md, _ = (Path(p).read_text() for p in write_downloads(result, "scan.pdf"))
    assert txt == shown_text(result) + "\n" and md == markdown + "\n"
    # an image (no pages): the text as read, no marker
    image = OcrResult(text="only", model="m", processing_time=0.1, image_size=[10, 10])
    assert shown_text(image) == "only" and "page" not in shown_markdown(image)


def test_the_details_say_what_is_counted():
    lines = [line(f"word {i}", 0, i * 10, 50, i * 10 + 8) for i in range(42)]
    result = OcrResult(
        text="\n".join(f"line {i}" for i in range(16)), model="m", processing_time=0.5, image_size=[400, 300], lines=lines
    )
    said = describe(result)
    assert "**Text** 16 lines" in said and "**Boxes found** 42 (the engine's line segments)" in said
    assert "**Lines**" not in said
    with_blocks = describe(result.model_copy(update={"blocks": invoice()}))
    assert "**Blocks** 3 (1 table)" in with_blocks
    assert "Read by" not in said  # one model named: it read everything


def test_boxes_from_a_pdfs_text_are_not_said_to_be_the_engines():
    lines = [line(f"word {i}", 0, i * 10, 50, i * 10 + 8) for i in range(10)]
    layer = [page(n, "text", lines=lines).model_copy(update={"source": "text-layer"}) for n in (1, 2)]
    document = OcrResult(text="text\n\ntext", model="embedded", processing_time=0.2, image_size=[400, 300], pages=layer)
    said = describe(document)  # (no engine ran: the pages were read from the PDF's text)
    assert "**Boxes** 20 (the lines of the PDF's own text)" in said and "engine" not in said, said
    mixed = document.model_copy(update={"pages": [layer[0], page(2, "scan", lines=lines[:3])]})
    assert "**Boxes** 13 (3 line segments found by the engine, 10 lines of the PDF's own text)" in describe(mixed)
    scanned = document.model_copy(update={"pages": [page(1, "scan", lines=lines[:3])]})
    assert "**Boxes found** 3 (the engine's line segments)" in describe(scanned)


def test_with_auto_the_details_say_who_read_the_pages_and_why():
    pages = [page(1, "a", engine="embedded"), page(2, "b", engine="qwen3_vl_2b", route="table"), page(3, "c", engine="embedded")]
    document = OcrResult(text="a\n\nb\n\nc", model="auto", processing_time=1.0, image_size=[400, 300], pages=pages)
    assert "**Model** auto · **Read by** embedded (2 pages), qwen3_vl_2b (1 page: sent for table)" in describe(document)
    image = OcrResult(text="x", model="auto", processing_time=1.0, image_size=[9, 9], engine="qwen3_vl_2b", route="no-text")
    assert "**Read by** qwen3_vl_2b (sent for no-text)" in describe(image)
    kept = image.model_copy(update={"engine": "embedded", "route": None})
    assert "**Read by** embedded ·" in describe(kept)


def test_blocks_are_drawn_with_their_type_on_the_page():
    result = OcrResult(
        text="Invoice 4471",
        model="m",
        processing_time=0.1,
        image_size=[400, 300],
        lines=[line("Paid in full", 22, 70, 198, 80)],
        blocks=invoice(),
    )
    kept = drawing_state(result, "/tmp/x.png", document=False)["pages"][0]
    # the picture on screen is half the size of the page as read: boxes are scaled to it
    drawn = draw(Image.new("RGB", (200, 150), "white"), kept["size"], kept["lines"], kept["blocks"])
    table_colour = BLOCK_COLOURS["table"]
    assert drawn.getpixel((100, 100)) == table_colour  # the table's bottom edge: (x 10..190, y 50..100) on screen
    assert drawn.getpixel((190, 75)) == table_colour  # its right edge
    assert drawn.getpixel((100, 75)) == (255, 255, 255)  # inside: the page shows through
    # its label: a tag of the block's colour above its top-left corner, with white letters
    tag = [drawn.getpixel((x, y)) for x in range(10, 40) for y in range(38, 50)]
    assert tag.count(table_colour) > 100 and (255, 255, 255) in tag
    assert LINE_COLOUR in [drawn.getpixel((x, 35)) for x in range(50, 99)]  # the line's box (its top: y 35 on screen)
    # a block without a box (a VLM's plain Markdown) is not drawn, and nothing fails
    boxless = [{"type": "text", "bbox": None, "text": "x"}]
    assert draw(Image.new("RGB", (20, 20), "white"), [20, 20], [], boxless).getpixel((0, 0)) == (255, 255, 255)


def batch() -> BatchResult:
    return BatchResult(
        results=[
            BatchItem(filename="a-long-file-name-for-a-scan.png", text="word " * 100, processing_time=1.28, status="success"),
            BatchItem(filename="bad.png", processing_time=0.0, status="error", error="'bad.png' is not an image."),
        ],
        total=2,
        successful=1,
        failed=1,
        processing_time=1.3,
        model="embedded",
    )


def test_the_batch_table_shows_times_rounded_and_each_texts_start():
    shown = gr.Dataframe(headers=["file", "status", "time_s", "text"]).postprocess(styled(on_screen(table(batch()))))
    assert [row[2] for row in shown.metadata["display_value"]] == ["1.28", "0.00"]  # what the browser shows
    text = shown.data[0][3]
    assert len(text) <= 160 and text.endswith("…") and "\n" not in text
    assert shown.data[1][3] == "'bad.png' is not an image."  # an error is shown whole
