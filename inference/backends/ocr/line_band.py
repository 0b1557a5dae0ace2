"""A line crop cleared of its neighbours' ink.

The detector's boxes are grown around each line's core (DB's unclip), by about a line's height on small print: in a
table of small type, or any tight leading, a box takes in the foot of the line above and the top of the line below.
Both readers then read two lines' ink as one (Tesseract unsure of every word, RapidOCR dropping letters: 'Measre n
bt h n strument'). Ink that the crop's top or bottom edge cuts through, parted from the line's own ink by blank
rows, is a neighbour's: those rows are cut off the crop before the line is read (the blank rows stay).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .rapid_geometry import crop

MIN_CONTRAST = 40  # grey levels between ink and paper: less, and the crop is left as it is
ROW_INK = 0.003  # a row holds ink when at least this share of its pixels (and 2) are ink
PARTING = 0.2  # blank rows between the line's ink and a neighbour's, in the line's ink height (at least 2 rows)


def grey_levels(grey: np.ndarray, shares: tuple[float, ...]) -> list[int]:
    """The grey levels below which these shares of a grey crop lie (every other pixel each way counted)."""
    sample = grey[::2, ::2]
    share = np.cumsum(np.bincount(sample.ravel(), minlength=256)) / max(1, sample.size)
    return [int(level) for level in np.searchsorted(share, shares)]


def print_lighter(low: int, paper: int, high: int) -> bool:
    """Whether a crop's print is lighter than its paper: its median grey (``paper``) darker than halfway between its
    dark and light greys (``low``, ``high``)."""
    return paper < (low + high) / 2


def ink(crop: np.ndarray) -> np.ndarray | None:
    """Which pixels of a line crop are ink (dark on light or light on dark: ``print_lighter``; the threshold halfway
    between the 5% and 95% grey levels); None when it has too little contrast to tell."""
    grey = np.asarray(Image.fromarray(crop).convert("L"))
    low, paper, high = grey_levels(grey, (0.05, 0.5, 0.95))
    if high - low < MIN_CONTRAST:
        return None
    middle = (low + high) / 2
    return grey > middle if print_lighter(low, paper, high) else grey < middle


def ink_rows(crop: np.ndarray) -> np.ndarray | None:
    """How many ink pixels each row of the crop holds; None when it has too little contrast to tell."""
    mask = ink(crop)
    return None if mask is None else np.count_nonzero(mask, axis=1)


def bands(rows: np.ndarray, width: int) -> list[tuple[int, int]]:
    """The runs of rows holding ink, as (first, past the last)."""
    inked = rows >= max(2, ROW_INK * width)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], inked.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def own_rows(crop: np.ndarray) -> tuple[int, int]:
    """The rows (first, past the last) kept: all but a neighbour's ink that the crop's top or bottom edge cuts through
    (the bands from that edge inwards while the gaps between them are narrow), when blank rows part it from the line's
    own (the band at the crop's middle). The line's accents, dots and descenders stay, and so do the blank rows."""
    height = crop.shape[0]
    if height < 4 or crop.shape[1] < 4:  # (nothing to part)
        return 0, height
    rows = ink_rows(crop)
    if rows is None:
        return 0, height
    runs = bands(rows, crop.shape[1])
    if len(runs) < 2:
        return 0, height
    middle = height / 2  # (the detector grows a box evenly around its line: the line's ink is the band at its middle)
    k = min(range(len(runs)), key=lambda i: max(runs[i][0] - middle, middle - runs[i][1], 0.0))
    parting = max(2.0, PARTING * (runs[k][1] - runs[k][0]))
    top = _cut_edge(runs[: k + 1], parting) if runs[0][0] == 0 else 0
    flipped = [(height - end, height - first) for first, end in reversed(runs[k:])]
    bottom = height - _cut_edge(flipped, parting) if runs[-1][1] == height else height
    return top, bottom


def _cut_edge(runs: list[tuple[int, int]], parting: float) -> int:
    """How many rows to cut at the edge where ``runs`` start (the first band touches it, the last is the line's): the
    bands joined to the first by narrow gaps, when a wide one parts them from the line; else none."""
    end = runs[0][1]
    for first, last in runs[1:]:
        if first - end >= parting:
            return end
        end = last
    return 0


def own_line(crop: np.ndarray) -> np.ndarray:
    """The crop without its neighbours' ink (see the module's doc): the rows above and below the line's own cut off."""
    top, bottom = own_rows(crop)
    return crop if top == 0 and bottom == crop.shape[0] else np.ascontiguousarray(crop[top:bottom])


def line_crop(pixels: np.ndarray, box: list[list[float]]) -> np.ndarray:
    """A detected line's crop out of the page's pixels, upright and without its neighbours' ink."""
    return own_line(np.asarray(crop(pixels, box)))


def image_line_crop(image: Image.Image, box: list[list[float]]) -> np.ndarray:
    """``line_crop`` out of a PIL image, only the box's part of it made pixels (a whole page's array costs ~10 ms); the
    same crop, within a grey level (the warp's arithmetic from another origin)."""
    xs, ys = [x for x, _ in box], [y for _, y in box]  # (with a margin: the rectifying warp samples around the box)
    left, top = max(0, int(min(xs)) - 4), max(0, int(min(ys)) - 4)
    right, bottom = min(image.width, int(max(xs)) + 5), min(image.height, int(max(ys)) + 5)
    part = np.asarray(image.crop((left, top, max(right, left + 1), max(bottom, top + 1))))
    return line_crop(part, [[x - left, y - top] for x, y in box])
