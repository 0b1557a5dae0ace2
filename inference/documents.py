"""Documents as people have them: one image, a multi-page TIFF or a PDF, opened once and read page by page.

:func:`open_document` checks the file and the page selection cheaply (a PDF's pages are counted, not
rendered); each :class:`DocPage` then either carries its PDF text layer, when that layer is good, or is
rendered on demand (:meth:`DocPage.render`) at the size the reading model wants. PDFs are read with
pypdfium2 (BSD/Apache): PDFium is not thread-safe, so every call into it holds one lock.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps

from . import images
from .errors import BadInput, PayloadTooLarge
from .pdf_text import PDFIUM, text_layer
from .settings import LimitSettings
from .values import OcrLine

MAX_DPI = 300  # a small page is never rendered finer than this


@dataclass
class DocPage:
    number: int  # 1-based, as people count pages
    text: str | None = None  # the text layer's text, when it is good and OCR is not forced
    lines: list[OcrLine] = field(default_factory=list)  # the text layer's lines, boxes in rendered pixels
    size: tuple[int, int] = (0, 0)  # [width, height] of the page as rendered (or as it would be)
    render: Callable[[], Image.Image] | None = None  # the page as an upright RGB image (pages that need OCR)

    @property
    def needs_ocr(self) -> bool:
        return self.text is None


@dataclass
class Document:
    name: str
    kind: str  # "image", "tiff" or "pdf"
    page_count: int  # pages in the file, selected or not
    pages: list[DocPage]
    handle: Any = None  # the open PDF, closed by close()

    @property
    def multipage(self) -> bool:
        return self.kind != "image"

    def close(self) -> None:
        """Free the PDF now, under the lock (left to the garbage collector, PDFium could be entered from two
        threads at once)."""
        if self.handle is not None:
            with PDFIUM:
                self.handle.close()
            self.handle = None


def parse_pages(spec: str | None, count: int, name: str = "file", limit: int | None = None) -> list[int]:
    """``"1-3,5"`` -> [1, 2, 3, 5] (1-based, in the order given, each once); None or "" -> every page. More than
    ``limit`` pages chosen is a BadInput (found without listing them all)."""
    if spec is None or not spec.strip():
        if limit is not None and count > limit:
            raise _too_many(name, count, limit)
        return list(range(1, count + 1))
    chosen, seen = [], set()
    for part in spec.replace(" ", "").split(","):
        match = re.fullmatch(r"(\d{1,9})(?:-(\d{0,9}))?", part)
        if not match:
            raise BadInput(f"pages must look like '1-3,5' (page numbers from 1, ranges with '-'); got {spec[:40]!r}.")
        first = int(match.group(1))
        last = first if match.group(2) is None else (int(match.group(2)) if match.group(2) else count)
        if first < 1 or last < first:
            raise BadInput(f"pages: '{part}' is not a range of page numbers counted from 1.")
        if first > count:
            raise BadInput(f"pages: '{images.shown(name)}' has {count} page(s); there is no page {first}.")
        for n in range(first, min(last, count) + 1):
            if n not in seen:
                seen.add(n)
                chosen.append(n)
                if limit is not None and len(chosen) > limit:
                    raise _too_many(name, len(chosen), limit, more=True)
    return chosen


def check_pages(spec: str | None) -> None:
    """The syntax of a page selection, before any file's page count is known (a job checks it at once)."""
    if spec and spec.strip():
        for part in spec.replace(" ", "").split(","):
            match = re.fullmatch(r"(\d{1,9})(?:-(\d{0,9}))?", part)
            if not match or int(match.group(1)) < 1 or (match.group(2) and int(match.group(2)) < int(match.group(1))):
                raise BadInput(f"pages must look like '1-3,5' (page numbers from 1, ranges with '-'); "
                               f"got {spec[:40]!r}.")


def _too_many(name: str, chosen: int, limit: int, more: bool = False) -> BadInput:
    return BadInput(f"'{images.shown(name)}': {'more than ' if more else ''}{limit if more else chosen} pages chosen; "
                    f"at most {limit} are read per file. Choose pages with 'pages' (e.g. pages=1-{limit}), or send "
                    "the rest as another file or job.")


def kind_of(data: bytes) -> str:
    if data.startswith(b"%PDF") or data[:1024].find(b"%PDF-") >= 0:
        return "pdf"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return "image"


def open_document(data: bytes, limits: LimitSettings, name: str = "file", pages: str | None = None,
                  longest_side: int = 2048, force_ocr: bool = False) -> Document:
    """Check and open ``data``; pages that need OCR render at ``longest_side`` px (never above 300 dpi)."""
    if not data:
        raise BadInput(f"'{images.shown(name)}' is empty (0 bytes).")
    if len(data) > limits.max_file_bytes:
        raise PayloadTooLarge(f"'{images.shown(name)}' is larger than the "
                              f"{limits.max_file_bytes / (1024 * 1024):.1f} MiB limit per file.")
    kind = kind_of(data)
    if kind == "pdf":
        return _open_pdf(data, limits, name, pages, longest_side, force_ocr)
    if kind == "tiff":
        doc = _open_tiff(data, limits, name, pages)
        if doc is not None:
            return doc
    return image_document(images.decode(data, limits, name), name, pages)


