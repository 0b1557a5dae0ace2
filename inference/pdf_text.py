"""A PDF page's text layer: its text and lines (boxes in pixels of the page as rendered), when the layer is
good enough to trust. This runs in the PDF reader's child process (``pdf_child``), one call at a time: it imports
nothing of this package (the child loads this file alone) and returns plain values."""

from __future__ import annotations

import math
import unicodedata

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the page as rendered
TEXT_LAYER_MIN_CHARS = 20  # fewer readable characters than this: the page is OCR'd (a scan with a page number)
# More characters or lines than these, and the page is OCR'd too (what is legible of it is read): a dense A4 page of
# 5-point print holds ~20,000 characters in a few hundred lines. A 55 KB PDF whose 20 pages each drew one line
# of text 20,000 times (1.1 million characters) took 150 s to read and kept 370 MB in the jobs database for a week.
TEXT_LAYER_MAX_CHARS = 50_000
TEXT_LAYER_MAX_LINES = 5_000
SPACED = 0.2  # after an accent drawn apart, a gap of this many line heights is a space between words
ACCENTS = {  # accents drawn as characters of their own, and the combining marks they are over a letter
    "´": "\u0301", "`": "\u0300", "ˆ": "\u0302", "˜": "\u0303", "¨": "\u0308", "ˇ": "\u030c",
    "˘": "\u0306", "˚": "\u030a", "¸": "\u0327", "˝": "\u030b", "˙": "\u0307", "¯": "\u0304",
}  # fmt: skip
LINE_GAP = 1.0  # characters of one baseline further apart than this many line heights are two lines (columns, cells)
DROP_CAP = 1.8  # a line's first letter this many times taller than the next, level with its top, is a drop cap (as in
# inference.drop_caps, which this file may not import): the line is as tall as its other letters


def text_layer(page, size: tuple[int, int]) -> tuple[str | None, list[tuple[str, Box]]]:
    """The page's text and lines (each its text and box) from its text layer, when the layer is good enough to
    trust; else (None, []). The boxes are in the page as rendered at ``size`` (its /Rotate turn and its crop box
    applied)."""
    import pypdfium2 as pdfium

    try:
        textpage = page.get_textpage()
    except pdfium.PdfiumError:  # no readable text layer: the page is OCR'd
        return None, []
    try:
        if textpage.count_chars() > TEXT_LAYER_MAX_CHARS:
            return None, []
        text = _joined(textpage.get_text_range()).replace("\r\n", "\n").replace("\r", "\n")
        if not good_text(text):
            return None, []
        lines = _lines(textpage)
        if len(lines) > TEXT_LAYER_MAX_LINES:
            return None, []
    finally:
        textpage.close()
    return text.strip(), [(line, _device_box(page, rect, size)) for rect, line in lines]


def _lines(textpage) -> list[tuple[tuple[float, float, float, float], str]]:
    """The layer's lines, each its text and rectangle (left, bottom, right, top), from its characters in PDFium's
    order: a line ends where PDFium ends one, where the next character sits on another baseline, or where it lies
    more than LINE_GAP of its height away (the next column) or steps back. The text is PDFium's own, with the spaces
    it infers between words (a layer that places each character alone is one run per character: joining runs
    would space out every letter)."""
    count = textpage.count_chars()
    chars = textpage.get_text_range(0, count)
    if len(chars) != count:  # characters outside the BMP count once in PDFium and twice in its UTF-16 text
        chars = "".join(textpage.get_text_range(i, 1)[:1] or " " for i in range(count))
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    lines: list[tuple[tuple[float, float, float, float], str]] = []
    parts: list[str] = []  # the line's characters so far, a space a part of its own...
    spans: list[tuple[float, float] | None] = []  # ...and each one's left and right (None: a space)
    box, space, upright, mended = None, False, True, False
    for i, ch in enumerate(chars):
        if ch in "\r\n":
            space = True
            if box is not None:
                lines.append((box, "".join(parts)))
            parts, spans, box = [], [], None
            continue
        if ch.isspace():
            space = True
            continue
        try:
            left, bottom, right, top = textpage.get_charbox(i, loose=True)
        except pdfium.PdfiumError:
            continue
        if right <= left or top <= bottom:
            continue  # a character with no extent (a generated one): nothing to place
        if ch in ACCENTS and box is not None and min(box[3], top) - max(box[1], bottom) > 0.5 * (top - bottom):
            centre = (left + right) / 2  # an accent drawn on its own (TeX's): onto the letter it stands over
            under = next((k for k in range(len(spans) - 1, -1, -1) if (s := spans[k]) and s[0] <= centre <= s[1]), None)
            if under is not None:
                parts[under] += ACCENTS[ch]
                mended = True
                continue
        angle = raw.FPDFText_GetCharAngle(textpage.raw, i)
        along = angle < 0 or abs(math.sin(angle)) < 0.7  # (-1: PDFium could not say) text along the page's width
        if box is not None and along == upright and _continues(box, (left, bottom, right, top), along):
            if mended:  # the spaces PDFium put around an accent drawn out of place are no part of the text
                space = left - box[2] > SPACED * (top - bottom)
            if space:
                parts.append(" ")
                spans.append(None)
            if len(parts) == 1 and along and _drop_cap(box, (left, bottom, right, top), parts[0]):
                box = (box[0], bottom, box[2], top)
            parts.append(ch)
            spans.append((left, right))
            box = (min(box[0], left), min(box[1], bottom), max(box[2], right), max(box[3], top))
            space = mended = False
            continue
        if box is not None:
            lines.append((box, "".join(parts)))
        parts, spans, box, space, upright, mended = [ch], [(left, right)], (left, bottom, right, top), False, along, False
    if box is not None:
        lines.append((box, "".join(parts)))
    return [(box, unicodedata.normalize("NFC", _printed(line)).strip()) for box, line in lines if line.strip()]


