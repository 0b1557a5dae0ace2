"""Documents as people have them: one image, a multi-page TIFF or a PDF, opened once and read page by page.

:func:`open_document` checks the file and the page selection cheaply (a PDF's pages are counted, not
rendered); each :class:`DocPage` then either carries its PDF text layer, when that layer is good, or is
rendered on demand (:meth:`DocPage.render`) at the size the reading model wants. PDFs are read with
pypdfium2 (BSD/Apache) in a child process (``pdf_sandbox``), each page within ``limits.page_timeout_s`` seconds and
``limits.page_memory_mb`` MB: a page over them (a content bomb) fails alone, and the rest of its file after it.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from PIL import Image

from . import held_images, images, tiff_pages, tiff_tags
from .errors import BadInput, PayloadTooLarge
from .heap import gc_paused
from .pdf_sandbox import OverLimits, PdfError, PdfFile
from .settings import LimitSettings
from .text_budget import kept
from .values import OcrLine

T = TypeVar("T")


@dataclass
class DocPage:
    number: int  # 1-based, as people count pages
    text: str | None = None  # the text layer's text, when it is good and OCR is not forced
    layer_text: str | None = None  # OCR forced on a page with a good text layer: that text (its reading is compared with it)
    lines: list[OcrLine] = field(default_factory=list)  # the text layer's lines, boxes in rendered pixels
    lines_later: Callable[[], list[OcrLine]] | None = None  # its lines, loaded when read (past a job's text_budget)
    size: tuple[int, int] = (0, 0)  # [width, height] of the page as rendered (or as it would be)
    render: Callable[[], Image.Image] | None = None  # the page as an upright RGB image (pages that need OCR)
    preview: Callable[[], Image.Image] | None = None  # a text-layer page rendered small (for its layout), else None
    deferred: bool = False  # rendered when its turn at the model comes (a large image: not held decoded while it waits)

    @property
    def needs_ocr(self) -> bool:
        return self.text is None


@dataclass
class Document:
    name: str
    kind: str  # "image", "tiff" or "pdf"
    page_count: int  # pages in the file, selected or not
    pages: list[DocPage]
    handle: Any = None  # the open PDF (a pdf_sandbox.PdfFile), closed by close()

    @property
    def multipage(self) -> bool:
        return self.kind != "image"

    def close(self) -> None:
        """Free the PDF now (its reader process closes it), and a large image's decoding held for its turn."""
        for page in self.pages:
            if isinstance(page.render, held_images.Held):
                page.render.close()
        if self.handle is not None:
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
                raise BadInput(f"pages must look like '1-3,5' (page numbers from 1, ranges with '-'); got {spec[:40]!r}.")


def _too_many(name: str, chosen: int, limit: int, more: bool = False) -> BadInput:
    return BadInput(
        f"'{images.shown(name)}': {'more than ' if more else ''}{limit if more else chosen} pages chosen; "
        f"at most {limit} are read per file. Choose pages with 'pages' (e.g. pages=1-{limit}), or send "
        "the rest as another file or job."
    )


def kind_of(data: bytes) -> str:
    if data.startswith(b"%PDF") or data[:1024].find(b"%PDF-") >= 0:
        return "pdf"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return "image"


