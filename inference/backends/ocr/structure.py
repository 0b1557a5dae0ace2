"""The OCR engines' page structure: the layout model's regions (``layout_model``) with the engine's lines
assigned to them (``inference.page_structure``). The model runs once per page, on the page the lines were read
from, and only where it can help: a page of a few lines, or a strip (a till receipt, squashed to the model's
portrait input), gets its blocks from its lines alone."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from PIL import Image

from ...blocks import MARGINAL, Block, Table, TableCell, bbox_of, lines_text, share_in, table_text, union_box
from ...page_structure import Region, page_blocks
from ...values import OcrLine
from . import layout_model
from .tables import find_tables, in_table, read_table

log = logging.getLogger(__name__)

MIN_LINES = 4  # fewer lines: no layout model (nothing to arrange)
ASPECT = (0.5, 2.2)  # height / width the model reads well (a page either way round); receipts are taller
MIN_HEIGHT = 8 * MIN_LINES  # px: a smaller image holds fewer lines of text
WITHIN = 0.8  # a table found by its rules lies in a figure when this share of its box does


def model_regions(image: Image.Image) -> list[Region]:
    """The layout model's regions of the page, or none where its shape is not one the model reads or the model is
    not installed."""
    aspect = image.height / max(image.width, 1)
    model = layout_model.shared() if ASPECT[0] <= aspect <= ASPECT[1] else None
    return model(image) if model is not None else []


def load_layout_model(enabled: bool) -> None:
    """Load the layout model now (once per process: ~1 s) when the engine gives structure, so that no request pays for
    it."""
    if enabled:
        layout_model.shared()


class LayoutAhead:
    """The layout model run on a page in a thread beside the engine's reading of it (in which a core waits at times),
    once the page proves worth it (``start``); when not started, ``regions`` runs it where it is asked."""

    def __init__(self, beside: ThreadPoolExecutor | None):
        self._beside = beside
        self._image: Image.Image | None = None
        self._regions: Future[list[Region]] | None = None

    def start(self, image: Image.Image, lines: int | None = None) -> None:
        """Run the model on ``image`` now (once), where it will be used: ``lines`` found on it, or (None: not known
        yet) room for them."""
        worth = image.height >= MIN_HEIGHT if lines is None else lines >= MIN_LINES
        if self._beside is not None and self._regions is None and worth:
            self._image, self._regions = image, self._beside.submit(model_regions, image)

    def regions(self, image: Image.Image) -> list[Region]:
        """``model_regions(image)``: the one found beside when it was started on this image."""
        return self._regions.result() if self._regions is not None and self._image is image else model_regions(image)


def _threads() -> ThreadPoolExecutor:
    """Threads for the layout model beside the pages' readings, kept (one started for each page cost the page ~2 ms of its
    reading thread's time); started when first used (a fork's child makes its own: ``os.register_at_fork`` below)."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="ocr-layout")


_BESIDE = _threads()
os.register_at_fork(after_in_child=lambda: globals().update(_BESIDE=_threads()))


@contextmanager
def layout_beside(wanted: bool) -> Iterator[LayoutAhead]:
    """A :class:`LayoutAhead` for the block (an engine's reading of a page) that runs the model beside it when ``wanted``
    (a request alone on its model: under load each request keeps to its own core). A layout not used (a page of a few
    lines) is not waited for."""
    yield LayoutAhead(_BESIDE if wanted else None)


def layout_regions(image: Image.Image, lines: list[OcrLine], ahead: LayoutAhead | None = None) -> list[Region]:
    """The layout model's regions of the page (found beside the reading when ``ahead`` was started), or none where the
    model is not worth running (a few lines) or not installed."""
    if len(lines) < MIN_LINES:
        return []
    return ahead.regions(image) if ahead is not None else model_regions(image)


def page_structure(
    image: Image.Image, lines: list[OcrLine], enabled: bool = True, ahead: LayoutAhead | None = None
) -> list[Block]:
    """The page's blocks in the lines' reading order (none when structure is turned off)."""
    if not enabled:
        return []
    return cells_added(image, page_blocks(lines, image.size, layout_regions(image, lines, ahead)), lines)


def cells_added(image: Image.Image, blocks: list[Block], lines: list[OcrLine], scale: float = 1.0) -> list[Block]:
    """:func:`with_tables`, or the blocks as they are (tables without cells, logged) should it raise (OpenCV on the
    rendering, on some page): the page keeps its reading, and a request or job its other pages."""
    try:
        return with_tables(image, blocks, lines, scale)
    except Exception as exc:
        log.warning("no tables for this page: %s", type(exc).__name__)
        return blocks


