"""Document pages rendered with Pillow and DejaVu fonts, with their text known from the rendering.

A page is A4 at 150 dpi (1240 x 1754 px) in one of several layouts: a one-column report, a two- or
three-column paper, a table between paragraphs, dense small print; every layout also comes with a scanned
look (turned by about a degree, blurred, noisy, JPEG). The reference is the page's lines in reading
order: header, columns left to right, each top to bottom, footer; a table row by row. Every page has a running
header, a running footer and a page number; the table pages set their table in one of four kinds in turn (ruled
grid, rules between rows, booktabs, no rules; with cells spanning rows and columns: bench/page_tables.py).

    from bench.pages import render_page, render_truth
    image, reference = render_page(7)
    image, reference, truth = render_truth(7)   # truth: {"tables": [...], "marginal": [...]}
"""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from bench.page_tables import KINDS, draw_table

WIDTH, HEIGHT, MARGIN = 1240, 1754, 90
FONT_DIRS = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu"]
FACES = ["DejaVuSerif.ttf", "DejaVuSans.ttf", "DejaVuSansCondensed.ttf", "DejaVuSerifCondensed.ttf"]
LAYOUTS = ["report", "paper", "table", "small_print", "newsletter"]

_VOCABULARY = """the of and to in a is that for it as was with be by on not he this are or his from at which but have an they
you were their one all we can her has there been if more when will would who so no market report data system
energy water policy model results method analysis growth country health public research study field annual
revenue customers service network design process quality team project budget value increase shows during
between against within under since following important several however because these those each other such
only new first last great small large early local national general social economic regional average total
number level period figure section table results sample values measured reported observed compared higher
lower found based used given known shown"""
WORDS = _VOCABULARY.split()


def font_path(face: str) -> str | None:
    for folder in FONT_DIRS:
        if (Path(folder) / face).is_file():
            return str(Path(folder) / face)
    return None


def has_fonts() -> bool:
    """Whether the DejaVu fonts the pages are set in are installed (Debian: fonts-dejavu-core)."""
    return font_path("DejaVuSans.ttf") is not None


def _font(face: str, size: int) -> ImageFont.FreeTypeFont:
    path = font_path(face) or font_path("DejaVuSans.ttf")
    if path is None:
        raise RuntimeError("DejaVu fonts are needed to render pages: apt-get install fonts-dejavu-core")
    return ImageFont.truetype(path, size)


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 14))]
    if rng.random() < 0.4:
        words.insert(rng.randrange(len(words)), str(rng.choice([rng.randint(2, 99), rng.randint(1990, 2024)])))
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), f"{rng.randint(1, 99)}.{rng.randint(0, 9)}%")
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and font.getlength(candidate) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines


class Page:
    """A page being set: text drawn at a position, the reference kept in reading order."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.image = Image.new("RGB", (WIDTH, HEIGHT), "white")
        self.draw = ImageDraw.Draw(self.image)
        self.lines: list[str] = []
        self.tables: list[dict] = []  # each table's truth (bench.page_tables)
        self.marginal: list[str] = []  # the running header, footer and page number: not the page's content

    def text(self, xy: tuple[int, int], text: str, font: ImageFont.FreeTypeFont) -> None:
        self.draw.text(xy, text, fill="black", font=font)
        self.lines.append(text)

    def column(self, x: int, y: int, width: int, bottom: int, font: ImageFont.FreeTypeFont) -> int:
        """Paragraphs of running text from (x, y) until ``bottom``; returns the y below them."""
        step = round(font.size * 1.35)
        while y + step <= bottom:
            paragraph = " ".join(sentence(self.rng) for _ in range(self.rng.randint(2, 4)))
            for line in wrap(paragraph, font, width):
                if y + step > bottom:
                    return y
                self.text((x, y), line, font)
                y += step
            y += step // 2
        return y

    def header_footer(self, number: int, face: str) -> int:
        small = _font(face, 18)
        self.text((MARGIN, 40), f"Quarterly Review {2000 + number % 25}  Internal Report", small)
        self.marginal.append(self.lines[-1])
        title = _font(face.replace(".ttf", "-Bold.ttf"), 34)
        self.text((MARGIN, 90), " ".join(self.rng.choice(WORDS) for _ in range(5)).title(), title)
        return 150

    def footer(self, number: int, face: str) -> None:
        small = _font(face, 18)
        self.text((MARGIN, HEIGHT - 60), "Northwind Analytics  Confidential", small)
        self.marginal.append(self.lines[-1])
        label = f"Page {number} of 40"
        self.text((WIDTH - MARGIN - round(small.getlength(label)), HEIGHT - 60), label, small)
        self.marginal.append(label)


def _columns(page: Page, top: int, count: int, face: str, size: int) -> None:
    gutter = 40
    width = (WIDTH - 2 * MARGIN - (count - 1) * gutter) // count
    font = _font(face, size)
    for i in range(count):
        page.column(MARGIN + i * (width + gutter), top, width, HEIGHT - 110, font)


def _table(page: Page, top: int, face: str, kind: str) -> int:
    font, bold = _font(face, 22), _font(face.replace(".ttf", "-Bold.ttf"), 22)
    bottom, truth = draw_table(page, top, kind, font, bold, WORDS, MARGIN, WIDTH - MARGIN)
    page.tables.append(truth)
    return bottom


def table_kind(number: int) -> str:
    """The kind of table on a table page: each kind on two pages in a row (clean, then scanned)."""
    return KINDS[(number // (2 * len(LAYOUTS))) % len(KINDS)]


def scanned(image: Image.Image, rng: random.Random) -> Image.Image:
    """A scanner's look: turned by up to a degree, a little blur, grain, JPEG."""
    return scanned_turned(image, rng)[0]


