"""Page geometry for the RapidOCR backends: the detector's input size, the windows a long receipt is read in,
how line crops are shared out between engines, and how a page lying on its side or upside down is told."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ...values import OcrLine
from .rapid_options import RapidOptions


def detector_scale(width: int, height: int, options: RapidOptions) -> float:
    """The detector's scale of this image: small images are enlarged a little so small text is detectable, large ones
    are shrunk so the long side stays bounded."""
    short, long = min(width, height), max(width, height)
    return min(options.det_short_side / short, options.det_long_side / long, options.det_max_upscale)


def detector_size(width: int, height: int, options: RapidOptions) -> tuple[str, int]:
    """RapidOCR's (limit_type, limit_side_len) for this image (``detector_scale``)."""
    short, long = min(width, height), max(width, height)
    scale = detector_scale(width, height, options)
    if scale >= 1:
        return "min", max(32, round(short * scale))
    return "max", max(32, round(long * scale))


# RapidOCR first shrinks an image to 2000 px a side; a short side left under 16 px rounds to 0 and breaks it.
# Thinner images are padded (RapidOCR letterboxes wide ones itself, which reads better: pad only what breaks).
MAX_ASPECT = 60
TALL_ASPECT = 3  # taller than this (and than two detector sizes): read in windows


def tall_windows(width: int, height: int, options: RapidOptions) -> list[tuple[int, int, int, int]]:
    """(top, bottom, keep_top, keep_bottom) of the windows a tall narrow image is read in: about
    det_long_side px each (more for wide images), overlapping, so each line lies whole in one of them.
    One window (the whole image) when shrinking the whole image keeps text readable."""
    if height <= 2 * options.det_long_side or height <= TALL_ASPECT * width:
        return [(0, height, 0, height)]
    size = max(options.det_long_side, 2 * width)
    overlap = max(128, size // 8)
    windows, top = [], 0
    while True:
        bottom = min(top + size, height)
        keep_top = 0 if top == 0 else top + overlap // 2
        windows.append((top, bottom, keep_top, height if bottom == height else bottom - overlap // 2))
        if bottom == height:
            return windows
        top = bottom - overlap


LINES_PER_ENGINE = 4  # share recognition out only when each engine gets at least this many lines


def longest_first(crops: list[np.ndarray], size: int = 1) -> list[list[int]]:
    """The crops' indexes in runs of ``size``, the longest lines first: a line's reading time (Tesseract's and RapidOCR's)
    grows with its width at the recogniser's height, i.e. with width / height. Engines that take the runs in this
    order, each when it is free, end together: the last runs are the shortest (the order of the longest processing
    time first)."""
    size = max(1, size)  # (a run holds a line at least)
    order = sorted(range(len(crops)), key=lambda i: -crops[i].shape[1] / max(crops[i].shape[0], 1))
    return [order[start : start + size] for start in range(0, len(order), size)]


def vertical_share(lines: list[OcrLine]) -> float:
    """Share of the text area in boxes taller than wide (a page lying on its side)."""
    total = vertical = 0.0
    for line in lines:
        xs, ys = [x for x, _ in line.box], [y for _, y in line.box]
        width, height = max(xs) - min(xs), max(ys) - min(ys)
        total += width * height
        vertical += width * height if height > 1.5 * width else 0.0
    return vertical / total if total else 0.0


def crop(image: np.ndarray, box: list[list[float]]) -> Image.Image:
    """The line's quadrilateral, rectified to an upright image."""
    from rapidocr.utils.process_img import get_rotate_crop_image

    return Image.fromarray(get_rotate_crop_image(image, np.array(box, dtype=np.float32)))


def reading_confidence(lines: list[OcrLine]) -> float:
    """Mean recognition confidence per character: about 0.98 for upright print, 0.6-0.75 upside down."""
    chars = sum(len(line.text) for line in lines)
    return sum(line.confidence * len(line.text) for line in lines) / chars if chars else 0.0


def turn_back(box: list[list[float]], turn: int, size: tuple[int, int]) -> list[list[float]]:
    """A box found in the image turned ``turn`` degrees counter-clockwise (PIL's rotate, expanded), in the
    coordinates of the image as it was (size = its width and height)."""
    width, height = size
    if turn == 90:
        return [[width - y, x] for x, y in box]
    if turn == 270:
        return [[y, height - x] for x, y in box]
    if turn == 180:
        return [[width - x, height - y] for x, y in box]
    return box


def is_dark(image: Image.Image) -> bool:
    """Light text on a dark background (mean luminance of a thumbnail below a third; the thumbnail made before the grey,
    by steps: ~1 ms of a page, not 5)."""
    image = image if image.mode in ("RGB", "L") else image.convert("RGB")  # (resizing RGBA would darken its clear pixels)
    thumb = image.resize((64, 64), reducing_gap=3.0).convert("L")
    return float(np.asarray(thumb).mean()) < 85


WARM_UP_SIZE = (240, 64)


def warm_up_image() -> Image.Image:
    """A word in Pillow's own font: enough for the detector to find a line and the recogniser to read it."""
    from PIL import ImageDraw, ImageFont

    image = Image.new("RGB", WARM_UP_SIZE, "white")
    ImageDraw.Draw(image).text((12, 12), "Warm up", fill="black", font=ImageFont.load_default(size=32))
    return image
