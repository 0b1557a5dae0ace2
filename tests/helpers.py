"""Test images rendered with Pillow's own font, and the CER used to score OCR."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from bench import scoring
from inference.backends.ocr.tesseract import find_tessdata
from inference.values import OcrLine

HAS_TESSERACT = importlib.util.find_spec("tesserocr") is not None and find_tessdata("auto") is not None
needs_tesseract = pytest.mark.skipif(
    not HAS_TESSERACT, reason="Tesseract's data is not installed (.ci/run installs tesseract-ocr-eng)"
)
HAS_TESSERACT_RUSSIAN = HAS_TESSERACT and (find_tessdata("auto") / "rus.traineddata").is_file()
needs_tesseract_russian = pytest.mark.skipif(
    not HAS_TESSERACT_RUSSIAN, reason="Tesseract's Russian data is not installed (.ci/run installs tesseract-ocr-rus)"
)

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


def font_or_skip(size: int):
    """``cyrillic_font(size)``, or the test skipped where the machine has no such font (.ci/run installs one)."""
    found = cyrillic_font(size)
    if found is None:
        pytest.skip("no system font with Cyrillic glyphs (.ci/run installs fonts-dejavu-core)")
    return found


def render_with(font, lines: list[str], margin: int = 24, spacing: float = 1.6) -> Image.Image:
    line_height = int(font.size * spacing)
    width = max(int(font.getlength(line)) for line in lines) + 2 * margin
    image = Image.new("RGB", (width, line_height * len(lines) + 2 * margin), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((margin, margin + i * line_height), line, fill="black", font=font)
    return image


def image_pdf(pages: list[Image.Image], resolution: float = 150.0) -> bytes:
    """A PDF of scanned-looking pages: images only, no text layer (Pillow writes it)."""
    buffer = io.BytesIO()
    pages[0].convert("RGB").save(
        buffer, format="PDF", save_all=True, resolution=resolution, append_images=[p.convert("RGB") for p in pages[1:]]
    )
    return buffer.getvalue()


def text_pdf(pages: list[list[str]], font_size: int = 12, origin: tuple[int, int] = (0, 0), rotate: int = 0) -> bytes:
    """A PDF whose pages carry real text (a text layer, Helvetica), one string per line; written by hand so the
    tests need no PDF-making library. Letter-size pages whose MediaBox starts at ``origin``, turned by ``rotate``
    degrees (/Rotate) when shown."""
    bodies = []
    x, y = origin
    for lines in pages:
        escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
        bodies.append(
            f"BT /F1 {font_size} Tf {font_size * 1.5:g} TL {x + 72} {y + 770} Td "
            + " ".join(f"({t}) Tj T*" for t in escaped)
            + " ET"
        )
    return drawn_pdf(bodies, origin=origin, rotate=rotate)


def drawn_pdf(
    bodies: list[str], font: str = "Helvetica", encoding: str = "", origin: tuple[int, int] = (0, 0), rotate: int = 0
) -> bytes:
    """A PDF of letter-size pages, each drawn by its content stream in ``bodies`` (font /F1: ``font``, in its own
    encoding unless ``encoding`` names one, e.g. WinAnsiEncoding)."""
    encoded = f" /Encoding /{encoding}" if encoding else ""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "", f"<< /Type /Font /Subtype /Type1 /BaseFont /{font}{encoded} >>"]
    kids = []
    x, y = origin
    for body in bodies:
        objects.append(f"<< /Length {len(body)} >>\nstream\n{body}\nendstream")
        content = len(objects)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [{x} {y} {x + 612} {y + 792}] /Rotate {rotate} "
            f"/Contents {content} 0 R /Resources << /Font << /F1 3 0 R >> >> >>"
        )
        kids.append(len(objects))
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>"
    return pdf_file(objects)


def pdf_file(objects: list[str]) -> bytes:
    """A PDF of these objects (numbered from 1, the first its catalog), with its cross-reference table."""
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def ruled_table_pdf(rows: list[tuple[str, str]], title: str = "Invoice 2041: thank you for your order.") -> bytes:
    """A born-digital page: ``title``, then a ruled table of two columns, a row for each of ``rows`` (its cells' text
    in the text layer, Helvetica 9 pt)."""
    xs, ys = [72, 300, 540], [700 - 24 * i for i in range(len(rows) + 1)]
    body = "1 w 0 G\n" + "".join(f"{xs[0]} {y} m {xs[-1]} {y} l S\n" for y in ys)
    body += "".join(f"{x} {ys[0]} m {x} {ys[-1]} l S\n" for x in xs)
    for row, cells in enumerate(rows):
        for x, text in zip((xs[0] + 5, xs[1] + 5), cells, strict=True):
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            body += f"BT /F1 9 Tf {x} {ys[row] - 16} Td ({escaped}) Tj ET\n"
    body += f"BT /F1 11 Tf 72 740 Td ({title}) Tj ET\n"
    return drawn_pdf([body])


def encrypted_pdf(data: bytes, password: str = "secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def line_at(text: str, x0: float, y0: float, x1: float, y1: float) -> OcrLine:
    """An engine's line of text in the box (x0, y0)-(x1, y1), read with confidence 0.9."""
    from inference.values import OcrLine

    return OcrLine(text=text, box=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], confidence=0.9)


DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
# A till receipt's rows (left, right), as SROIE's AEON receipts print them
AEON_RECEIPT = [
    ("AEON CO. (M) BHD", ""),
    ("GST ID : 002017394688", ""),
    ("1X 000007996511", "75.00SR"),
    ("SUB-TOTAL", "75.00"),
    ("TAX CODE SR @ 6%", "4.25"),
    ("CHANGE RM", "25.00"),
    ("*** THANK YOU ***", ""),
    ("PLEASE COME AGAIN", ""),
]


def dejavu(face: str, size: int):
    """A DejaVu face (the test skips where the fonts are missing: .ci/run installs them)."""
    path = DEJAVU / face
    if not path.is_file():
        pytest.skip("the DejaVu fonts are not installed (.ci/run installs fonts-dejavu-core)")
    return ImageFont.truetype(str(path), size)


def aeon_receipt(font) -> Image.Image:
    """:data:`AEON_RECEIPT` drawn in two columns."""
    image = Image.new("RGB", (620, 40 + 44 * len(AEON_RECEIPT)), "white")
    draw = ImageDraw.Draw(image)
    for i, (left, right) in enumerate(AEON_RECEIPT):
        draw.text((20, 20 + 44 * i), left, fill="black", font=font)
        draw.text((480, 20 + 44 * i), right, fill="black", font=font)
    return image


def tesseract_reads(monkeypatch) -> dict[str, int]:
    """How many images Tesseract is given, by its languages ("eng", "rus+eng"), counted where tesserocr takes them (the
    library, not our code), for the handles made from now on: call it before the backend is loaded."""
    import tesserocr

    reads: dict[str, int] = {}

    class Counted(tesserocr.PyTessBaseAPI):
        def SetImage(self, image):
            languages = self.GetInitLanguagesAsString()
            reads[languages] = reads.get(languages, 0) + 1
            return super().SetImage(image)

    monkeypatch.setattr(tesserocr, "PyTessBaseAPI", Counted)
    return reads


def recogniser_reads(backend, monkeypatch) -> list[int]:
    """The line crops RapidOCR's recogniser is given, a count per run, for ``backend`` (a loaded RapidOCR backend: its
    engines share one recogniser session), counted where RapidOCR's session runner takes them (the library's)."""
    with backend.engine() as engine:
        runner = engine.text_rec.session
    runs: list[int] = []
    run = type(runner).__call__

    def counted(self, inputs, *args, **kwargs):
        if self is runner:
            runs.append(len(inputs))
        return run(self, inputs, *args, **kwargs)

    monkeypatch.setattr(type(runner), "__call__", counted)
    return runs


INVOICE_ROWS = [
    ["Item", "Qty", "Unit price", "Amount"],
    ["Printer paper A4 (box)", "4", "23.50", "94.00"],
    ["Stapler heavy duty", "1", "18.90", "18.90"],
    ["Ballpoint pens (pack)", "10", "3.20", "32.00"],
]


def ruled_invoice(font, rows: list[list[str]] = INVOICE_ROWS) -> Image.Image:
    """An invoice's table (``rows`` of four cells) in ruled cells, a row each 50 px: narrow columns of short words and
    numbers."""
    image = Image.new("RGB", (900, max(300, 80 + 50 * len(rows))), "white")
    draw = ImageDraw.Draw(image)
    columns, bottom = [40, 420, 520, 700, 860], 60 + 50 * len(rows)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            draw.text((columns[c] + 8, 72 + r * 50), cell, font=font, fill="black")
        draw.line([(40, 60 + r * 50), (860, 60 + r * 50)], fill="black", width=2)
    draw.line([(40, bottom), (860, bottom)], fill="black", width=2)
    for x in columns:
        draw.line([(x, 60), (x, bottom)], fill="black", width=2)
    return image