def scanned_turned(image: Image.Image, rng: random.Random) -> tuple[Image.Image, float]:
    """:func:`scanned`, and the angle it turned the page by (degrees, counter-clockwise)."""
    import numpy as np

    angle = rng.uniform(-1.0, 1.0)
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor="white")
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.9)))
    pixels = np.asarray(image.convert("L"), dtype=np.float32)
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 12, pixels.shape)
    grey = Image.fromarray(np.clip(pixels * 0.92 + 12 + noise, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    grey.convert("RGB").save(buffer, format="JPEG", quality=60)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), angle


def turned_box(box: list[float], angle: float) -> list[float]:
    """The box enclosing ``box`` after the page is turned by ``angle`` degrees about its middle (as Image.rotate)."""
    import math

    cx, cy, a = WIDTH / 2, HEIGHT / 2, math.radians(angle)
    corners = [(x, y) for x in (box[0], box[2]) for y in (box[1], box[3])]
    turned = [
        (cx + (x - cx) * math.cos(a) + (y - cy) * math.sin(a), cy - (x - cx) * math.sin(a) + (y - cy) * math.cos(a))
        for x, y in corners
    ]
    xs, ys = [p[0] for p in turned], [p[1] for p in turned]
    return [round(min(xs), 1), round(min(ys), 1), round(max(xs), 1), round(max(ys), 1)]


def render_page(number: int) -> tuple[Image.Image, str]:
    """Page ``number`` (deterministic): the image and its text, lines in reading order."""
    image, reference, _ = render_truth(number)
    return image, reference


def render_truth(number: int) -> tuple[Image.Image, str, dict]:
    """:func:`render_page`, and the page's structure: ``{"tables": [{"kind", "bbox", "rows"}], "marginal": [texts]}``
    (a table's box in the image's pixels, turned with a scanned page; see bench.page_tables)."""
    rng = random.Random(number)
    layout = LAYOUTS[number % len(LAYOUTS)]
    face = FACES[number % len(FACES)]
    page = Page(rng)
    top = page.header_footer(number, face)
    if layout == "report":
        _columns(page, top, 1, face, 24)
    elif layout == "paper":
        _columns(page, top, 2, face, 22)
    elif layout == "newsletter":
        _columns(page, top, 3, face, 20)
    elif layout == "small_print":
        _columns(page, top, 2, face, 16)
    else:
        top = page.column(MARGIN, top, WIDTH - 2 * MARGIN, top + 200, _font(face, 22)) + 20
        top = _table(page, top, face, table_kind(number))
        page.column(MARGIN, top, WIDTH - 2 * MARGIN, HEIGHT - 110, _font(face, 22))
    page.footer(number, face)
    image, angle = scanned_turned(page.image, rng) if is_scan(number) else (page.image, 0.0)
    tables = [{**table, "bbox": turned_box(table["bbox"], angle)} for table in page.tables]
    return image, "\n".join(page.lines) + "\n", {"tables": tables, "marginal": list(page.marginal)}


def is_scan(number: int) -> bool:
    """Every layout comes clean and scanned, in turns of len(LAYOUTS) pages."""
    return (number // len(LAYOUTS)) % 2 == 1


def layout_of(number: int) -> str:
    return LAYOUTS[number % len(LAYOUTS)] + ("_scan" if is_scan(number) else "")
