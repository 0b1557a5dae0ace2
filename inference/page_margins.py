"""A page's running header and footer by their place on it: a short text block lying in the page's top or bottom
margin, set off from the body by more than its lines' spacing, is a header or a footer, and page numbers are
recognised by their form ("3", "- 3 -", "Page 3 of 7", "iv"). Pure, on a page's blocks (``page_structure``);
``page_marginals`` finds running headers by their repetition across a document's pages."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from statistics import median

from .blocks import MARGINAL, Block, BlockType, OcrLine, bbox_of, lines_text, union_box

MARGIN = 0.07  # the page's top and bottom margins (a share of its height): a short line alone there is a header or footer
MARGIN_CHARS = 160  # longer text in a margin is content
MARGIN_GAP = 0.5  # ...when set off from the body by at least this many of its line heights (more than a line's spacing)
MARGIN_HEIGHT = 1.25  # ...and no taller than this many of the page's usual line (taller: a title, a letterhead)
SPACING_GAP = 1.5  # ...and set off by more than this many of the page's usual gaps between a line and the next

PAGE_NUMBER = re.compile(
    r"^[\s\-–—|.·•\[\](){}]*(?:(?:page|pg\.?|p\.|seite|página|стр\.?|страница)\s*)?"
    r"(?:\d{1,4}|[ivxlcdm]{1,7})"
    r"(?:\s*(?:of|/|из|von|de)\s*(?:\d{1,4}|[ivxlcdm]{1,7}))?[\s\-–—|.·•\[\](){}]*$",
    re.IGNORECASE,
)


def is_page_number(text: str) -> bool:
    text = text.strip()
    return 0 < len(text) <= 24 and bool(PAGE_NUMBER.match(text)) and any(ch.isalnum() for ch in text)


def edge_of(block: Block, height: float, share: float = MARGIN) -> str | None:
    """ "top" or "bottom" for a block lying wholly in the page's top or bottom ``share`` of its height (its margin by
    default), else None."""
    if block.bbox is None or height <= 0:
        return None
    if block.bbox[3] <= share * height:
        return "top"
    if block.bbox[1] >= (1 - share) * height:
        return "bottom"
    return None


def _rows(lines: Sequence[OcrLine]) -> int:
    """How many rows the lines make (lines side by side on the page are one row)."""
    rows: list[list[float]] = []
    for box in sorted((bbox_of(line.box) for line in lines), key=lambda b: b[1]):
        if rows and min(box[3], rows[-1][3]) - max(box[1], rows[-1][1]) > 0.5 * (box[3] - box[1]):
            rows[-1][3] = max(rows[-1][3], box[3])
        else:
            rows.append(list(box))
    return len(rows)


def _usual_gap(blocks: Sequence[Block], usual: float) -> float:
    """The page's usual gap between a line and the next one below it (overlapping it sideways, starting below its
    middle, less than two usual line heights down: lines of a paragraph; none where boxes overlap), 0 when there are
    none. An engine's tight boxes (Tesseract's: the letters' own height) leave gaps of about a line height where looser
    ones (RapidOCR's) leave almost none."""
    boxes = sorted((bbox_of(line.box) for block in blocks for line in block.lines or []), key=lambda b: b[1])
    tops = [b[1] for b in boxes]
    gaps = []
    for box in boxes:
        reach = box[3] + 2 * usual  # (only the lines starting between its middle and this matter)
        start, end = bisect_right(tops, (box[1] + box[3]) / 2), bisect_left(tops, reach)
        below = [b[1] - box[3] for b in boxes[start:end] if min(b[2], box[2]) > max(b[0], box[0])]
        if below:
            gaps.append(max(0.0, min(below)))  # (loose boxes overlap the next line's)
    return median(gaps) if gaps else 0.0


def _set_off(block: Block, side: str, body: Sequence[Sequence[float]], spacing: float) -> bool:
    """Whether a block in a margin is set off from the page's body (``body``: its boxes): the nearest of them beyond that
    margin is at least MARGIN_GAP of the block's line height away and more than SPACING_GAP of the page's usual gap
    between lines (``spacing``): wider than the spacing of a paragraph's lines, whatever the engine's boxes."""
    assert block.bbox is not None
    if side == "top":
        gap = min((b[1] for b in body if b[1] > block.bbox[1]), default=None)
        gap = None if gap is None else gap - block.bbox[3]
    else:
        gap = max((b[3] for b in body if b[3] < block.bbox[3]), default=None)
        gap = None if gap is None else block.bbox[1] - gap
    line_height = max(bbox_of(line.box)[3] - bbox_of(line.box)[1] for line in block.lines or [])
    return gap is not None and gap >= MARGIN_GAP * line_height and gap > SPACING_GAP * spacing


def _may_run(block: Block, usual: float) -> bool:
    """A text block that may be a running header or footer by its look (``looks_marginal``)."""
    return block.type == "text" and looks_marginal(block, usual)


def looks_marginal(block: Block, usual: float) -> bool:
    """Whether a block looks like a running header or footer: one or two rows of short text, no taller than the page's
    usual line (taller: a title, a letterhead)."""
    lines = block.lines or []
    return (
        bool(lines)
        and len(block.text) <= MARGIN_CHARS
        and _rows(lines) <= 2
        and not any(bbox_of(line.box)[3] - bbox_of(line.box)[1] > MARGIN_HEIGHT * usual for line in lines)
    )


def _running(blocks: list[Block], height: float, usual: float) -> dict[int, str]:
    """The blocks (by index) lying in the page's top or bottom margin that look like a running header or footer
    (``_may_run``) and are set off from the body, with their side. The margin's blocks are judged from the one nearest
    the body outwards, and one not set off joins the body: a letter's first lines high on the page, set off from the
    body's lower lines only by the lines between, are the body's."""
    spacing = _usual_gap(blocks, usual)
    found: dict[int, str] = {}
    for side in ("top", "bottom"):
        body = [b.bbox for b in blocks if b.bbox is not None and b.type not in MARGINAL and edge_of(b, height) != side]
        inside = [(k, b.bbox) for k, b in enumerate(blocks) if b.bbox and b.type not in MARGINAL]
        inside = [(k, box) for k, box in inside if edge_of(blocks[k], height) == side]
        for k, box in sorted(inside, key=lambda kb: -kb[1][3] if side == "top" else kb[1][1]):
            if _may_run(blocks[k], usual) and _set_off(blocks[k], side, body, spacing):
                found[k] = side
            else:
                body.append(box)
    return found


def margins(blocks: list[Block], size: tuple[int, int], usual: float) -> list[Block]:
    """A page's running header and footer without the layout model's word for them (it called them text, or there
    was no model): a text block of one or two rows of short text lying wholly in the page's top or bottom margin, no
    taller than the page's usual line and set off from the body by a gap, is a header or a footer (``_running``); its
    lines that read as page numbers ("Page 3 of 40" at the right of "Company  Confidential") become page numbers of their
    own."""
    out: list[Block] = []
    running = _running(blocks, size[1], usual)
    for k, block in enumerate(blocks):
        side = running.get(k)
        if side is None:
            out.append(block)
            continue
        lines = block.lines or []
        kind: BlockType = "header" if side == "top" else "footer"
        numbers = [line for line in lines if is_page_number(line.text)]
        words = [line for line in lines if not is_page_number(line.text)]
        if not numbers or not words:
            out.append(block.model_copy(update={"type": kind if words else "page_number"}))
            continue
        parts = sorted([(kind, words), ("page_number", numbers)], key=lambda part: lines.index(part[1][0]))
        for part_kind, part in parts:
            boxes = [bbox_of(line.box) for line in part]
            text = lines_text(part)
            out.append(Block(type=part_kind, bbox=union_box(boxes), text=text, lines=list(part)))
    return out
