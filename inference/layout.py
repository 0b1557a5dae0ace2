"""Reading order for detected text boxes: rows top to bottom, columns left before right.

Boxes are quadrilaterals in image pixels. The page's skew (the median angle of
the wide boxes) is removed first, so slightly rotated text still forms rows.
Rows are boxes whose vertical extents overlap; consecutive rows that share a
vertical gutter form a band, and a band whose two sides both hold running text
(not a receipt's item/price columns) is read column by column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median


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


def skew_angle(quads: list[list[list[float]]]) -> float:
    """Median angle (radians) of the top edges of boxes wider than tall; 0 when there are none."""
    angles = []
    for quad in quads:
        (x0, y0), (x1, y1) = quad[0], quad[1]
        width = math.hypot(x1 - x0, y1 - y0)
        height = math.hypot(quad[3][0] - x0, quad[3][1] - y0)
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


def _free(row: list[Box], lo: float, hi: float) -> list[tuple[float, float]]:
    """The x-intervals of [lo, hi] that no box of the row covers."""
    spans, x = [], lo
    for box in row:
        if box.x0 > x:
            spans.append((x, box.x0))
        x = max(x, box.x1)
    if hi > x:
        spans.append((x, hi))
    return spans


def _intersect(a: list[tuple[float, float]], b: list[tuple[float, float]], min_width: float) -> list[tuple[float, float]]:
    out = []
    for a0, a1 in a:
        for b0, b1 in b:
            lo, hi = max(a0, b0), min(a1, b1)
            if hi - lo >= min_width:
                out.append((lo, hi))
    return out


def _is_text_column(boxes: list[Box], band_width: float) -> bool:
    """Running text: wide enough, several words per line, mostly letters (a receipt's item and price
    columns, or label and value columns, are not)."""
    width = max(b.x1 for b in boxes) - min(b.x0 for b in boxes)
    words = sum(len(b.text.split()) for b in boxes) / len(boxes)
    visible = [ch for b in boxes for ch in b.text if not ch.isspace()]
    letters = sum(ch.isalpha() for ch in visible)
    return width >= 0.25 * band_width and words >= 2.5 and letters >= 0.75 * max(1, len(visible))


def _split_columns(rows: list[list[Box]], gutters: list[tuple[float, float]]) -> list[list[Box]] | None:
    """Left and right columns of a band, or None when it is not running text in two columns."""
    if len(rows) < 2 or not gutters:
        return None
    lo, hi = max(gutters, key=lambda g: g[1] - g[0])
    middle = (lo + hi) / 2
    both_sides = sum(1 for row in rows if row[0].x1 <= middle <= row[-1].x0)
    if both_sides < 2:
        return None
    boxes = [b for row in rows for b in row]
    left = [b for b in boxes if (b.x0 + b.x1) / 2 < middle]
    right = [b for b in boxes if (b.x0 + b.x1) / 2 >= middle]
    band_width = max(b.x1 for b in boxes) - min(b.x0 for b in boxes)
    if _is_text_column(left, band_width) and _is_text_column(right, band_width):
        return [left, right]
    return None


def reading_order(boxes: list[Box]) -> list[list[Box]]:
    """Rows of boxes in reading order: bands top to bottom; two-column bands column by column."""
    if not boxes:
        return []
    rows = rows_of(boxes)
    lo, hi = min(b.x0 for b in boxes), max(b.x1 for b in boxes)
    min_gap = 1.5 * median(b.height for b in boxes)
    ordered: list[list[Box]] = []
    band: list[list[Box]] = []
    gutters: list[tuple[float, float]] | None = None

    def close() -> None:
        columns = _split_columns(band, gutters or [])
        if columns is None:
            ordered.extend(band)
        else:
            for column in columns:
                ordered.extend(reading_order(column))

    for row in rows:
        free = [g for g in _free(row, lo, hi) if g[0] > lo and g[1] < hi]  # gaps inside the page, not margins
        if len(row) == 1:
            free = [(lo, row[0].x0), (row[0].x1, hi)]
        merged = free if gutters is None else _intersect(gutters, free, min_gap)
        if band and not merged:
            close()
            band, gutters = [row], free
        else:
            band.append(row)
            gutters = merged
    close()
    return ordered
