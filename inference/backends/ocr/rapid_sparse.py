"""Text alone on a large, mostly empty image: the few lines the page-wide detection misses, found again in pieces.

RapidOCR's detector finds a few words of print on a large empty canvas poorly, whatever their size there: two lines of
14 px print on a 150-dpi page (1275 x 1650) were found one of two at the usual size and none at full size, though the
same lines in a 640 px piece of that page are found at every size tried (5 to 17 px high); a dialog's three lines on a
4K screenshot came back as "Cancel" alone. So where the detection found few lines and ink is left outside them (dark
against the image's usual colour, as on a page, not a picture's share of it), each patch of that ink is detected in a
piece of the image of its own (``PIECE`` px at most a side), its lines added to those found. A page of print (more
lines found) is detected once, as before."""

from __future__ import annotations

from typing import Any

import numpy as np

from .rapid_detect import MOST_INK, Found, detect_at

FEW_LINES = 5  # at most this many lines found: ink left outside them is looked at again
PIECE = 960  # px: the longest side a piece is detected at (pieces larger are shrunk to it)
PAD = 24  # px of the image around each patch of ink left, in its piece
JOIN = (48, 16)  # px (across, down) within which ink belongs to one patch (the words of a line, its lines)
MIN_PATCH = 6  # px: a patch no taller and no wider than this is a speck (dust on a scan), not text
MAX_PIECES = 8  # pieces detected at most (the largest patches): the cost stays a few small detections
THUMB = 1024  # px: the long side of the copy the ink is looked for in
WHOLE = 0.5  # a piece over this share of the image is not detected again (what the page-wide detection saw)
OVERLAP = 0.5  # a line found in a piece that lies this much (of its box) in a line found before is that line


