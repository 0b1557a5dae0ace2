"""A page's blocks from its lines and its layout: each line goes to the layout region that holds it (the smallest
of those that hold most of it), the lines outside every region make text blocks of their own (split where a
paragraph gap or a new column begins), and the blocks come in the lines' reading order (the engine's, from
``inference.layout``: columns one after the other); a text region's lines that the reading order interrupts make
several blocks (a table's or a figure's one). Page numbers are recognised by their form ("3", "- 3 -", "Page 3 of
7", "iv") in a header, a footer or the top or bottom band of the page; a running header or footer by its place in
the page's margins (``page_margins``). Pure: the layout model's regions come in as :class:`Region`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

from .blocks import MARGINAL, TITLE_RATIO, Block, BlockType, OcrLine, bbox_of, lines_text, same_row, share_in, union_box
from .page_margins import MARGIN_CHARS, is_page_number, looks_marginal, margins

# CDLA's classes (the CPU layout model) as block types
LABEL_TYPES: dict[str, BlockType] = {
    "text": "text",
    "title": "title",
    "figure": "figure",
    "figure_caption": "caption",
    "table": "table",
    "table_caption": "caption",
    "header": "header",
    "footer": "footer",
    "reference": "text",
    "equation": "equation",
}
CONTAINED = 0.6  # a region this much inside a table or figure is part of it
FIGURE_PAGE = 0.5  # a "figure" over this share of the page...
FIGURE_TEXT = 200  # ...holding lines of this many characters is the page's text (a scan, a letter), not a figure
INSIDE = 0.5  # a line belongs to a region holding at least this share of its box
PARAGRAPH_GAP = 0.9  # lines outside regions: a gap of more than this many line heights starts a new block
HEADING_RATIO = 1.3  # a short line this much taller than the page's usual line is a heading
BAND = 0.1  # the top and bottom tenth of a page: where running headers, footers and page numbers are
END_GAP = 1.0  # a page's first or last row with its page number: set off from the body by this many of its heights
TOUCH = 0.3  # ...or, a row of several parts, at least not reaching into the body by more (an engine's boxes overlap)
SPREAD = 3  # a page's last row of this many short parts, from the body's left edge to its right: a footer without one...
FOOT = 0.25  # ...in the page's lowest quarter
TURNED = 3.0  # a line this many times taller than wide is text turned up or down the page...
SIDE = 0.15  # ...and lying in the page's outer share of its width on either side, a stamp in the margin


@dataclass
class Region:
    """A layout region: the model's label (CDLA), its score and box [x0, y0, x1, y1] in the page's pixels."""

    label: str
    score: float
    bbox: list[float]


def _area(box: Sequence[float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def region_of(box: Sequence[float], regions: Sequence[Region]) -> int | None:
    """The region a line's box belongs to: of those holding at least INSIDE of it, the smallest (a paragraph
    inside a larger region the model also found); None when no region holds it."""
    holding = [(i, r) for i, r in enumerate(regions) if share_in(box, r.bbox) >= INSIDE]
    if not holding:
        return None
    return min(holding, key=lambda ir: (_area(ir[1].bbox), -ir[1].score))[0]


def _inside_out(regions: list[Region]) -> list[Region]:
    """The regions without those lying mostly inside a table or a figure (a table's header row taken for a caption,
    a chart's labels for text): the table or figure keeps their lines."""
    wholes = [r for r in regions if LABEL_TYPES[r.label] in ("table", "figure")]
    return [r for r in regions if r in wholes or not any(share_in(r.bbox, w.bbox) >= CONTAINED for w in wholes)]


def _text_not_figures(regions: list[Region], lines: Sequence[OcrLine], boxes: list[list[float]], size: tuple[int, int]):
    """The regions without the "figures" that are a page's text: the layout model takes a page it does not know (a
    letter, a scan of a book's page, a report's page in a frame) for one figure; its lines are then read as text."""
    page = max(size[0] * size[1], 1)

    def wordy(region: Region) -> bool:
        held = (line for line, box in zip(lines, boxes, strict=True) if share_in(box, region.bbox) >= INSIDE)
        return sum(len(line.text.strip()) for line in held) >= FIGURE_TEXT

    return [r for r in regions if not (LABEL_TYPES[r.label] == "figure" and _area(r.bbox) >= FIGURE_PAGE * page and wordy(r))]


def _split_loose(indexes: list[int], boxes: list[list[float]]) -> list[list[int]]:
    """Lines outside every region, in reading order, as paragraphs: a new one where the gap above a line is more
    than PARAGRAPH_GAP line heights, or where a line starts above the previous one (a new column)."""
    if not indexes:
        return []
    usual = median(boxes[i][3] - boxes[i][1] for i in indexes) or 1.0
    runs: list[list[int]] = [[indexes[0]]]
    for previous, i in zip(indexes, indexes[1:], strict=False):
        gap = boxes[i][1] - boxes[previous][3]
        same_row = min(boxes[i][3], boxes[previous][3]) - max(boxes[i][1], boxes[previous][1]) > 0.5 * usual
        if not same_row and (gap > PARAGRAPH_GAP * usual or boxes[i][1] < boxes[previous][1]):
            runs.append([i])
        else:
            runs[-1].append(i)
    return runs


def _block(kind: BlockType, members: list[int], lines: Sequence[OcrLine], boxes: list[list[float]], region: Region | None):
    chosen = [lines[i] for i in members]
    extent = [boxes[i] for i in members]
    if region is not None and kind in ("figure", "table", "equation"):
        extent.append(region.bbox)  # a figure or table is its region (its lines may be a few labels inside)
    return Block(
        type=kind,
        bbox=union_box(extent),
        text=lines_text(chosen),
        lines=list(chosen),
        confidence=round(region.score, 4) if region is not None else None,
    )


def page_blocks(lines: Sequence[OcrLine], size: tuple[int, int], regions: Sequence[Region] = ()) -> list[Block]:
    """The page's blocks in reading order (``lines`` in reading order, ``regions`` from a layout model or none)."""
    lines = [line for line in lines if line.text.strip()]
    boxes = [bbox_of(line.box) for line in lines]
    typed = _inside_out(_text_not_figures([r for r in regions if r.label in LABEL_TYPES], lines, boxes, size))
    stamps = _turned_in_margin(lines, boxes, size)
    ends = {**stamps, **_numbered_end_rows(lines, boxes, typed, set(stamps), size[1])}
    owner: list[int | str | None] = [ends.get(i) or region_of(box, typed) for i, box in enumerate(boxes)]
    owner = _rows_across(owner, boxes, typed, size[1])
    # runs of consecutive lines (in reading order) with the same owner; a table's, figure's or equation's region: one run
    runs: list[tuple[int | str | None, list[int]]] = []
    whole: dict[int, list[int]] = {}
    for i, who in enumerate(owner):
        if isinstance(who, int) and who in whole:
            whole[who].append(i)
        elif runs and runs[-1][0] == who:
            runs[-1][1].append(i)
        else:
            runs.append((who, [i]))
            if isinstance(who, int) and LABEL_TYPES[typed[who].label] in ("figure", "table", "equation"):
                whole[who] = runs[-1][1]
    keyed: list[tuple[float, Block]] = []
    modelled: set[int] = set()  # (the blocks of the layout model's regions, by id)
    for who, members in runs:
        if who is None:
            for part in _split_loose(members, boxes):
                keyed.append((part[0], _block("text", part, lines, boxes, None)))
        elif isinstance(who, str):
            keyed.append((members[0], _block(who, members, lines, boxes, None)))  # type: ignore[arg-type]
        else:
            keyed.append((members[0], _block(LABEL_TYPES[typed[who].label], members, lines, boxes, typed[who])))
            modelled.add(id(keyed[-1][1]))
    for k, region in enumerate(typed):  # a figure no line fell in: placed before the first line below its top
        if LABEL_TYPES[region.label] == "figure" and k not in owner:
            x0, y0, x1, _ = region.bbox
            below = (i for i, b in enumerate(boxes) if b[1] >= y0 and min(b[2], x1) > max(b[0], x0))
            block = Block(type="figure", bbox=union_box([region.bbox]), confidence=round(region.score, 4))
            keyed.append((next(below, len(lines)) - 0.5, block))
    blocks = [block for _, block in sorted(keyed, key=lambda kb: kb[0])]
    usual = median(b[3] - b[1] for b in boxes) if boxes else 0.0
    blocks = _model_marginals(blocks, modelled, usual)
    return margins([_page_number(_title_level(_heading(block, usual), usual), size) for block in blocks], size, usual)


def _rows_across(owner: list[int | str | None], boxes: list[list[float]], regions: Sequence[Region], page: float):
    """The owners of the lines with each row read across the page (lines one after the other in reading order, side by
    side on one row: a receipt's item and its price, a form's label and its value) in one block, as the page's text
    reads it: the layout model finds a text region over the labels' column alone, or one over each column, or takes a
    lone price for a header, an item for a title. A row whose parts lie in no region, in text regions, in titles, or in
    headers or footers away from the page's top and bottom BAND goes with its first part in no region or in a text
    region (a row without one is left as it is, as is a row with a part in a table, figure, caption or equation, or a
    running header's or page number's)."""
    out = list(owner)
    start = 0
    for end in range(1, len(boxes) + 1):
        if end < len(boxes) and boxes[end][0] > boxes[end - 1][0] and same_row(boxes[end - 1], boxes[end]):
            continue
        row, start = range(start, end), end
        if len({out[i] for i in row}) > 1 and all(_joins(out[i], boxes[i], regions, page) for i in row):
            body = [who for who in (out[i] for i in row) if who is None or LABEL_TYPES[regions[who].label] == "text"]  # type: ignore[index]
            for i in row:
                out[i] = body[0] if body else out[i]
    return out


def _joins(who: int | str | None, box: Sequence[float], regions: Sequence[Region], page: float) -> bool:
    """Whether a line of this owner goes with the rest of its row read across (``_rows_across``)."""
    if who is None or isinstance(who, str):
        return who is None
    kind = LABEL_TYPES[regions[who].label]
    return kind in ("text", "title") or (kind in ("header", "footer") and BAND * page <= box[1] and box[3] <= (1 - BAND) * page)


def _model_marginals(blocks: list[Block], modelled: set[int], usual: float) -> list[Block]:
    """The layout model's headers and footers (``modelled``: ids of the blocks of its regions) that are text: one that
    does not look like a running header or footer (a title, a paragraph: ``looks_marginal``), or has the body's text
    above it (a header) or below it (a footer), judged from the page's edge inwards. The model takes the first lines of
    a sparse page for headers: a report's title, "Dear customer," under a letterhead, a formula's number "(1)"."""
    out = list(blocks)
    for kind in ("header", "footer"):
        ranked = [k for k, block in enumerate(out) if block.type == kind and id(block) in modelled and block.bbox]
        ranked.sort(key=lambda k: out[k].bbox[1] if kind == "header" else -out[k].bbox[3])  # type: ignore[index]
        for k in ranked:
            top, bottom = out[k].bbox[1], out[k].bbox[3]  # type: ignore[index]
            body = [bbox_of(line.box) for block in out if block.type not in MARGINAL for line in block.lines or []]
            beyond = any((b[1] + b[3]) / 2 < top if kind == "header" else (b[1] + b[3]) / 2 > bottom for b in body)
            if beyond or not looks_marginal(out[k], usual):
                out[k] = out[k].model_copy(update={"type": "text"})
    return out


def _numbered_end_rows(
    lines: Sequence[OcrLine], boxes: list[list[float]], regions: Sequence[Region], aside: set[int], page: float
) -> dict[int, str]:
    """The page's first and last rows of lines where they are its running header or footer: a page number at one end of
    the row ("400  BRITISH HUSBANDRY.  [Ch. XIX.", or "62" alone under the text), the only number of a short row set
    off from the body (by END_GAP of its height; a row of several parts, at least not overlapping it), wherever the
    page's margins are (a small book page scanned on a large one); or a last row of short parts across the foot of the
    ``page`` (its height: ``_spread``). Lines without a letter or a digit (a scan's specks) and those ``aside`` do not
    count. Their kinds by index: page_number, header or footer."""
    legible = [i for i, line in enumerate(lines) if i not in aside and any(ch.isalnum() for ch in line.text)]
    if len(legible) < 3:
        return {}
    kinds: dict[int, str] = {}
    for side, ranked in (
        ("header", sorted(legible, key=lambda i: boxes[i][1])),
        ("footer", sorted(legible, key=lambda i: -boxes[i][3])),
    ):
        first = boxes[ranked[0]]
        row = sorted((i for i in ranked if same_row(boxes[i], first)), key=lambda i: boxes[i][0])
        rest = [boxes[i] for i in ranked if i not in row]
        if len(rest) < 2:  # (a page of one row)
            continue
        row_height = max(boxes[i][3] - boxes[i][1] for i in row)
        top, bottom = min(boxes[i][1] for i in row), max(boxes[i][3] for i in row)
        gap = min(b[1] for b in rest) - bottom if side == "header" else top - max(b[3] for b in rest)
        numbers = [i for i in row if is_page_number(lines[i].text)]
        numbered = len(numbers) == 1 and numbers[0] in (row[0], row[-1])
        if any((k := region_of(boxes[i], regions)) is not None and LABEL_TYPES[regions[k].label] == "table" for i in row):
            continue
        if (
            gap >= (END_GAP * row_height if len(row) == 1 else -TOUCH * row_height)
            and (numbered or (side == "footer" and top >= (1 - FOOT) * page and _spread(row, lines, boxes, rest, row_height)))
            and sum(len(lines[i].text.strip()) for i in row) <= MARGIN_CHARS
        ):
            kinds.update({i: "page_number" if i in numbers else side for i in row})
        elif numbered and _cornered(boxes[numbers[0]], [boxes[i] for i in legible if i != numbers[0]], side, page):
            kinds[numbers[0]] = "page_number"  # (a slide's number in its corner, beside logos that crowd the body)
    return kinds


def _cornered(box: Sequence[float], others: list[list[float]], side: str, page: float) -> bool:
    """A page number at one end of the page's first or last row whose row is not set off from the body (a slide's
    footer of logos): one all the same, in the page's top or bottom BAND, with no other line above it (below it, at the
    top) within END_GAP of its height, over its width widened by its height on each side."""
    height = box[3] - box[1]
    if not (box[3] <= BAND * page if side == "header" else box[1] >= (1 - BAND) * page):
        return False
    near = [b for b in others if min(b[2], box[2] + height) > max(b[0], box[0] - height)]
    if side == "header":
        return all(b[1] >= box[3] + END_GAP * height for b in near)
    return all(b[3] <= box[1] - END_GAP * height for b in near)


def _spread(row: list[int], lines: Sequence[OcrLine], boxes: list[list[float]], rest: list[list[float]], height: float) -> bool:
    """A last row of SPREAD parts or more, each of a few words with letters, from the body's left edge to its right
    ("Revision: 2.4 ... P/N 119-036 ... 10 June 2019"; not a table's last row of figures): a footer."""
    left, right = min(b[0] for b in rest), max(b[2] for b in rest)
    ends = boxes[row[0]][0] <= left + 2 * height and boxes[row[-1]][2] >= right - 2 * height
    short = all(len(lines[i].text.split()) <= 4 and any(ch.isalpha() for ch in lines[i].text) for i in row)
    return len(row) >= SPREAD and ends and short


def _turned_in_margin(lines: Sequence[OcrLine], boxes: list[list[float]], size: tuple[int, int]) -> dict[int, str]:
    """Lines of text turned up or down the page in its left or right margin (an arXiv paper's stamp, "Downloaded
    from ... at ..."): marginal, as footers."""
    width = size[0] or max((b[2] for b in boxes), default=0.0)
    return {
        i: "footer"
        for i, b in enumerate(boxes)
        if b[3] - b[1] > TURNED * max(b[2] - b[0], 1.0)
        and len(lines[i].text.strip()) >= 8
        and (b[2] <= SIDE * width or b[0] >= (1 - SIDE) * width)
    }


def _heading(block: Block, usual: float) -> Block:
    """A text block of one or two short lines clearly taller than the page's usual line is a title (the layout
    model missed it, or there was none: the text layer, a page of few lines)."""
    if block.type != "text" or not block.lines or len(block.lines) > 2 or usual <= 0:
        return block
    text = " ".join(block.text.split())
    tall = all(bbox_of(line.box)[3] - bbox_of(line.box)[1] > HEADING_RATIO * usual for line in block.lines)
    if tall and len(text) <= 80 and not text.endswith((".", ",", ";", ":")):
        return block.model_copy(update={"type": "title"})
    return block


def _title_level(block: Block, usual: float) -> Block:
    """A title's heading level: 1 when its lines are more than TITLE_RATIO of the page's usual line, else 2."""
    if block.type != "title" or not block.lines or usual <= 0:
        return block
    height = median(bbox_of(line.box)[3] - bbox_of(line.box)[1] for line in block.lines)
    return block.model_copy(update={"level": 1 if height > TITLE_RATIO * usual else 2})


def _page_number(block: Block, size: tuple[int, int]) -> Block:
    """A header, footer or short block in the page's top or bottom band that reads as a page number becomes one."""
    if block.type not in ("text", "header", "footer") or block.bbox is None or not is_page_number(block.text):
        return block
    height = size[1] or (block.bbox[3] * 2)
    in_band = block.bbox[3] <= BAND * height or block.bbox[1] >= (1 - BAND) * height
    if block.type in ("header", "footer") or in_band:
        return block.model_copy(update={"type": "page_number"})
    return block
