"""Tables on the CPU, without a model: the structure from the page's rules and the gaps between its words, the cells
filled with an OCR engine's lines by position.

    table = read_table(image, bbox, lines)        # a region the layout called a table (bbox None: the whole image)
    found = find_tables(image, lines)             # ruled tables found without a layout model: [(bbox, Table)]
    lines = strip_rule_artefacts(lines)           # no "|" left in the text by ruled lines

Ruled tables (a full grid, or rules between rows only): rows and columns at the rules; a missing rule between two
grid cells makes one spanning cell. Unruled tables: columns where every row leaves a gap, rows from the lines.
A line read across several cells is cut at the rules and wide gaps of its ink (``table_pieces``); the grid and the
spans are in ``table_grid``, the image side (rules by OpenCV morphology) in ``table_image``."""

from __future__ import annotations

from statistics import median

import numpy as np
from PIL import Image

from ...blocks import OcrLine, Table, bbox_of
from .table_grid import assemble, build_edges, cluster, ruled_columns
from .table_image import Rule, binarise, erase_rules, find_rules, grey
from .table_pieces import Piece, split_line, strip_rule_artefacts

__all__ = ["erase_rules", "find_tables", "read_table", "strip_rule_artefacts"]

PAD = 4  # px around a region given as a table's box (a rule on its edge stays inside)
COLUMN_WIDTH = 10  # line heights: the widest column of a statement ruled column by column
MAX_CELL_WORDS = 5  # found without a layout model, a table's cells hold no more words than this (the median cell)
FRAME = 0.8  # vertical rules this share of the height of them all long make a frame (shorter: the sides of shaded cells)


def read_table(image: Image.Image | np.ndarray, bbox: list[float] | None, lines: list[OcrLine]) -> Table | None:
    """The table in ``bbox`` ([x0, y0, x1, y1] in the image's pixels; None: the whole image), its cells filled with
    the ``lines`` (an engine's reading of the page, in the same pixels) that lie inside it; None when the region
    holds no table of at least two columns."""
    page = grey(image)
    height, width = page.shape
    x0, y0, x1, y1 = (0.0, 0.0, float(width), float(height)) if bbox is None else bbox
    left, top = int(max(0, x0 - PAD)), int(max(0, y0 - PAD))
    right, bottom = int(min(width, x1 + PAD)), int(min(height, y1 + PAD))
    if right - left < 8 or bottom - top < 8:
        return None
    inside = [line for line in lines if _centre_in(line, left, top, right, bottom)]
    if not inside:
        return None
    ink = binarise(page[top:bottom, left:right])
    rules = find_rules(ink, _rule_length(inside))
    return _read(ink, rules, inside, (left, top))


def in_table(line: OcrLine, bbox: list[float]) -> bool:
    """Whether ``read_table`` with this box puts the line in the table's cells (its centre in the box, PAD around)."""
    return _centre_in(line, bbox[0] - PAD, bbox[1] - PAD, bbox[2] + PAD, bbox[3] + PAD)


def _centre_in(line: OcrLine, left: float, top: float, right: float, bottom: float) -> bool:
    x0, y0, x1, y1 = bbox_of(line.box)
    return left <= (x0 + x1) / 2 <= right and top <= (y0 + y1) / 2 <= bottom


def _rule_length(lines: list[OcrLine]) -> float:
    """The shortest rule counted: one and a half line heights (longer than any stroke of a letter)."""
    heights = [bbox_of(line.box)[3] - bbox_of(line.box)[1] for line in lines]
    return max(24.0, 1.5 * median(heights)) if heights else 24.0


def _read(ink: np.ndarray, rules, lines: list[OcrLine], origin: tuple[float, float]) -> Table | None:
    text_ink = ink.copy()
    text_ink[rules.mask > 0] = 0
    extent = (min(bbox_of(line.box)[1] for line in lines) - origin[1], max(bbox_of(line.box)[3] for line in lines) - origin[1])
    cuts = [sum(r.at for r in group) / len(group) for group in ruled_columns(rules.vertical, extent)]
    pieces: list[Piece] = [piece for line in lines for piece in split_line(line, text_ink, cuts, origin)]
    frame = _frame(rules.vertical)
    if frame is not None:  # a ruled frame: text above or below its vertical rules is not the table's (a caption, a note)
        pieces = [piece for piece in pieces if frame[0] - PAD <= piece.cy <= frame[1] + PAD]
    if len(pieces) < 2:
        return None
    height, width = ink.shape
    row_edges, col_edges = build_edges(pieces, rules.horizontal, rules.vertical, (width, height))
    table = assemble(pieces, row_edges, col_edges, rules.horizontal, rules.vertical, origin)
    if table is None or len(table.rows) < 2:
        return None
    return table