def open_document(
    data: bytes,
    limits: LimitSettings,
    name: str = "file",
    pages: str | None = None,
    longest_side: int = 2048,
    force_ocr: bool = False,
    text_layer: bool = True,
    one_of_many: bool = False,
) -> Document:
    """Check and open ``data``; pages that need OCR render at ``longest_side`` px (never above 300 dpi). Without
    ``text_layer`` (a preview, which only renders) a PDF's text layer is not read when ``force_ocr`` renders anyway.
    An image over :data:`KEPT_PIXELS` is decoded to check it, and when its turn at the model comes (``DocPage.deferred``)
    decoded again unless it was held for it (``held_images``): a batch of 32 large images, or 24 requests of one waiting
    in a queue, never sit decoded in memory at once (~120 MB each at 40 Mpx). ``one_of_many`` (a file of a batch or
    job): an image is read whole whatever ``pages`` says (a batch's pages choose its documents' pages)."""
    if not data:
        raise BadInput(f"'{images.shown(name)}' is empty (0 bytes).")
    if len(data) > limits.max_file_bytes:
        raise PayloadTooLarge(
            f"'{images.shown(name)}' is larger than the {limits.max_file_bytes / (1024 * 1024):.1f} MiB limit per file."
        )
    kind = kind_of(data)
    if kind == "pdf":
        return _open_pdf(data, limits, name, pages, longest_side, force_ocr, text_layer)
    if kind == "tiff":
        doc = _open_tiff(data, limits, name, pages)
        if doc is not None:
            return doc
    image = images.decode(data, limits, name)
    pages = None if one_of_many else pages
    if image.width * image.height <= KEPT_PIXELS:
        return image_document(image, name, pages)
    parse_pages(pages, 1, name)
    size, render = image.size, held_images.HELD.hold(image, lambda: images.decode(data, limits, name))
    del image
    return Document(name, "image", 1, [DocPage(1, size=size, render=render, deferred=True)])


KEPT_PIXELS = 6_000_000  # an image kept decoded from its check until it is read (~18 MB in RGB); larger: ``held_images``


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
            with Image.open(io.BytesIO(data), formats=["TIFF"]) as tiff:
                found = tiff_pages.frames(tiff, name, max(tiff_pages.MAX_TIFF_PAGES, limits.max_pages))
    except tiff_tags.TooMuchMetadata:
        raise tiff_tags.named(images.shown(name)) from None
    except BadInput:
        raise
    except Exception:  # Pillow raises many types for corrupt data
        raise BadInput(f"'{images.shown(name)}' could not be read as a TIFF: the file is corrupt or truncated.") from None
    if len(found) <= 1:
        return None
    chosen = parse_pages(pages, len(found), name, limits.max_pages)
    for number in chosen:
        images.check_size(found[number - 1][1], limits, name)
    return Document(
        name,
        "tiff",
        len(found),
        [DocPage(n, size=found[n - 1][1], render=tiff_pages.frame_renderer(data, found[n - 1][0], n, name)) for n in chosen],
    )


# ---- PDF --------------------------------------------------------------------------------------------------
def _pdf_error(exc: PdfError, name: str) -> BadInput:
    shown = images.shown(name)
    if exc.kind == "encrypted":
        return BadInput(f"'{shown}' is a password-protected (encrypted) PDF; remove the password and send it again.")
    return BadInput(f"'{shown}' could not be read as a PDF: the file is corrupt or truncated.")


def _over_limits(exc: OverLimits) -> str:
    """What went over, as a page's error or after a file's name."""
    if exc.reason == "time":
        return (
            f"reading it took longer than {exc.limit:g} s, the server's limit per page (its content is too "
            "complex, or made to exhaust the server)."
        )
    return (
        f"reading it needs more than {exc.limit:g} MB of memory, the server's limit per page (its content is "
        "too large, or made to exhaust the server)."
    )


def _open_pdf(
    data: bytes, limits: LimitSettings, name: str, pages: str | None, longest_side: int, force_ocr: bool, text_layer: bool
) -> Document:
    """Count the pages and read each chosen page's size and text layer in the PDF reader's process (with
    ``force_ocr`` the page is read through the model anyway, its text layer kept to compare the reading with). A page
    over the limits (here or when it is rendered) fails, and every page of this file read after it too, at once: a
    file built of such pages never costs more than one page's limits."""
    pdf = PdfFile(data, limits.page_timeout_s, limits.page_memory_mb, limits.max_image_pixels)
    shown = images.shown(name)
    try:
        try:
            count = pdf.page_count()
        except PdfError as exc:
            raise _pdf_error(exc, name) from None
        except OverLimits as exc:
            raise BadInput(f"'{shown}' could not be opened: {_over_limits(exc)}") from None
        if count == 0:
            raise BadInput(f"'{shown}' is a PDF with no pages.")
        chosen = parse_pages(pages, count, name, limits.max_pages)
        doc_pages = []
        for number in chosen:
            if pdf.over_page is not None:
                doc_pages.append(DocPage(number, render=_failing(_after_over(pdf))))
                continue
            try:
                size, scale, text, runs = pdf.page(number, longest_side, text=text_layer or not force_ocr)
            except PdfError as exc:
                raise _pdf_error(exc, name) from None
            except OverLimits as exc:
                pdf.over_page = number
                doc_pages.append(DocPage(number, render=_failing(BadInput(_over_limits(exc)))))
                continue
            if force_ocr:
                doc_pages.append(DocPage(number, layer_text=text, size=size, render=_renderer(pdf, number, scale, name)))
                continue
            keep = text is None or kept(len(runs), shown, number)
            doc_pages.append(
                DocPage(
                    number,
                    text=text,
                    lines=_text_lines(runs) if text is not None and keep else [],
                    lines_later=None if keep else _lines_later(pdf, number, longest_side, name),
                    size=size,
                    render=None if text is not None else _renderer(pdf, number, scale, name),
                    preview=None if text is None else _renderer(pdf, number, scale * min(1, PREVIEW_SIDE / max(*size, 1)), name),
                )
            )
    except BaseException:
        pdf.close()
        raise
    return Document(name, "pdf", count, doc_pages, handle=pdf)


