"""What the OCR tab shows of a result, as plain functions: the text and the Markdown with a marker at each page of a
document (``--- page N ---``, in the downloads too), the line under them that says what was counted, the files to
download, and the drawing of a page's lines and blocks (each block labelled with its type)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from inference.markdown import page_markdown
from inference.markdown_text import inline
from inference.results import OcrResult, PageResult

from .downloads import written

OVERLAY_MAX_SIDE = 1200  # the drawing is made on a copy at most this large...
OVERLAY_MAX_HEIGHT = 1600  # ...and at most this tall (a long receipt stays a readable strip)
LINE_COLOUR = (220, 38, 38)
BLOCK_COLOURS = {  # one colour per block type (the label names it too)
    "title": (124, 58, 237),
    "text": (37, 99, 235),
    "list": (8, 145, 178),
    "table": (22, 163, 74),
    "figure": (217, 119, 6),
    "caption": (202, 138, 4),
    "equation": (219, 39, 119),
    "header": (100, 116, 139),
    "footer": (100, 116, 139),
    "page_number": (100, 116, 139),
}


def marker(number: int) -> str:
    return f"--- page {number} ---"


def _page_failed(page: PageResult) -> str:
    return f"(page {page.page} could not be read: {page.error})"


def shown_text(result: OcrResult) -> str:
    """The text as shown and downloaded: a document's pages each under its ``--- page N ---`` marker."""
    if result.pages is None:
        return result.text
    return "\n\n".join(f"{marker(p.page)}\n{_page_failed(p) if p.error else p.text}" for p in result.pages)


def shown_markdown(result: OcrResult) -> str:
    """The result as Markdown (headings, tables and lists from the blocks when the engine gave them, else rebuilt
    from the lines): a document's pages each under its ``--- page N ---`` marker."""
    if result.pages is None:
        return page_markdown(result.text, result.lines, result.blocks)
    parts = []
    for p in result.pages:
        body = f"*{inline(' '.join(_page_failed(p).split()))}*" if p.error else page_markdown(p.text, p.lines, p.blocks)
        parts.append(f"{marker(p.page)}\n\n{body}")
    return "\n\n".join(parts)


def _boxes(found: int, from_layer: int = 0) -> str:
    """The boxes counted: the engine's (found) and a PDF's text layer's (read from the file: no engine ran on them)."""
    if not from_layer:
        return f"**Boxes found** {found} (the engine's line segments)"
    if not found:
        return f"**Boxes** {from_layer} (the lines of the PDF's own text)"
    return f"**Boxes** {found + from_layer} ({found} line segments found by the engine, {from_layer} lines of the PDF's own text)"


def _counted(lines: int, boxes: str, blocks: list[Any]) -> str:
    said = f"**Text** {lines} line{'s' * (lines != 1)} · {boxes}"
    if blocks:
        tables = sum(b.type == "table" for b in blocks)
        said += f" · **Blocks** {len(blocks)}" + (f" ({tables} table{'s' * (tables != 1)})" if tables else "")
    return said


def _readers(result: OcrResult) -> str | None:
    """model=auto: who read the input (each engine, with its pages counted for a document) and why pages went to the
    VLM; None for a request that named its model (the Model part says it)."""
    if result.model != "auto":
        return None
    document = result.pages is not None
    reads = [(p.engine, p.route) for p in result.pages or []] if document else [(result.engine, result.route)]
    said = []
    for engine in dict.fromkeys(engine for engine, _ in reads if engine):
        n = sum(e == engine for e, _ in reads)
        why = ", ".join(dict.fromkeys(route for e, route in reads if e == engine and route))
        details = [f"{n} page{'s' * (n != 1)}"] if document else []
        details += [f"sent for {why}"] if why else []
        said.append(f"{engine} ({': '.join(details)})" if details else engine)
    return "**Read by** " + ", ".join(said) if said else None


