"""An OCR result as Markdown: what the model wrote when it writes Markdown (the page VLMs), else paragraphs and
headings rebuilt from the lines' boxes (the OCR engines, a PDF's text layer)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from statistics import median

from .results import OcrResult, PageResult
from .values import OcrLine

HEADING_RATIO = 1.3  # a line this much taller than the page's usual line, and short, is a heading
PARAGRAPH_GAP = 0.75  # a vertical gap above a line of more than this many line heights starts a paragraph


def _extent(line: OcrLine) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in line.box], [p[1] for p in line.box]
    return min(xs), min(ys), max(xs), max(ys)


def _escape(text: str) -> str:
    """Characters that would turn a line of text into Markdown structure it did not have."""
    text = text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")
    return "\\" + text if re.match(r"(#|>|[-+] |\d+\. )", text) else text


def lines_to_markdown(lines: Sequence[OcrLine]) -> str:
    """Lines in reading order -> paragraphs (a gap, or a step back to the left edge of a new column) and
    headings (short, clearly taller lines)."""
    if not lines:
        return ""
    extents = [_extent(line) for line in lines]
    usual = median(y1 - y0 for _, y0, _, y1 in extents) or 1.0
    blocks: list[list[str]] = []
    previous = None
    for line, (x0, y0, x1, y1) in zip(lines, extents, strict=True):
        text = line.text.strip()
        if not text:
            continue
        height = y1 - y0
        heading = height > HEADING_RATIO * usual and len(text) <= 80 and not text.endswith((".", ",", ";"))
        new_block = (
            previous is None or heading or previous[4] or y0 - previous[3] > PARAGRAPH_GAP * usual or y0 < previous[1]
        )  # a new column starts higher up
        if new_block:
            blocks.append([])
        if heading:
            level = "#" if height > 2 * usual else "##"
            blocks[-1].append(f"{level} {_escape(text)}")
        else:
            blocks[-1].append(_escape(text))
        previous = (x0, y0, x1, y1, heading)
    return "\n\n".join("\n".join(block) for block in blocks)


def page_markdown(text: str, lines: Sequence[OcrLine]) -> str:
    return lines_to_markdown(lines) if lines else text  # a VLM's answer is its own Markdown


def to_markdown(result: OcrResult) -> str:
    """The whole result as one Markdown document; a document's pages are separated by a rule and a comment."""
    if result.pages is None:
        return page_markdown(result.text, result.lines) + "\n"
    parts = []
    for page in result.pages:
        parts.append(f"<!-- page {page.page} -->\n\n{_page(page)}")
    return "\n\n---\n\n".join(parts) + "\n"


def _page(page: PageResult) -> str:
    if page.error:
        return f"*(page {page.page} could not be read: {page.error})*"
    return page_markdown(page.text, page.lines)