def _frame(vertical: list[Rule]) -> tuple[float, float] | None:
    """Where a ruled frame runs (top, bottom): two vertical rules or more that run about the height of them all (FRAME of
    it: a grid's sides, its inner rules); None for the sides of shaded cells, each a few rows long (a table's rows
    above and below them are still its own)."""
    if not vertical:
        return None
    start, end = min(r.start for r in vertical), max(r.end for r in vertical)
    whole = [r for r in vertical if r.length >= FRAME * (end - start)]
    if len(cluster(whole)) < 2:
        return None
    return min(r.start for r in whole), max(r.end for r in whole)


def find_tables(image: Image.Image | np.ndarray, lines: list[OcrLine]) -> list[tuple[list[float], Table]]:
    """Ruled tables found on a page without a layout model, top to bottom: a grid of rules (two or more each way),
    or three or more horizontal rules of one length stacked close (rules between rows), with the row of text just
    above the first such rule (a header row ruled only below)."""
    page = grey(image)
    ink = binarise(page)
    rules = find_rules(ink, _rule_length(lines) if lines else None)
    found = []
    for x0, y0, x1, y1 in _table_regions(rules, lines):
        table = read_table(page, [x0, y0, x1, y1], lines)
        if table is not None and _tabular(table):
            found.append(([float(x0), float(y0), float(x1), float(y1)], table))
    return found