def describe(result: OcrResult) -> str:
    """Model, time, size or pages, what was counted (lines of text, boxes the engine found or a PDF's text gave, blocks),
    language and warnings, as a line a person reads."""
    width, height = result.image_size
    parts = [f"**Model** {result.model}", f"**Time** {result.processing_time:.2f} s"]
    text_lines = sum(1 for line in result.text.splitlines() if line.strip())
    if result.pages is not None:
        from_layer = sum(p.source == "text-layer" for p in result.pages)
        parts.append(f"**Pages** {len(result.pages)}" + (f" ({from_layer} from the PDF's text)" if from_layer else ""))
        found = sum(len(p.lines) for p in result.pages if p.source != "text-layer")
        boxes = _boxes(found, sum(len(p.lines) for p in result.pages if p.source == "text-layer"))
        parts.append(_counted(text_lines, boxes, [b for p in result.pages for b in p.blocks]))
    else:
        parts += [f"**Image** {width}×{height} px", _counted(text_lines, _boxes(len(result.lines)), result.blocks)]
    parts.append(f"**Language** {result.language or 'auto'}")
    readers = _readers(result)
    if readers:
        parts.insert(1, readers)
    text = " · ".join(parts)
    failed = [p for p in result.pages or [] if p.error]
    if failed:
        text += "\n\n" + "\n".join(f"- ⚠️ page {p.page}: {p.error}" for p in failed)
    if result.warnings:
        text += "\n\n" + "\n".join(f"- ⚠️ {warning}" for warning in result.warnings)
    return text


def write_downloads(result: OcrResult, name: str) -> list[str]:
    """The result as .txt (the text), .md (the Markdown) and .json (everything: boxes, blocks, pages)."""
    stem = Path(name).stem or "ocr"
    body = json.dumps(result.model_dump(), ensure_ascii=False, indent=2)
    return written({f"{stem}.txt": shown_text(result) + "\n", f"{stem}.md": shown_markdown(result) + "\n", f"{stem}.json": body})


def drawing_state(result: OcrResult, path: str, document: bool) -> dict[str, Any]:
    """What the drawing needs, kept between events: the input, and each page's number, size, lines and blocks."""
    if result.pages is None:
        pages = [{"page": 1, "size": result.image_size, "lines": result.lines, "blocks": result.blocks}]
    else:
        pages = [{"page": p.page, "size": p.image_size, "lines": p.lines, "blocks": p.blocks} for p in result.pages]
    for page in pages:
        page["lines"] = [line.model_dump() for line in page["lines"]]
        page["blocks"] = [block.model_dump(exclude={"lines", "table"}) for block in page["blocks"]]
    return {"input": path, "document": document, "pages": pages}


def fit(image: Image.Image) -> Image.Image:
    """A copy at most OVERLAY_MAX_SIDE px wide and OVERLAY_MAX_HEIGHT px tall."""
    scale = min(1.0, OVERLAY_MAX_SIDE / max(image.size), OVERLAY_MAX_HEIGHT / image.height)
    if scale < 1.0:
        return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    return image.copy()


def draw(image: Image.Image, size: list[int] | tuple[int, int], lines: list[dict], blocks: list[dict]) -> Image.Image:
    """The page's lines (thin red outlines) and blocks (a box per block, labelled with its type) drawn on a copy of
    ``image``, a picture of the page; the boxes are in the pixels of the page as read (``size``: width, height)."""
    image = fit(image.convert("RGB"))
    scale = image.width / size[0] if size and size[0] else 1.0
    canvas = ImageDraw.Draw(image)
    width = max(1, round(2 * max(image.size) / 1000))
    for line in lines:
        canvas.polygon([(x * scale, y * scale) for x, y in line["box"]], outline=LINE_COLOUR, width=width)
    font = ImageFont.load_default(size=max(12, round(max(image.size) / 50)))  # readable once the page is fitted on screen
    for block in blocks:
        if not block.get("bbox"):
            continue  # an engine that gives no position (a VLM's plain Markdown)
        x0, y0, x1, y1 = (v * scale for v in block["bbox"])
        colour = BLOCK_COLOURS.get(block["type"], LINE_COLOUR)
        canvas.rectangle((x0, y0, x1, y1), outline=colour, width=width + 1)
        label = block["type"].replace("_", " ")
        left, top, right, bottom = canvas.textbbox((0, 0), label, font=font)
        tag_y = max(0.0, y0 - (bottom - top) - 4)
        canvas.rectangle((x0, tag_y, x0 + right - left + 6, tag_y + bottom - top + 4), fill=colour)
        canvas.text((x0 + 3 - left, tag_y + 2 - top), label, fill="white", font=font)
    return image