def image_document(image: Image.Image, name: str = "file", pages: str | None = None) -> Document:
    """One decoded image as a one-page document ('pages=2' on it is an error, not ignored)."""
    parse_pages(pages, 1, name)
    return Document(name, "image", 1, [DocPage(1, size=image.size, render=lambda: image)])


def _open_tiff(data: bytes, limits: LimitSettings, name: str, pages: str | None) -> Document | None:
    """A multi-page TIFF, each chosen frame checked (its size, read from its header) and decoded only when it is
    read; None for a one-page TIFF (read as an image)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as tiff:
                count = getattr(tiff, "n_frames", 1)
                if count <= 1:
                    return None
                chosen = parse_pages(pages, count, name, limits.max_pages)
                sizes = {}
                for number in chosen:
                    tiff.seek(number - 1)
                    images.check_pixels(tiff, limits, name)
                    sizes[number] = tiff.size
    except BadInput:
        raise
    except Exception:  # Pillow raises many types for corrupt data
        raise BadInput(f"'{images.shown(name)}' could not be read as a TIFF: the file is corrupt or truncated.") from None
    return Document(name, "tiff", count, [DocPage(n, size=sizes[n], render=_frame_renderer(data, n, name))
                                          for n in chosen])


def _frame_renderer(data: bytes, number: int, name: str) -> Callable[[], Image.Image]:
    def render() -> Image.Image:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as tiff:
                    tiff.seek(number - 1)
                    tiff.load()
                    return images.to_rgb(ImageOps.exif_transpose(tiff.copy()))
        except Exception:
            raise BadInput(f"'{images.shown(name)}': page {number} could not be decoded (corrupt or truncated)."
                           ) from None

    return render


# ---- PDF --------------------------------------------------------------------------------------------------
def _pdf_error(exc: Exception, name: str) -> BadInput:
    text = str(exc).lower()
    shown = images.shown(name)
    if "password" in text or "security" in text:
        return BadInput(f"'{shown}' is a password-protected (encrypted) PDF; remove the password and send it again.")
    return BadInput(f"'{shown}' could not be read as a PDF: the file is corrupt or truncated.")


def _open_pdf(data: bytes, limits: LimitSettings, name: str, pages: str | None, longest_side: int,
              force_ocr: bool) -> Document:
    import pypdfium2 as pdfium

    with PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise _pdf_error(exc, name) from None
        count = len(pdf)
    try:
        if count == 0:
            raise BadInput(f"'{images.shown(name)}' is a PDF with no pages.")
        chosen = parse_pages(pages, count, name, limits.max_pages)
    except BadInput:
        with PDFIUM:
            pdf.close()
        raise
    doc_pages = []
    try:
        for number in chosen:
            with PDFIUM:
                try:
                    page = pdf[number - 1]
                    width_pt, height_pt = page.get_size()
                except pdfium.PdfiumError as exc:
                    raise _pdf_error(exc, name) from None
            try:
                scale = _scale(width_pt, height_pt, longest_side, limits.max_image_pixels)
                size = (max(1, math.ceil(width_pt * scale)), max(1, math.ceil(height_pt * scale)))  # as rendered
                text, lines = (None, []) if force_ocr else text_layer(page, size)
            finally:
                with PDFIUM:
                    page.close()
            doc_pages.append(DocPage(number, text=text, lines=lines, size=size,
                                     render=None if text is not None else _renderer(pdf, number, scale, name)))
    except BaseException as exc:
        with PDFIUM:
            pdf.close()
        if isinstance(exc, (pdfium.PdfiumError, ValueError, OSError)):
            raise _pdf_error(exc, name) from None
        raise
    return Document(name, "pdf", count, doc_pages, handle=pdf)


def _scale(width_pt: float, height_pt: float, longest_side: int, max_pixels: int) -> float:
    """Points -> pixels: the longest side at ``longest_side`` px, at most 300 dpi and ``max_pixels`` pixels."""
    width_pt, height_pt = max(width_pt, 1.0), max(height_pt, 1.0)
    scale = min(longest_side / max(width_pt, height_pt), MAX_DPI / 72)
    return min(scale, (max_pixels / (width_pt * height_pt)) ** 0.5)


def _renderer(pdf, number: int, scale: float, name: str) -> Callable[[], Image.Image]:
    def render() -> Image.Image:
        import pypdfium2 as pdfium

        with PDFIUM:
            page = bitmap = None
            try:
                page = pdf[number - 1]
                bitmap = page.render(scale=scale, may_draw_forms=True)
                image = images.to_rgb(bitmap.to_pil()).copy()  # owns its pixels: the bitmap is freed here
            except (pdfium.PdfiumError, ValueError, OSError):
                raise BadInput(f"'{images.shown(name)}': page {number} could not be rendered (the PDF is damaged)."
                               ) from None
            finally:
                for handle in (bitmap, page):
                    if handle is not None:
                        handle.close()
        return image

    return render


def page_count(data: bytes, pages: str | None = None) -> int:
    """How many pages reading ``data`` will take (nothing rendered or decoded); 1 for an image or a bad file."""
    try:
        kind = kind_of(data)
        if kind == "pdf":
            import pypdfium2 as pdfium

            with PDFIUM:
                pdf = pdfium.PdfDocument(data)
                count = len(pdf)
                pdf.close()
        elif kind == "tiff":
            with Image.open(io.BytesIO(data)) as tiff:
                count = getattr(tiff, "n_frames", 1)
        else:
            return 1
        return max(1, len(parse_pages(pages, count)))
    except Exception:
        return 1
