"""Pages read from a PDF's text layer, with their structure: the layout model's regions found on the page rendered
small (``DocPage.preview``), the text layer's lines assigned to them in reading order (as an OCR engine's lines are).
Used wherever a text-layer page's read is built (a request's pages, a job's)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from .backends.ocr.structure import cells_added, layout_regions
from .blocks import Block, OcrLine
from .callers import CALLER
from .catalog import ModelHandle
from .documents import DocPage
from .drop_caps import join_drop_caps
from .heap import gc_paused
from .layout import reading_order, upright_boxes
from .page_results import PageRead
from .page_structure import Region, page_blocks

log = logging.getLogger(__name__)


def structure_wanted(model: ModelHandle) -> bool:
    """The model's ``structure`` option (true unless set false): text-layer pages follow the model asked for."""
    return model.spec.options.get("structure", True) is not False


def ordered(lines: list[OcrLine]) -> list[OcrLine]:
    """The text layer's lines in reading order (a PDF's content order is the order it was drawn in)."""
    rows = reading_order(upright_boxes([line.box for line in lines], [line.text for line in lines]))
    return [lines[box.index] for row in rows for box in row]


def text_layer_blocks(page: DocPage, lines: list[OcrLine]) -> list[Block]:
    """The page's blocks from its text layer's ``lines`` (the collector held off while a dense page's thousands of lines
    are ordered and put in blocks: half its time was the collector's; not while its preview is drawn: a wait for a PDF
    reader, see inference.heap)."""
    with gc_paused():
        lines = ordered(join_drop_caps([line for line in lines if line.text.strip()], marks=False))
    regions: list[Region] = []
    preview = None
    if page.preview is not None:
        try:
            preview = page.preview()
            sx, sy = page.size[0] / max(preview.width, 1), page.size[1] / max(preview.height, 1)
            regions = [
                Region(r.label, r.score, [r.bbox[0] * sx, r.bbox[1] * sy, r.bbox[2] * sx, r.bbox[3] * sy])
                for r in layout_regions(preview, lines)  # (the lines only counted there)
            ]
        except Exception as exc:  # the page's blocks then come from its lines alone
            log.warning("no layout for page %d: %s", page.number, type(exc).__name__)
    with gc_paused():
        blocks = page_blocks(lines, page.size, regions)
        if preview is not None:  # tables: the rules on the rendering, the text layer's words in the cells
            blocks = cells_added(preview, blocks, lines, scale=preview.width / max(page.size[0], 1))
    return blocks


def text_layer_read(doc: int, page: DocPage, structure: bool = True) -> PageRead:
    """A text-layer page's read (``doc``: which document of the request), with its blocks when ``structure``."""
    started = time.perf_counter()
    lines = page.lines if page.lines_later is None else page.lines_later()  # (a job's page past its opening's budget)
    blocks = text_layer_blocks(page, lines) if structure else []
    seconds = time.perf_counter() - started
    return PageRead(doc, page.number, page.size, "text-layer", seconds, text=page.text or "", lines=lines, blocks=blocks)


def text_layer_reads(pages: Sequence[tuple[int, DocPage]], structure: bool = True) -> list[PageRead]:
    """Several text-layer pages' reads, in the order given, laid out side by side (one per core: the layout model
    runs on one thread and lets go of the GIL)."""
    workers = min(len(pages), os.cpu_count() or 1)
    if workers <= 1 or not structure:
        return [text_layer_read(doc, page, structure) for doc, page in pages]
    caller = CALLER.get()  # (whose turn the pages take at the PDF readers, in these threads too)

    def read(item: tuple[int, DocPage]) -> PageRead:
        CALLER.set(caller)
        return text_layer_read(item[0], item[1], structure)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="text-layer") as pool:
        return list(pool.map(read, pages))