def with_tables(image: Image.Image, blocks: list[Block], lines: list[OcrLine], scale: float = 1.0) -> list[Block]:
    """The page's table blocks with their cells (``inference.backends.ocr.tables``; a region the layout model called a
    table that holds no grid of at least two columns is text), and the ruled tables the layout model missed found by
    their rules, unless the rules are a picture's edges (``_in_a_picture``). ``image`` may be a smaller rendering of the
    page: ``scale`` = its pixels per page pixel."""
    if len(lines) < MIN_LINES:
        return blocks
    seen = [_scaled_line(line, scale) for line in lines]
    out: list[Block] = []
    for block in blocks:
        if block.type == "table":
            table = read_table(image, _scaled(block.bbox, scale), seen) if block.bbox else None
            update = {"type": "text"} if table is None else {"table": _unscaled(table, scale), "text": table_text(table)}
            block = block.model_copy(update=update)
        out.append(block)
    for bbox, table in find_tables(image, seen):
        box = _scaled(bbox, 1 / scale)
        known = any(b.type == "table" and b.bbox and _overlap(b.bbox, box) > 0.3 for b in out)
        if not known and not _in_a_picture(out, box, table):
            out = _replace_by_table(out, box, _unscaled(table, scale))
    return out


def _scaled(bbox: list[float], scale: float) -> list[float]:
    return [v * scale for v in bbox]


def _scaled_line(line: OcrLine, scale: float) -> OcrLine:
    return line if scale == 1.0 else line.model_copy(update={"box": [[x * scale, y * scale] for x, y in line.box]})


def _unscaled(table: Table, scale: float) -> Table:
    if scale == 1.0:
        return table
    rows = [
        [TableCell(**{**c.model_dump(), "bbox": _scaled(c.bbox, 1 / scale) if c.bbox else None}) for c in row]
        for row in table.rows
    ]
    return Table(rows=rows)


def _overlap(a: list[float], b: list[float]) -> float:
    """How much of the smaller box lies in the other."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / max(smaller, 1e-6)


def _inside(block: Block, box: list[float]) -> bool:
    if block.bbox is None:
        return False
    cx, cy = (block.bbox[0] + block.bbox[2]) / 2, (block.bbox[1] + block.bbox[3]) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def _in_a_picture(blocks: list[Block], box: list[float], table: Table) -> bool:
    """Rules found in a figure's region that are the edges of what it shows (a device's panels and feet, a screen's
    frame) rather than a table's: most of the rows between them hold no text. (A table the layout model took for a
    figure has text in its rows.)"""
    figure = any(block.type == "figure" and block.bbox and share_in(box, block.bbox) >= WITHIN for block in blocks)
    return figure and 2 * sum(any(cell.text.strip() for cell in row) for row in table.rows) < len(table.rows)


def _replace_by_table(blocks: list[Block], box: list[float], table: Table) -> list[Block]:
    """The blocks with those whose centre lies in ``box`` replaced by one table block, where the first of them was; the
    lines of theirs that lie outside the table (a block reaching past its rules) stay, in what is left of their block:
    before the table those above it (the sentence that introduces it), after it the others."""
    inside = [i for i, block in enumerate(blocks) if _inside(block, box) and block.type not in MARGINAL]
    if not inside:
        return blocks
    lines = [line for i in inside for line in blocks[i].lines or []]
    taken = [line for line in lines if in_table(line, box)]
    table_block = Block(type="table", bbox=box, text=table_text(table), lines=taken or None, table=table)
    out: list[Block] = []
    for i, block in enumerate(blocks):
        if i not in inside:
            out.append(block)
            continue
        rest = [line for line in block.lines or [] if not in_table(line, box)]
        above = [line for line in rest if i == inside[0] and _centre_y(line) < box[1]]
        below = [line for line in rest if not (i == inside[0] and _centre_y(line) < box[1])]
        out += [_with_lines(block, above)] if above else []
        out += [table_block] if i == inside[0] else []
        out += [_with_lines(block, below)] if below else []
    return out


def _centre_y(line: OcrLine) -> float:
    box = bbox_of(line.box)
    return (box[1] + box[3]) / 2


def _with_lines(block: Block, lines: list[OcrLine]) -> Block:
    """The block holding only these of its lines."""
    bbox = union_box([bbox_of(line.box) for line in lines])
    return block.model_copy(update={"lines": lines, "text": lines_text(lines), "bbox": bbox})


def turn_blocks(blocks: list[Block], turn_back: Callable[[list[list[float]]], list[list[float]]]) -> list[Block]:
    """Blocks found on a turned page, with their boxes (and their lines') in the page as sent."""

    def rect(bbox: list[float]) -> list[float]:
        x0, y0, x1, y1 = bbox
        corners = turn_back([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        xs, ys = [p[0] for p in corners], [p[1] for p in corners]
        return [min(xs), min(ys), max(xs), max(ys)]

    return [
        block.model_copy(
            update={
                "bbox": rect(block.bbox) if block.bbox else None,
                "lines": [line.model_copy(update={"box": turn_back(line.box)}) for line in block.lines or []] or None,
            }
        )
        for block in blocks
    ]
