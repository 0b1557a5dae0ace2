"""The image side of table reading: a page's ruled lines (OpenCV morphology, the approach of img2table, MIT) and
the ink gaps inside a line of text (where a line read whole crosses the cells of a table).

A rule is a long thin run of dark pixels: opening the binarised page with a long flat (or tall) kernel keeps only
those. Pages scanned a degree off straight still give rules: the kernel is short enough to fit each step of a
slanted rule, and the steps are joined again before they are measured."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

MIN_KERNEL = 30  # px: the shortest opening kernel (longer on big pages: a 30th of the page's shorter side)
JOIN = 9  # px: steps of a slanted or broken rule this close are one rule
MAX_THICKNESS = 4  # px: a rule is no thicker (a long one may be: a 25th of its length)


@dataclass(frozen=True)
class Rule:
    """A ruled line: ``at`` its position across (y of a horizontal rule, x of a vertical one), ``start``-``end``
    its extent along."""

    at: float
    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start

    def covers(self, start: float, end: float, share: float = 0.5) -> bool:
        """Whether it runs along at least ``share`` of [start, end]."""
        overlap = min(self.end, end) - max(self.start, start)
        return overlap >= share * max(end - start, 1.0)


@dataclass
class Rules:
    horizontal: list[Rule]
    vertical: list[Rule]
    mask: np.ndarray  # the rules' pixels (uint8, 255 on a rule), same shape as the binarised image


def grey(image: Image.Image | np.ndarray) -> np.ndarray:
    """The image in grey (uint8, 2-D); an array is taken as RGB (or already grey)."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("L"))
    array = np.asarray(image)
    if array.ndim == 2:
        return array.astype(np.uint8, copy=False)
    if array.shape[2] == 4:
        array = array[:, :, :3]
    return cv2.cvtColor(np.ascontiguousarray(array, dtype=np.uint8), cv2.COLOR_RGB2GRAY)


def binarise(grey_image: np.ndarray) -> np.ndarray:
    """Ink as 255 on 0: a local threshold (scans have uneven backgrounds), light noise left out."""
    block = 25 if min(grey_image.shape) >= 25 else (min(grey_image.shape) // 2) * 2 + 1
    if block < 3:
        return np.zeros_like(grey_image)
    return cv2.adaptiveThreshold(grey_image, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15)


def _segments(opened: np.ndarray, horizontal: bool, min_length: float) -> tuple[list[Rule], np.ndarray]:
    """The rules in an opened image, and their pixels (only those long and thin enough: a heading's tall letter stays)."""
    join = cv2.getStructuringElement(cv2.MORPH_RECT, (JOIN, 3) if horizontal else (3, JOIN))
    joined = cv2.dilate(opened, join)
    grown = JOIN // 2  # the joining dilation's growth at either end
    rules = []
    mask = np.zeros_like(opened)
    for band in _inked_bands(joined, horizontal):  # (one component never spans two: an empty row or column parts them)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(joined[band], connectivity=8)
        top, left = (band[0].start, 0) if horizontal else (0, band[1].start)
        for label, (x, y, w, h, _) in enumerate(stats[1:count], start=1):
            along, across = (w, h) if horizontal else (h, w)
            along -= 2 * grown
            if along < min_length or across > max(12, along / 8):  # a rule is long and thin (a slanted one a little less)
                continue
            own = labels[y : y + h, x : x + w] == label
            x, y = x + left, y + top  # (in the image)
            mine = own & (opened[y : y + h, x : x + w] > 0)
            if np.count_nonzero(mine) / max(along, 1) > max(MAX_THICKNESS, along / 25):  # a tall letter's stroke is thicker
                continue
            mask[y : y + h, x : x + w][mine] = 255
            if horizontal:
                rules.append(Rule(at=y + h / 2, start=float(x + grown), end=float(x + w - grown)))
            else:
                rules.append(Rule(at=x + w / 2, start=float(y + grown), end=float(y + h - grown)))
    return sorted(rules, key=lambda r: (r.at, r.start)), mask


def _inked_bands(image: np.ndarray, horizontal: bool) -> list[tuple[slice, slice]]:
    """The image's runs of rows (``horizontal``; else of columns) holding ink, as slices of it: its components found run
    by run (OpenCV's labelling with stats scans every pixel; a page's rules lie in ~6% of its rows or columns)."""
    inked = image.max(axis=1 if horizontal else 0) > 0  # (numpy's: OpenCV's reduce to the maximum took 4.6 ms a page)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], inked.view(np.int8), [0]])))
    whole = slice(None)
    return [(slice(a, b), whole) if horizontal else (whole, slice(a, b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def find_rules(binary: np.ndarray, min_length: float | None = None) -> Rules:
    """The horizontal and vertical rules of a binarised image, each at least ``min_length`` px long (default:
    twice the opening kernel)."""
    height, width = binary.shape
    kernel = max(MIN_KERNEL, min(height, width) // 30)
    min_length = 2 * kernel if min_length is None else min_length
    flat = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (kernel, 1)))
    tall = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, kernel)))
    horizontal, flat_mask = _segments(flat, True, min_length)
    vertical, tall_mask = _segments(tall, False, min_length)
    mask = cv2.dilate(cv2.bitwise_or(flat_mask, tall_mask), np.ones((3, 3), np.uint8))
    return Rules(horizontal, vertical, mask)


def erase_rules(image: Image.Image, rules: Rules | None = None) -> Image.Image:
    """The image with its ruled lines painted over in the background's colour: an OCR engine then reads no "|" from
    them, nor takes a "1" beside a rule for something else."""
    pixels = np.array(image.convert("RGB"))
    if rules is None:
        rules = find_rules(binarise(grey(pixels)))
    if not rules.horizontal and not rules.vertical:
        return image
    sample = pixels[::7, ::7][rules.mask[::7, ::7] == 0]  # the background: the page's usual colour off the rules
    background = np.median(sample, axis=0) if len(sample) else 255
    pixels[rules.mask > 0] = background
    return Image.fromarray(pixels)


def ink_runs(binary: np.ndarray, box: tuple[float, float, float, float], min_gap: float) -> list[tuple[float, float]]:
    """The runs of ink along a line of text (``box`` x0, y0, x1, y1 in the binarised image), split at empty gaps of at
    least ``min_gap`` px; in image x, left to right. The line's middle rows only (a neighbour's descenders stay out)."""
    x0, y0, x1, y1 = box
    height = y1 - y0
    top, bottom = int(max(0, y0 + 0.15 * height)), int(min(binary.shape[0], y1 - 0.15 * height))
    left, right = int(max(0, x0)), int(min(binary.shape[1], x1))
    if bottom <= top or right <= left:
        return [(x0, x1)]
    inked = np.flatnonzero(binary[top:bottom, left:right].any(axis=0))
    if inked.size == 0:
        return [(x0, x1)]
    runs: list[tuple[float, float]] = []
    start = previous = int(inked[0])
    for x in inked[1:]:
        if x - previous > min_gap:
            runs.append((left + start, left + previous + 1))
            start = int(x)
        previous = int(x)
    runs.append((left + start, left + previous + 1))
    return [(float(a), float(b)) for a, b in runs]
