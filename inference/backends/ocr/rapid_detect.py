"""Where an image's lines are: RapidOCR's detector sized for the image (``detector_size``), and once more, finer, when
the lines it found on the shrunk image are thin enough that smaller ones may have been lost.

A large image is shrunk for the detector (its long side to ``det_long_side``) and RapidOCR shrinks what it cuts the
lines out of to 2,000 px a side: a 4K screenshot's 11 px interface text came out ~3.7 px high, half of it not found
(9 px text: none), and what was found was read from 6 px crops, their first and last letters cut off. When the lines
found are thin (their median at most ``SMALL_LINE`` detector px) or none are found on an image whose ink looks like a
page's, the image is detected again enlarged until they would be ``FINE_LINE`` px (at most ``det_fine_side`` on its
long side, never past its own size; not the windows of a tall image, which are there to keep its text large), and
that detection is taken unless it finds fewer lines; lines thinner than ``CROP_LINE`` px where they were cut out are
cut again from a larger copy (``sharper``). Pages of ordinary print (lines of 13 px and more at the usual size: every
page of the peer and receipt sets) are detected once and cut as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Any

import numpy as np

from ...layout import quad_size
from .rapid_geometry import detector_scale, detector_size
from .rapid_options import RapidOptions

SMALL_LINE = 13.0  # detector px: the median line found at most this thick on a shrunk image -> detected again, finer...
FINE_LINE = 20.0  # ...enlarged until that median would be this thick
BLANK_INK = 0.0005  # an image with none found is tried finer only when more of it than this is ink (not a blank scan)...
MOST_INK = 0.05  # ...and less than this (not noise, a halftone or a dot grid: 6-7%; a 4K screenshot of 9 px text: 0.3%)
CROP_LINE = 24.0  # px: lines cut out of an image where they are thinner are cut again from a larger copy
FINE_SOURCE = 4096  # px a side of the larger copy lines are cut again from, at most (RapidOCR's own copy: 2,000)


@dataclass
class Found:
    """A detection's line crops, their boxes (in ``record``'s image), and how that image maps to the original."""

    crops: list[np.ndarray]
    boxes: Any  # RapidOCR's (N, 4, 2) array
    record: dict


def find_lines(engine: Any, detector: Any, original: np.ndarray, options: RapidOptions, finer_ok: bool = True) -> Found:
    """The lines of ``original`` (RapidOCR's load_img of the image): ``engine`` prepares it, ``detector`` (an
    instance whose detector is free for this request) detects; not finer unless ``finer_ok`` (a window of a tall
    image: windows are there to keep its text large, and a textless one of many cost 20 detections at 2560 px)."""
    height, width = original.shape[:2]
    prepared, record = engine.preprocess_img(original)
    scale = detector_scale(width, height, options)
    found = detect_at(detector, prepared, record, detector_size(width, height, options))
    fine = finer(scale, [min(quad_size(box.tolist())) * _det_px(record, scale) for box in found.boxes], options)
    if fine is None or not finer_ok or (not found.boxes.size and not BLANK_INK < _ink(original) < MOST_INK):
        return sharper(detector, original, found)
    record = {"preprocess": {"ratio_h": 1 / fine, "ratio_w": 1 / fine}}
    again = detect_at(detector, _scaled(original, fine), record, ("max", round(max(width, height) * fine)))
    return sharper(detector, original, again if len(again.boxes) >= len(found.boxes) else found)


def sharper(detector: Any, original: np.ndarray, found: Found) -> Found:
    """``found`` with its lines cut out again from a larger copy of the original when they are thinner than
    ``CROP_LINE`` px in the image they were cut from (shrunk by RapidOCR to 2,000 px a side, or to ``FINE_SOURCE``)."""
    ratio_w, ratio_h = found.record["preprocess"]["ratio_w"], found.record["preprocess"]["ratio_h"]
    zoom = 1 / max(ratio_w, ratio_h)  # (px of the image cut from per px of the original: each side rounded apart)
    padded = any(found.record.get("padding_1", {}).values())
    if zoom >= 1.0 or padded or not len(found.boxes):
        return found
    thickness = median(min(quad_size(box.tolist())) for box in found.boxes)
    height, width = original.shape[:2]
    wanted = min(1.0, zoom * CROP_LINE / max(thickness, 1.0), max(zoom, FINE_SOURCE / max(width, height)))
    if wanted <= 1.1 * zoom:
        return found
    boxes = (found.boxes * np.array([ratio_w * wanted, ratio_h * wanted], np.float32)).astype(np.float32)
    record = {"preprocess": {"ratio_h": 1 / wanted, "ratio_w": 1 / wanted}, "padding_1": {"top": 0, "left": 0}}
    return Found(detector.crop_text_regions(_scaled(original, wanted), boxes), boxes, record)


def finer(scale: float, thickness: list[float], options: RapidOptions) -> float | None:
    """The detector's finer scale (of the original image) for lines found ``thickness`` px thick (detector px) at
    ``scale``, or None when there is no need or no room: the image was not shrunk, its lines are thick enough, or the
    finer size would be no more than a fifth larger."""
    if scale >= 1 or options.det_fine_side <= options.det_long_side:
        return None
    if thickness and median(thickness) > SMALL_LINE:
        return None
    wanted = scale * (FINE_LINE / max(median(thickness), 1.0) if thickness else 2.0)
    fine = min(1.0, wanted, scale * options.det_fine_side / options.det_long_side)
    return fine if fine > 1.2 * scale else None


def detect_at(detector: Any, image: np.ndarray, record: dict, size: tuple[str, int]) -> Found:
    """RapidOCR's detection of ``image`` at ``size`` (its limit type and side)."""
    from rapidocr.main import RapidOCRError

    detector.text_det.limit_type, detector.text_det.limit_side_len = size
    try:
        crops, detected = detector.detect_and_crop(image, record)
    except RapidOCRError:  # (nothing detected: RapidOCR raises it for empty results)
        return Found([], np.zeros((0, 4, 2), np.float32), record)
    return Found(crops, detected.boxes, record)


def _det_px(record: dict, scale: float) -> float:
    """Detector px per px of the prepared image (``record``: how it maps to the original, which ``scale`` is of)."""
    return scale * record["preprocess"]["ratio_w"]


def _scaled(original: np.ndarray, ratio: float) -> np.ndarray:
    """The original image scaled by ``ratio`` (itself at 1)."""
    import cv2

    if ratio >= 1.0:
        return original
    height, width = original.shape[:2]
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    return cv2.resize(original, size, interpolation=cv2.INTER_AREA)


def _ink(image: np.ndarray) -> float:
    """The share of a thumbnail's pixels much darker than its usual colour (text, not a blank scan's paper)."""
    thumb = image[:: max(1, image.shape[0] // 512), :: max(1, image.shape[1] // 512)]
    grey = thumb.mean(axis=2) if thumb.ndim == 3 else thumb
    return float((grey < np.median(grey) - 64).mean())
