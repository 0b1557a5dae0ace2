"""Test images rendered with Pillow's own font, and the CER used to score OCR."""

from __future__ import annotations

import importlib.util
import io

import pytest
from PIL import Image, ImageDraw, ImageFont

from bench import scoring
from inference.backends.tesseract import find_tessdata

HAS_TESSERACT = importlib.util.find_spec("tesserocr") is not None and find_tessdata("auto") is not None
needs_tesseract = pytest.mark.skipif(
    not HAS_TESSERACT, reason="Tesseract's data is not installed (.ci/run installs tesseract-ocr-eng)")

ENGLISH = [
    "Invoice number 4471 dated March 12",
    "Total amount due: 318.40 USD",
    "Please pay within thirty days.",
]


def render_lines(lines: list[str], font_size: int = 32) -> Image.Image:
    """Black text in Pillow's own font on white, one line per entry."""
    return render_with(ImageFont.load_default(size=font_size), lines)


def encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def cer(hypothesis: str, reference: str) -> float:
    return scoring.cer(hypothesis, reference)


CYRILLIC_FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
]


def cyrillic_font(size: int):
    """A system font with Cyrillic glyphs (Pillow's own font has none), or None."""
    from pathlib import Path

    for path in CYRILLIC_FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return None


def render_with(font, lines: list[str], margin: int = 24, spacing: float = 1.6) -> Image.Image:
    line_height = int(font.size * spacing)
    width = max(int(font.getlength(line)) for line in lines) + 2 * margin
    image = Image.new("RGB", (width, line_height * len(lines) + 2 * margin), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((margin, margin + i * line_height), line, fill="black", font=font)
    return image
