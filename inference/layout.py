"""Reading order for detected text boxes: rows top to bottom, columns left before right.

Boxes are quadrilaterals in image pixels. The page's skew (the median angle of
the wide boxes) is removed first, so slightly rotated text still forms rows.
Rows are boxes whose vertical extents overlap. A gutter (an x-interval few boxes
cross) divides a page into columns: the stretches between the lines that span it
(titles, headers, footers) are read column by column when both sides hold running
text (a grid of cards numbered row by row: row by row, card by card), row by row
otherwise (a receipt's item and price columns, a table). Where no gutter runs the
page's height (one article's columns end and the next's begin), the bands between
wide gaps across the page are ordered one after another, each alone.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from statistics import median

BAND_GAP = 1.5  # a gap across the page this many line heights tall ends a band that is read alone
GUTTER = 0.2  # the narrowest gutter, in line heights: an engine's boxes reach into it (two columns 1 em apart)
CARD_GAP = 2.0  # a gap this many line heights tall across two columns, under which both start again level...
LEVEL = 0.5  # ...(their first lines this many line heights apart at most), ends a row of cards
_NUMBERED = re.compile(r"\s*(\d{1,3})[.)]\s")  # a card's heading: "2. Pythagorean Theorem"


@dataclass
class Box:
    index: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


def quad_size(quad: list[list[float]]) -> tuple[float, float]:
    """A line's quadrilateral's (width, height): its top edge's length along the text, its left edge's across."""
    (x0, y0), (x1, y1), (x3, y3) = quad[0], quad[1], quad[3]
    return math.hypot(x1 - x0, y1 - y0), math.hypot(x3 - x0, y3 - y0)


def skew_angle(quads: list[list[list[float]]]) -> float:
    """Median angle (radians) of the top edges of boxes wider than tall; 0 when there are none."""
    angles = []
    for quad in quads:
        (x0, y0), (x1, y1) = quad[0], quad[1]
        width, height = quad_size(quad)
        if width > 2 * height and x1 > x0:
            angles.append(math.atan2(y1 - y0, x1 - x0))
    return median(angles) if angles else 0.0


def upright_boxes(quads: list[list[list[float]]], texts: list[str]) -> list[Box]:
    """Axis-aligned boxes in the frame of the deskewed page."""
    angle = skew_angle(quads)
    cos, sin = math.cos(-angle), math.sin(-angle)
    boxes = []
    for i, (quad, text) in enumerate(zip(quads, texts, strict=True)):
        xs = [x * cos - y * sin for x, y in quad]
        ys = [x * sin + y * cos for x, y in quad]
        boxes.append(Box(i, min(xs), min(ys), max(xs), max(ys), text))
    return boxes


def rows_of(boxes: list[Box]) -> list[list[Box]]:
    """Group boxes into rows (vertical overlap of at least half the smaller height), each sorted left to right."""
    rows: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: b.cy):
        for row in reversed(rows[-3:]):
            top, bottom = min(b.y0 for b in row), max(b.y1 for b in row)
            overlap = min(bottom, box.y1) - max(top, box.y0)
            if overlap >= 0.5 * min(box.height, median(b.height for b in row)):
                row.append(box)
                break
        else:
            rows.append([box])
    return [sorted(row, key=lambda b: b.x0) for row in rows]


def _is_text_column(boxes: list[Box], band_width: float) -> bool:
    """Running text: wide enough, several words per line, mostly letters (a receipt's item and price
    columns, or a table's label and value columns, are not)."""
    width = max(b.x1 for b in boxes) - min(b.x0 for b in boxes)
    words = sum(len(b.text.split()) for b in boxes) / len(boxes)
    visible = [ch for b in boxes for ch in b.text if not ch.isspace()]
    letters = sum(ch.isalpha() for ch in visible)
    return width >= 0.2 * band_width and words >= 2.5 and letters >= 0.75 * max(1, len(visible))


def find_gutter(boxes: list[Box]) -> tuple[float, float] | None:
    """The x-interval between columns: at least GUTTER of a line-height wide, inside the text's extent, crossed by few
    boxes (the headers, titles and footers that span the columns) and with several boxes wholly on each side.
    Of several, the one crossed least, then the widest. None when there is none. Columns are whole pixels from the
    leftmost box; how many boxes cross each is kept as runs of columns crossed alike (the boxes' ends found in order),
    so the time goes with the boxes, not the page's width (a PDF's text drawn 10^8 px wide took minutes)."""
    if len(boxes) < 4:
        return None
    lo = min(b.x0 for b in boxes)
    min_width = GUTTER * median(b.height for b in boxes)
    allowed = max(3, len(boxes) // 10)
    steps: dict[int, int] = {}  # column -> boxes starting there, less those that ended just before it
    for b in boxes:
        steps[int(b.x0 - lo)] = steps.get(int(b.x0 - lo), 0) + 1
        steps[int(b.x1 - lo) + 1] = steps.get(int(b.x1 - lo) + 1, 0) - 1
    runs: list[tuple[int, int, int]] = []  # (first column, the column after the last, boxes crossing them)
    crossing, edges = 0, sorted(steps)
    for first, after in zip(edges, edges[1:], strict=False):
        crossing += steps[first]
        runs.append((first, after, crossing))
    runs.append((edges[-1], edges[-1] + 1, 0))  # (the column after the last box ends)
    ends, starts = sorted(b.x1 for b in boxes), sorted(b.x0 for b in boxes)
    for limit in range(allowed + 1):  # the gutter crossed least; of those, the widest
        best: tuple[float, float] | None = None
        i = 0
        while i < len(runs):
            if runs[i][2] > limit:
                i += 1
                continue
            first = runs[i][0]
            while i < len(runs) and runs[i][2] <= limit:
                i += 1
            g0, g1 = lo + first, lo + runs[i - 1][1] - 1
            if (
                g1 - g0 >= min_width
                and (best is None or g1 - g0 > best[1] - best[0])
                and bisect_right(ends, g0 + SIDE_SLACK) >= 2  # boxes wholly left of it (_beside)
                and len(starts) - bisect_left(starts, g1 - SIDE_SLACK) >= 2  # and wholly right
            ):
                best = (g0, g1)
        if best is not None:
            return best
    return None


SIDE_SLACK = 1.0  # px: a box ending this far into a gutter (whole pixels from the leftmost box) is still beside it


def _beside(boxes: list[Box], gutter: tuple[float, float]) -> tuple[list[Box], list[Box]]:
    """The boxes wholly left of the gutter, and wholly right of it (as :func:`find_gutter` counts them: two of each
    at least; the stretch where both sides hold text was found on fewer, and raised on a PDF whose boxes ended
    within a pixel of it)."""
    g0, g1 = gutter
    return [b for b in boxes if b.x1 <= g0 + SIDE_SLACK], [b for b in boxes if b.x0 >= g1 - SIDE_SLACK]


def _sections(boxes: list[Box], gutter: tuple[float, float]) -> list[tuple[bool, list[Box]]]:
    """The boxes top to bottom as runs of (spans the gutter, boxes): the spanning ones in place, the others
    gathered between them. Boxes above or below the stretch where both sides hold text (a centred footer
    under the middle one of three columns) count as spanning."""
    g0, g1 = gutter
    reach = 0.5 * median(b.height for b in boxes)  # a line that pokes into the gutter (a scan's tilt) does not span
    left, right = _beside(boxes, gutter)
    top = max(min(b.y0 for b in left), min(b.y0 for b in right))
    bottom = min(max(b.y1 for b in left), max(b.y1 for b in right))
    runs: list[tuple[bool, list[Box]]] = []
    for box in sorted(boxes, key=lambda b: b.cy):
        spans = (box.x0 < g0 - reach and box.x1 > g1 + reach) or box.y1 < top or box.y0 > bottom
        if runs and runs[-1][0] == spans:
            runs[-1][1].append(box)
        else:
            runs.append((spans, [box]))
    return runs


def bands(boxes: list[Box], gap: float = BAND_GAP) -> list[list[Box]]:
    """The boxes as bands top to bottom, split where nothing lies across the page for ``gap`` line heights (the
    end of one article's columns and the start of the next, laid out differently)."""
    usual = median(b.height for b in boxes)
    out: list[list[Box]] = []
    bottom = -math.inf
    for box in sorted(boxes, key=lambda b: b.y0):
        if not out or box.y0 - bottom >= gap * usual:
            out.append([])
        out[-1].append(box)
        bottom = max(bottom, box.y1)
    return out


def _overlap(row: list[Box], box: Box) -> float:
    return min(max(b.y1 for b in row), box.y1) - max(min(b.y0 for b in row), box.y0)


def reading_order(boxes: list[Box]) -> list[list[Box]]:
    """Rows of boxes in reading order. Where a gutter divides the text into columns of running text, each
    stretch between spanning lines (title, header, footer) is read column by column, left to right, each
    column ordered the same way (so three columns work too); where no gutter runs the page's height, each band
    of the page (``bands``) is ordered alone; elsewhere (tables, receipts) row by row. Boxes without a letter or a
    digit (a rule of dots, a bullet) take no part in finding columns: a bullet joins the row beside it, a rule
    stands before the first row below it."""
    if not boxes:
        return []
    marks = [b for b in boxes if not any(ch.isalnum() for ch in b.text)]
    if marks and len(marks) < len(boxes):  # rules drawn with dots or dashes, bullets: put back where they are
        rows = reading_order([b for b in boxes if b not in marks])
        for mark in sorted(marks, key=lambda b: b.y0):
            short = len(mark.text.strip()) <= 2  # a bullet, a dash; a longer one is a rule, between rows
            beside = next((row for row in rows if _overlap(row, mark) > 0.5 * mark.height), None) if short else None
            if beside is not None:
                beside.append(mark)
                beside.sort(key=lambda b: b.x0)
            else:
                rows.insert(next((i for i, row in enumerate(rows) if min(b.y0 for b in row) >= mark.y1), len(rows)), [mark])
        return rows
    gutter = find_gutter(boxes)
    if gutter is None:
        parts = bands(boxes)
        if len(parts) > 1:
            return [row for part in parts for row in reading_order(part)]
        return rows_of(boxes)
    width = max(b.x1 for b in boxes) - min(b.x0 for b in boxes)
    middle = (gutter[0] + gutter[1]) / 2
    ordered: list[list[Box]] = []
    for spans, run in _sections(boxes, gutter):
        left = [b for b in run if b.x1 <= middle]
        right = [b for b in run if b.x1 > middle]
        if not spans and left and right and _is_text_column(left, width) and _is_text_column(right, width):
            cards = card_rows(left, right)
            if not _numbered_by_rows(cards):
                cards = [(left, right)]
            for row in cards:
                ordered += [r for side in row for r in reading_order(side)]
        else:
            ordered += rows_of(run)
    return ordered


def card_rows(left: list[Box], right: list[Box]) -> list[tuple[list[Box], list[Box]]]:
    """Two columns as rows of cards (left side, right side): the bands of both (``bands``, split at gaps of CARD_GAP
    line heights), a band joining the row above unless both columns start it level (LEVEL) and both hold the row
    above; one row, the columns whole, where no band does."""
    usual, on_left = median(b.height for b in left + right), {id(b) for b in left}
    rows: list[tuple[list[Box], list[Box]]] = []
    for band in bands(left + right, CARD_GAP):
        pair = ([b for b in band if id(b) in on_left], [b for b in band if id(b) not in on_left])
        level = all(pair) and abs(min(b.y0 for b in pair[0]) - min(b.y0 for b in pair[1])) <= LEVEL * usual
        if rows and not (level and all(rows[-1])):
            rows[-1] = (rows[-1][0] + pair[0], rows[-1][1] + pair[1])
        else:
            rows.append(pair)
    return rows


def _numbered_by_rows(cards: list[tuple[list[Box], list[Box]]]) -> bool:
    """Whether a grid of cards is numbered row by row: each card's first line starts with its number ("2. Pythagorean
    Theorem"), and the numbers go up read row by row but not column by column (a grid numbered down its columns, or
    not numbered, is read column by column, as a page's columns are)."""
    if len(cards) < 2 or not all(left and right for left, right in cards):
        return False
    numbers = []
    for row in cards:
        for side in row:
            found = _NUMBERED.match(min(side, key=lambda b: (b.y0, b.x0)).text)
            if found is None:
                return False
            numbers.append(int(found.group(1)))
    by_rows, by_columns = numbers, numbers[0::2] + numbers[1::2]
    return by_rows == sorted(set(by_rows)) and by_columns != sorted(set(by_columns))