def _tabular(table: Table) -> bool:
    """Cells of a few words, as a table's are (not columns of running text between rules)."""
    words = sorted(len(cell.text.split()) for row in table.rows for cell in row if cell.text.strip())
    return bool(words) and words[len(words) // 2] <= MAX_CELL_WORDS


def _table_regions(rules, lines: list[OcrLine]) -> list[tuple[float, float, float, float]]:
    """Boxes of the rule structures that look like tables."""
    heights = [bbox_of(line.box)[3] - bbox_of(line.box)[1] for line in lines]
    line_height = median(heights) if heights else 30.0
    stacks: list[list[Rule]] = []
    for rule in sorted(rules.horizontal, key=lambda r: r.at):
        for stack in stacks:
            last = stack[-1]
            same = abs(rule.start - last.start) <= 2 * line_height and abs(rule.end - last.end) <= 2 * line_height
            if same and rule.at - last.at <= 15 * line_height:
                stack.append(rule)
                break
        else:
            stacks.append([rule])
    regions = []
    for group in _side_by_side(stacks, line_height):
        stack = sorted((rule for column in group for rule in column), key=lambda r: r.at)
        left, right = min(r.start for r in stack), max(r.end for r in stack)
        top, bottom = stack[0].at, stack[-1].at
        crossing = [v for v in rules.vertical if left - 8 <= v.at <= right + 8 and v.covers(top, bottom, 0.3)]
        if max(map(len, group)) < 3 and not (len(stack) >= 2 and len(crossing) >= 2):
            continue
        if not crossing:  # rules under the rows only: the header row lies above the first rule
            top = _header_top(group[0], lines, left, right, line_height)
        labels = _labels_left(lines, left, right, top, bottom, line_height) if not crossing else left
        if not crossing and (len(group) > 1 or labels < left):
            # columns ruled each on its own (a statement's; in a small rendering their rules run together, and only the
            # row labels left of them tell it): headers above, labels left
            top = min(top, _headers_above(lines, left, right, stack[0].at, line_height))
            left = _labels_left(lines, left, right, top, bottom, line_height)
        regions.append((left, top, right, bottom))
    return _distinct(regions)


def _side_by_side(stacks: list[list[Rule]], line_height: float) -> list[list[list[Rule]]]:
    """The stacks of rules grouped with those beside them at the same heights, left to right: the columns of a statement,
    each ruled on its own under its header and above its total (a group of one: a table's rules stacked alone)."""
    groups = [[stack] for stack in sorted(stacks, key=lambda s: min(r.start for r in s))]
    joined = True
    while joined:
        joined = False
        for a in groups:
            b = next((g for g in groups if g is not a and _beside(a[-1], g[0], line_height)), None)
            if b is not None:
                a.extend(b)
                groups.remove(b)
                joined = True
                break
    return groups


def _beside(left: list[Rule], right: list[Rule], line_height: float) -> bool:
    """Two stacks of rules a column gap apart, at least two of their rules (half the shorter stack's) at one height, each
    as narrow as a column of figures (not the rules between sections of a page's two columns of text)."""
    gap = min(r.start for r in right) - max(r.end for r in left)
    narrow = all(r.length <= COLUMN_WIDTH * line_height for r in [*left, *right])
    level = sum(any(abs(a.at - b.at) <= 0.5 * line_height for b in right) for a in left)
    return narrow and 0 <= gap <= 3 * line_height and level >= 2 and level >= 0.5 * min(len(left), len(right))


def _headers_above(lines: list[OcrLine], left: float, right: float, first: float, line_height: float) -> float:
    """The top of the rows of text just above a statement's first rules (its columns' headers, and one spanning them:
    "Year Ended"), up to three, while none reaches past the columns (running text above the table does)."""
    boxes = [bbox_of(line.box) for line in lines]
    top = first
    for _ in range(3):
        row = [b for b in boxes if b[2] > left and b[0] < right and top - 1.5 * line_height <= b[3] <= top + 0.3 * line_height]
        if not row or any(b[0] < left - line_height or b[2] > right + line_height for b in row):
            break
        top = min(b[1] for b in row) - 2
    return top


def _labels_left(lines: list[OcrLine], left: float, right: float, top: float, bottom: float, line_height: float) -> float:
    """The left edge of a statement with its row labels: the short lines left of its columns level with their rows
    (when most of the lines beside the columns are), else the columns' own."""
    boxes = [bbox_of(line.box) for line in lines]
    rows = [(b[1] + b[3]) / 2 for b in boxes if b[0] >= left - line_height and b[2] <= right + line_height]
    beside = [(line, b) for line, b in zip(lines, boxes, strict=True) if b[2] < left and top <= (b[1] + b[3]) / 2 <= bottom]
    level = [(line, b) for line, b in beside if any(abs((b[1] + b[3]) / 2 - y) <= 0.3 * line_height for y in rows)]
    if len(level) < 2 or len(level) < 0.75 * len(beside) or median(len(line.text.split()) for line, _ in level) > MAX_CELL_WORDS:
        return left
    return min(b[0] for _, b in level) - 2


def _header_top(stack: list[Rule], lines: list[OcrLine], left: float, right: float, line_height: float) -> float:
    """The top of a table ruled under each row: its first rule, or the top of the row of text above it when every
    band between the rules holds one row at the same height above its rule (that row is then the header's)."""
    boxes = [bbox_of(line.box) for line in lines]
    boxes = [box for box in boxes if box[0] >= left - line_height and box[2] <= right + line_height]
    centres = [(box[1] + box[3]) / 2 for box in boxes]
    offsets, single = [], 0
    for upper, lower in zip(stack, stack[1:], strict=False):
        inside = sorted(y for y in centres if upper.at < y < lower.at)
        rows = [y for i, y in enumerate(inside) if i == 0 or y - inside[i - 1] > 0.5 * line_height]
        if len(rows) == 1:
            single += 1
            offsets.append(lower.at - rows[0])
    top = stack[0].at
    if not offsets or single < 0.75 * (len(stack) - 1):
        return top
    offset = median(offsets)
    above = [box[1] for box, y in zip(boxes, centres, strict=True) if abs(top - offset - y) <= 0.3 * line_height]
    return min(above) - 2 if above else top


def _distinct(regions: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
    """Regions without those inside another (a table's inner rules stacked on their own)."""
    kept = []
    for region in sorted(regions, key=lambda r: -(r[2] - r[0]) * (r[3] - r[1])):
        if not any(
            k[0] - 8 <= region[0] and k[1] - 8 <= region[1] and region[2] <= k[2] + 8 and region[3] <= k[3] + 8 for k in kept
        ):
            kept.append(region)
    return sorted(kept, key=lambda r: (r[1], r[0]))