def _text_lines(runs: list) -> list[OcrLine]:
    with gc_paused():  # (a dense text layer's thousands of lines; not the wait for a PDF reader: see inference.heap)
        return _lines_of(runs)


def _lines_of(runs: list) -> list[OcrLine]:
    return [
        OcrLine(text=run, box=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], confidence=1.0, engine="text-layer")
        for run, (x0, y0, x1, y1) in runs
    ]


def _lines_later(pdf: PdfFile, number: int, longest_side: int, name: str) -> Callable[[], list[OcrLine]]:
    """A page's lines loaded when it is read: what stops it fails the page alone (BadInput), as rendering it would."""

    return lambda: _text_lines(_guarded(pdf, number, name, "read", lambda: pdf.page(number, longest_side, text=True))[3])


def _guarded(pdf: PdfFile, number: int, name: str, doing: str, call: Callable[[], T]) -> T:
    """``call`` (page ``number`` read or rendered in the PDF reader), its failures the page's own (BadInput); after a page
    over the limits, not tried at all (a file of many slow pages costs one page's time, not each page's)."""
    if pdf.over_page is not None:
        raise _after_over(pdf)
    try:
        return call()
    except PdfError:
        raise BadInput(f"'{images.shown(name)}': page {number} could not be {doing} (the PDF is damaged).") from None
    except OverLimits as exc:
        pdf.over_page = number
        raise BadInput(_over_limits(exc)) from None


PREVIEW_SIDE = 800  # px: a text-layer page's layout is found on it rendered this small (the layout model reads 608x800)


def _failing(error: BadInput) -> Callable[[], Image.Image]:
    """A page that could not be read: reading it again raises why (never tried twice)."""

    def render() -> Image.Image:
        raise error

    return render


def _after_over(pdf: PdfFile) -> BadInput:
    return BadInput(f"not read: page {pdf.over_page} of this PDF went over the server's limits.")


def _renderer(pdf: PdfFile, number: int, scale: float, name: str) -> Callable[[], Image.Image]:
    return lambda: _guarded(pdf, number, name, "rendered", lambda: pdf.render(number, scale))


def page_count(data: bytes, pages: str | None = None, limits: LimitSettings | None = None) -> int:
    """How many pages reading ``data`` will take (nothing rendered or decoded); 1 for an image or a bad file."""
    try:
        kind = kind_of(data)
        if kind == "pdf":
            limits = limits or LimitSettings()
            pdf = PdfFile(data, limits.page_timeout_s, limits.page_memory_mb, limits.max_image_pixels)
            try:
                count = pdf.page_count()
            finally:
                pdf.close()
        elif kind == "tiff":
            with Image.open(io.BytesIO(data), formats=["TIFF"]) as tiff:
                most = max(tiff_pages.MAX_TIFF_PAGES, (limits or LimitSettings()).max_pages)
                count = max(1, len(tiff_pages.frames(tiff, "file", most)))
        else:
            return 1
        return max(1, len(parse_pages(pages, count)))
    except Exception:
        return 1
