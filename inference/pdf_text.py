"""A PDF page's text layer: its text and lines (boxes in pixels of the page as rendered), when the layer is
good enough to trust. This runs in the PDF reader's child process (``pdf_child``), one call at a time: it imports
nothing of this package (the child loads this file alone) and returns plain values."""

from __future__ import annotations

import unicodedata

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the page as rendered
TEXT_LAYER_MIN_CHARS = 20  # fewer readable characters than this: the page is OCR'd (a scan with a page number)


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
        text = textpage.get_text_range()
        runs = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            runs.append(((left, bottom, right, top), textpage.get_text_bounded(left, bottom, right, top)))
    finally:
        textpage.close()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not good_text(text):
        return None, []
    return text.strip(), [(run, _device_box(page, rect, size)) for rect, run in _merge_runs(runs)]


def _device_box(page, rect: tuple[float, float, float, float], size: tuple[int, int]) -> Box:
    """A rectangle in PDF page space (left, bottom, right, top) as (x0, y0, x1, y1) pixels of the page rendered at
    ``size``: PDFium's own page-to-device mapping (as rendering does: rotation, crop box origin, y downwards)."""
    import ctypes

    import pypdfium2.raw as raw

    left, bottom, right, top = rect
    xs, ys = [], []
    for px, py in ((left, bottom), (right, bottom), (right, top), (left, top)):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        raw.FPDF_PageToDevice(page.raw, 0, 0, size[0], size[1], 0, px, py, ctypes.byref(dx), ctypes.byref(dy))
        xs.append(dx.value)
        ys.append(dy.value)
    return (float(max(0, min(xs))), float(max(0, min(ys))), float(min(size[0], max(xs))), float(min(size[1], max(ys))))


def _merge_runs(runs: list[tuple[tuple[float, float, float, float], str]]) -> list[tuple[tuple[float, float, float, float], str]]:
    """PDFium's text rectangles are runs (a change of font splits a line): runs that follow each other on one
    line become one line."""
    merged: list[tuple[tuple[float, float, float, float], str]] = []
    for (left, bottom, right, top), text in runs:
        text = text.strip()
        if not text:
            continue
        if merged:
            (l0, b0, r0, t0), text0 = merged[-1]
            height = max(t0 - b0, top - bottom, 1.0)
            if abs((b0 + t0) / 2 - (bottom + top) / 2) < height / 2 and -height < left - r0 < 3 * height:
                merged[-1] = ((l0, min(b0, bottom), max(r0, right), max(t0, top)), f"{text0} {text}")
                continue
        merged.append(((left, bottom, right, top), text))
    return merged


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
