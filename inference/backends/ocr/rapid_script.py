"""Line recognition for the RapidOCR backends: the recogniser run on line crops, and its output decoded
within a script.

RapidOCR's packaged recogniser (PP-OCRv6) reads Chinese and Latin with one dictionary of about 18,700
characters, and on a Latin page it now and then reads a letter or a smudge as an ideograph (m as 米).
Each line is decoded twice from the same network output (no second run): with every character, and
with the Latin ones only (the others' probabilities masked, so the likeliest Latin character wins). A
hint without Chinese, Japanese or Korean means Latin only; without a hint, a page that is mostly Latin
is read in Latin only, and otherwise a line keeps its ideographs when they outnumber its Latin letters.
Crops are squeezed sideways before recognition: the network's cost grows with the width, and printed
text keeps several output steps per character even at two thirds of its width.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ...languages import Language

Script = Literal["auto", "latin", "any"]

CJK_LANGUAGES = {"zh", "ja", "ko"}

# Unicode blocks a Latin page uses: ASCII, Latin-1 and Latin Extended, Greek, punctuation, super- and
# subscripts, currency, letter-like symbols (№, ™), number forms, arrows, mathematical operators.
LATIN_BLOCKS = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x1E00, 0x1EFF), (0x2000, 0x22FF)]
# Ideographs, kana, hangul, CJK punctuation and full-width forms.
CJK_BLOCKS = [
    (0x1100, 0x11FF),
    (0x2E80, 0x2FDF),
    (0x3000, 0x30FF),
    (0x3100, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7FF),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3FFFF),
]


def _in(ch: str, blocks: list[tuple[int, int]]) -> bool:
    return len(ch) == 1 and any(lo <= ord(ch) <= hi for lo, hi in blocks)


def _one_of(blocks: list[tuple[int, int]], outside: bool = False) -> re.Pattern[str]:
    """A character of these blocks (``outside``: of none of them), as a pattern (a page's characters tested one ``_in``
    at a time took ~7 ms a page, on the request's thread alone)."""
    ranges = "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in blocks)
    return re.compile(f"[{'^' if outside else ''}{ranges}]")


_CJK = _one_of(CJK_BLOCKS)
_NOT_LATIN = _one_of(LATIN_BLOCKS, outside=True)
_ASCII_LETTER = re.compile("[A-Za-z]")


def is_cjk(ch: str) -> bool:
    return _in(ch, CJK_BLOCKS)


def cjk_count(text: str) -> int:
    """How many of the text's characters are ideographs, kana, hangul or CJK punctuation (``is_cjk``)."""
    return len(_CJK.findall(text))


def script_for(language: Language | None) -> Script:
    """What the recogniser may read for this hint: everything for Chinese, Japanese or Korean, Latin only for
    any other hint (scripts it has no model for are re-read by Tesseract), and per page without one."""
    if language is None:
        return "auto"
    return "any" if CJK_LANGUAGES & set(language.codes) else "latin"


def latin_mask(characters: list[str]) -> np.ndarray:
    """1 for the CTC blank (index 0) and the Latin characters of the recogniser's dictionary, 0 elsewhere."""
    mask = np.array([_in(ch, LATIN_BLOCKS) for ch in characters], dtype=np.float32)
    mask[0] = 1.0
    return mask


def ctc_decode(probs: np.ndarray, characters: list[str], mask: np.ndarray | None = None) -> tuple[str, float]:
    """Greedy CTC decoding of one line's (steps, classes) probabilities, within the mask when given:
    the text and the mean probability of its characters. (Within the mask: the likeliest of its classes at each step,
    found among its columns alone, not in a masked copy of all ~18,700.)"""
    if mask is None:
        best = probs.argmax(axis=1)
    else:
        columns = np.flatnonzero(mask)
        best = columns[probs[:, columns].argmax(axis=1)]
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    chosen = best[keep]
    text = "".join(characters[i] for i in chosen)
    score = float(probs[np.nonzero(keep)[0], chosen].mean()) if len(chosen) else 0.0
    return text, round(score, 5)


@dataclass
class Reading:
    """A line read with every character and with Latin ones only (by ``engine``)."""

    text: str
    score: float
    latin: str
    latin_score: float
    engine: str = "rapidocr"

    @classmethod
    def latin_only(cls, text: str, score: float, engine: str) -> Reading:
        """A reading that holds no character outside the Latin blocks (the same either way)."""
        return cls(text, score, text, score, engine)


def is_latin(text: str) -> bool:
    """Every character in the Latin blocks, every letter ASCII (accents are left to the recogniser)."""
    if text.isascii():
        return text.isprintable()  # (ASCII's part of the blocks: from " " to "~")
    return _NOT_LATIN.search(text) is None and not any(ch.isalpha() and not ch.isascii() for ch in text)


def choose(readings: list[Reading], script: Script) -> list[tuple[str, float, str]]:
    """The (text, confidence, engine) of each line: Latin only, every character, or per page and line (see
    above)."""
    if script == "any":
        return [(r.text, r.score, r.engine) for r in readings]
    if script == "latin":
        return [(r.latin, r.latin_score, r.engine) for r in readings]
    cjk = [cjk_count(r.text) for r in readings]
    latin = [len(_ASCII_LETTER.findall(r.text)) for r in readings]
    if sum(latin) >= 2 * sum(cjk):  # a Latin page
        return [(r.latin, r.latin_score, r.engine) for r in readings]
    return [
        (r.text, r.score, r.engine) if c > n else (r.latin, r.latin_score, r.engine)
        for r, c, n in zip(readings, cjk, latin, strict=True)
    ]


def _width(crop: np.ndarray, height: int, squeeze: float) -> int:
    """The crop's width once resized to ``height`` and squeezed."""
    h, w = crop.shape[:2]
    return max(1, int(math.ceil(height * w / max(h, 1) * squeeze)))


def _input(crop: np.ndarray, height: int, squeeze: float, width: int) -> np.ndarray:
    """The crop resized to ``height`` and squeezed, normalised to [-1, 1], CHW, padded on the right to ``width``."""
    import cv2

    resized = cv2.resize(crop, (min(width, _width(crop, height, squeeze)), height)).astype(np.float32)
    out = np.zeros((3, height, width), dtype=np.float32)
    out[:, :, : resized.shape[1]] = (resized.transpose(2, 0, 1) / 255 - 0.5) / 0.5
    return out


def recognise(recognizer: Any, crops: list[np.ndarray], squeeze: float, min_width: int, batch_size: int) -> list[Reading]:
    """Read line crops with RapidOCR's recogniser (its ONNX session and dictionary), ``batch_size`` crops of
    similar width per call, each squeezed sideways by ``squeeze`` and padded to at least ``min_width``."""
    characters = recognizer.postprocess_op.character
    mask = getattr(recognizer, "latin_mask", None)
    if mask is None:
        mask = recognizer.latin_mask = latin_mask(characters)
    height = recognizer.rec_image_shape[1]
    widths = [_width(crop, height, squeeze) for crop in crops]
    order = sorted(range(len(crops)), key=lambda i: widths[i])
    readings: list[Reading | None] = [None] * len(crops)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        width = max([min_width] + [widths[i] for i in batch])
        probs = recognizer.session(np.stack([_input(crops[i], height, squeeze, width) for i in batch]))
        for i, line in zip(batch, probs, strict=True):
            readings[i] = Reading(*ctc_decode(line, characters), *ctc_decode(line, characters, mask))
    return [r for r in readings if r is not None]