def _drop_cap(first: tuple[float, float, float, float], char: tuple[float, float, float, float], letter: str) -> bool:
    """Whether a line's first character (``letter`` in the box ``first``) is a drop cap before ``char``."""
    height = char[3] - char[1]
    return letter.isupper() and first[3] - first[1] >= DROP_CAP * height and abs(first[3] - char[3]) <= 0.5 * height


def _continues(line: tuple[float, float, float, float], char: tuple[float, float, float, float], along: bool) -> bool:
    """Whether a character continues a line: on its baseline, next after it (not stepping back, not more than
    LINE_GAP of its height on); text turned up or down the page (an arXiv paper's margin), the same along its column."""
    l0, b0, r0, t0 = line
    left, bottom, right, top = char
    if along:
        height = max(t0 - b0, top - bottom, 1.0)
        return abs((b0 + t0) / 2 - (bottom + top) / 2) < height / 2 and -height < left - r0 < LINE_GAP * height
    width = max(r0 - l0, right - left, 1.0)
    gap = max(bottom - t0, b0 - top)  # above or below the line so far
    return abs((l0 + r0) / 2 - (left + right) / 2) < width / 2 and -width < gap < LINE_GAP * width


SOFT_HYPHEN = "\ufffe"  # PDFium's mark where a word breaks at a line's end (a soft hyphen, or a hyphen it takes for one)


def _printed(line: str) -> str:
    """A line as printed: a word broken at its end shows its hyphen."""
    return line.replace(SOFT_HYPHEN, "-")


def _joined(text: str) -> str:
    """The page's text with the words broken at a line's end whole again (as PDFium means its mark)."""
    return text.replace(SOFT_HYPHEN + "\r\n", "").replace(SOFT_HYPHEN, "")


def _device_box(page, rect: tuple[float, float, float, float], size: tuple[int, int]) -> Box:
    """A rectangle in PDF page space (left, bottom, right, top) as (x0, y0, x1, y1) pixels of the page rendered at
    ``size``: PDFium's own page-to-device mapping (as rendering does: rotation, crop box origin, y downwards), cut to
    the page (text drawn 10^7 px off it, its boxes' left edges kept there, took minutes to lay out)."""
    import ctypes

    import pypdfium2.raw as raw

    left, bottom, right, top = rect
    xs, ys = [], []
    for px, py in ((left, bottom), (right, bottom), (right, top), (left, top)):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        raw.FPDF_PageToDevice(page.raw, 0, 0, size[0], size[1], 0, px, py, ctypes.byref(dx), ctypes.byref(dy))
        xs.append(dx.value)
        ys.append(dy.value)
    width, height = size
    x0, x1 = (float(min(max(x, 0), width)) for x in (min(xs), max(xs)))
    y0, y1 = (float(min(max(y, 0), height)) for y in (min(ys), max(ys)))
    return (x0, y0, x1, y1)


def good_text(text: str) -> bool:
    """A text layer worth trusting: enough readable characters, few replacement or private-use ones, words
    of word-like lengths (a layer of glyph ids or a scan's page number alone is OCR'd instead)."""
    visible = [ch for ch in text if not ch.isspace()]
    if len(visible) < TEXT_LAYER_MIN_CHARS:
        return False
    bad = sum(ch == "\ufffd" or unicodedata.category(ch) in ("Co", "Cc", "Cn") for ch in visible)
    readable = sum(ch.isalnum() or unicodedata.category(ch).startswith("P") for ch in visible)
    words = text.split()
    mean_word = len(visible) / max(len(words), 1)
    return bad / len(visible) < 0.02 and readable / len(visible) > 0.8 and 1.5 <= mean_word <= 25
