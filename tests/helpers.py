"""Test images rendered with Pillow's own font, and the CER used to score OCR."""

from __future__ import annotations

import io
import re

from PIL import Image, ImageDraw, ImageFont

ENGLISH = [
    "Invoice number 4471 dated March 12",
    "Total amount due: 318.40 USD",
    "Please pay within thirty days.",
]


def render_lines(lines: list[str], font_size: int = 32, width: int | None = None, margin: int = 24) -> Image.Image:
    font = ImageFont.load_default(size=font_size)
    line_height = int(font_size * 1.6)
    text_width = max(int(font.getlength(line)) for line in lines)
    width = width or text_width + 2 * margin
    image = Image.new("RGB", (width, line_height * len(lines) + 2 * margin), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((margin, margin + i * line_height), line, fill="black", font=font)
    return image


def encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(hypothesis: str, reference: str) -> float:
    reference, hypothesis = normalise(reference), normalise(hypothesis)
    return levenshtein(hypothesis, reference) / max(1, len(reference))