def with_sparse_text(detector: Any, original: np.ndarray, found: Found) -> Found:
    """``found`` with the lines of the ink left outside its lines, detected piece by piece, when it has few lines;
    else ``found`` itself. The result's boxes are in the original image."""
    import cv2

    if len(found.boxes) > FEW_LINES:
        return found
    height, width = original.shape[:2]
    step = max(1, -(-max(height, width) // THUMB))
    sample = original[::step, ::step]  # (the ink's share, on a page's scale: as rapid_detect measures it)
    sample = sample.mean(axis=2) if sample.ndim == 3 else sample.astype(np.float32)
    dark = np.median(sample) - 64
    if not 0 < (sample < dark).mean() < MOST_INK:
        return found
    ink = (_darkest(original, step) < dark).astype(np.uint8)  # (every stroke, however thin: not a sample of them)
    if ink.mean() >= MOST_INK:  # (a dithered picture: its sample looked like a page)
        return found
    boxes = _in_original(found, height, width)
    for box in boxes:  # (ink of the lines found is theirs, with their letters' tops and tails)
        (x0, y0), (x1, y1) = box.min(axis=0), box.max(axis=0)
        margin = 0.3 * (y1 - y0) + step
        x0, y0 = int((x0 - margin) // step), int((y0 - margin) // step)
        ink[max(0, y0) : int((y1 + margin) // step) + 1, max(0, x0) : int((x1 + margin) // step) + 1] = 0
    reach = (JOIN[0] + 2 * PAD, JOIN[1] + 2 * PAD)  # (patches whose pieces would overlap: one patch, one piece)
    kernel = np.ones((max(1, reach[1] // step), max(1, reach[0] // step)), np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(ink, kernel), connectivity=8)
    grown = (kernel.shape[1] - 1, kernel.shape[0] - 1)  # (thumbnail px the dilation added to each patch)
    patches = [s for s in stats[1:count] if max(s[2] - grown[0], s[3] - grown[1]) * step > MIN_PATCH]
    if not patches:
        return found
    patches = sorted(patches, key=lambda s: -int(s[4]))[: 4 * MAX_PIECES]  # (dots all over: a few pieces, not thousands)
    rects = _merged([_rect(x, y, w, h, step, width, height) for x, y, w, h, _ in patches])
    crops, placed = list(found.crops), list(boxes)
    rects = [r for r in rects if (r[2] - r[0]) * (r[3] - r[1]) <= WHOLE * width * height]  # (the page-wide look's)
    for left, top, right, bottom in sorted(rects, key=lambda r: (r[0] - r[2]) * (r[3] - r[1]))[:MAX_PIECES]:
        piece = np.ascontiguousarray(original[top:bottom, left:right])
        record = {"preprocess": {"ratio_h": 1.0, "ratio_w": 1.0}}
        seen = detect_at(detector, piece, record, ("max", min(PIECE, max(piece.shape[:2]))))
        crops += seen.crops
        placed += list(_in_original(seen, *piece.shape[:2]) + np.array([left, top], np.float32))
    if len(placed) == len(boxes):
        return found
    kept = _distinct(placed)  # (a line found twice, or in part before: the larger box)
    lines = np.array([placed[k] for k in kept], np.float32).reshape(-1, 4, 2)
    return Found([crops[k] for k in kept], lines, {"preprocess": {"ratio_h": 1.0, "ratio_w": 1.0}})


def _rect(x: int, y: int, w: int, h: int, step: int, width: int, height: int) -> tuple[int, int, int, int]:
    """A patch of the thumbnail (its ink and PAD px around it, and half a JOIN) as a rectangle of the image: left, top,
    right, bottom."""
    return max(0, x * step), max(0, y * step), min(width, (x + w) * step), min(height, (y + h) * step)


def _darkest(image: np.ndarray, step: int) -> np.ndarray:
    """The image in grey, each ``step`` x ``step`` block of it as its darkest pixel (a thin stroke is not skipped)."""
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    if step == 1:
        return grey
    height, width = grey.shape[:2]
    rows, cols = -(-height // step), -(-width // step)
    padded = np.full((rows * step, cols * step), 255, np.uint8)
    padded[:height, :width] = grey
    return padded.reshape(rows, step, cols, step).min(axis=(1, 3))


def _merged(rects: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Rectangles that overlap joined into one, until none do (a piece holds each line whole, once)."""
    rects = list(rects)
    joined = True
    while joined:
        joined = False
        for i in range(len(rects)):
            for j in range(i + 1, len(rects)):
                a, b = rects[i], rects[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    rects[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del rects[j]
                    joined = True
                    break
            if joined:
                break
    return rects


def _distinct(boxes: list[np.ndarray]) -> list[int]:
    """The indexes of the boxes to keep, in their order: of two boxes one of which lies mostly (``OVERLAP``) inside the
    other, the larger."""
    areas = [float(np.ptp(box[:, 0]) * np.ptp(box[:, 1])) for box in boxes]
    kept: list[int] = []
    for k in sorted(range(len(boxes)), key=lambda k: -areas[k]):
        if not any(_overlap(boxes[k], boxes[other]) > OVERLAP for other in kept):
            kept.append(k)
    return sorted(kept)


def _in_original(found: Found, height: int, width: int) -> np.ndarray:
    """``found``'s boxes mapped to the image it was detected in (a copy: RapidOCR's mapping changes its input)."""
    from rapidocr.utils.process_img import map_boxes_to_original

    if not len(found.boxes):
        return np.zeros((0, 4, 2), np.float32)
    return map_boxes_to_original(np.array(found.boxes, np.float32), found.record, height, width)


def _overlap(box: np.ndarray, other: np.ndarray) -> float:
    """The share of ``box``'s bounding rectangle inside ``other``'s."""
    (x0, y0), (x1, y1) = box.min(axis=0), box.max(axis=0)
    (u0, v0), (u1, v1) = other.min(axis=0), other.max(axis=0)
    inside = max(0.0, min(x1, u1) - max(x0, u0)) * max(0.0, min(y1, v1) - max(y0, v0))
    return float(inside / max((x1 - x0) * (y1 - y0), 1e-6))
