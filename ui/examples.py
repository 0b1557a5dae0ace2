"""Example inputs for the tabs: images this project renders itself at start-up (so they carry no third party's
licence: they are made here, from Pillow's own font and the system's DejaVu font when present)."""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from . import downloads

LICENCE = "Examples: images rendered by this server at start-up (no third-party content)."

RECEIPT = [
    ("CORNER CAFE", ""),
    ("2 x Flat white", "7.00"),
    ("1 x Croissant", "3.20"),
    ("1 x Orange juice", "4.50"),
    ("SUBTOTAL", "14.70"),
    ("VAT 20%", "2.94"),
    ("TOTAL", "17.64"),
    ("Paid by card", ""),
]
PAGE = [
    "Quarterly report",
    "",
    "Revenue grew by twelve percent in the",
    "third quarter, driven by new customers",
    "in the northern region. Costs stayed",
    "flat, so the operating margin rose to",
    "eighteen percent.",
]
RUSSIAN = ["Счёт № 5821 от 12 марта", "Итого к оплате: 3450 рублей"]


def _font(size: int, cyrillic: bool = False) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    if cyrillic:
        for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf"):
            if Path(path).is_file():
                return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _receipt() -> Image.Image:
    font = _font(22)
    image = Image.new("RGB", (420, 40 + 38 * len(RECEIPT)), "white")
    draw = ImageDraw.Draw(image)
    for i, (item, price) in enumerate(RECEIPT):
        draw.text((24, 20 + 38 * i), item, fill="black", font=font)
        if price:
            draw.text((330, 20 + 38 * i), price, fill="black", font=font)
    return image


def _page(lines: list[str], cyrillic: bool = False) -> Image.Image:
    font = _font(28, cyrillic)
    width = max(int(font.getlength(line)) for line in lines) + 60
    image = Image.new("RGB", (width, 50 + 46 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((30, 25 + 46 * i), line, fill="black", font=font)
    return image


@functools.lru_cache(maxsize=1)
def images() -> dict[str, str]:
    """name -> path of each example image (rendered once per process)."""
    folder = downloads.folder("examples")
    made = {"receipt": _receipt(), "report": _page(PAGE)}
    if isinstance(_font(10, cyrillic=True), ImageFont.FreeTypeFont):
        made["russian"] = _page(RUSSIAN, cyrillic=True)
    paths = {}
    for name, image in made.items():
        path = folder / f"{name}.png"
        image.save(path)
        paths[name] = str(path)
    return paths


@functools.lru_cache(maxsize=1)
def favicon() -> str:
    """The page's icon: a document with lines of text (rendered once per process)."""
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((10, 4, 54, 60), radius=6, fill=(37, 99, 235, 255))
    for y in (16, 26, 36, 46):
        draw.line((18, y, 46 if y != 46 else 36, y), fill="white", width=4)
    path = downloads.folder("icon") / "favicon.png"
    image.save(path)
    return str(path)
