"""A page VLM's answer as the page's text and blocks, one shape for every engine.

LightOnOCR-3 asked with the prompt ``grounding`` writes one marker per layout block, ``![label](x0,y0,x1,y1)``,
followed by the block's text (Markdown; a table as HTML or pipes), which runs to the next marker; the box is
normalised to 0-1000 on both axes, whatever the image's size, and a ``+`` after the label (``text+``) marks a block
that continues the previous one (a paragraph going on in the next column). This is the shape LightOn's own client
parses (``lightonocr/grounding.py`` in github.com/lightonai/LightOnOCR). Its labels map to our block types; the
boxes are scaled to the page's pixels. Any other answer is Markdown (``markdown_blocks``), its blocks without boxes.
"""

from __future__ import annotations

import re

from .blocks import Block, table_text
from .markdown_blocks import any_table, markdown_blocks

_NUMBER = r"\s*(\d+(?:\.\d+)?)\s*"
MARKER = re.compile(rf"!\[([A-Za-z_][\w-]*?)(\+?)\]\({_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}\)")
SCALE = 1000.0  # the grounding boxes' coordinate range

# LightOnOCR-3's labels -> our block types (a label not listed is text). Footnotes are the page's foot, as in
# LightOn's own header/footer removal for olmOCR-Bench.
LABELS: dict[str, str] = {
    "title": "title",
    "section": "title",
    "section_header": "title",
    "text": "text",
    "aside_text": "text",
    "code": "text",
    "list": "list",
    "list_item": "list",
    "caption": "caption",
    "footnote": "footer",
    "page_footnote": "footer",
    "header": "header",
    "page_header": "header",
    "footer": "footer",
    "page_footer": "footer",
    "page_number": "page_number",
    "table": "table",
    "chart": "figure",
    "image": "figure",
    "figure": "figure",
    "picture": "figure",
    "formula": "equation",
    "equation": "equation",
}
TITLE_LEVELS: dict[str, int] = {"title": 1}  # the other labels that are titles (section, section_header): level 2
_HEADING = re.compile(r"^\s*(#{1,6})\s+")
_DISPLAY = re.compile(r"^\s*(?:\$\$|\\\[)(.*?)(?:\$\$|\\\])\s*$", re.DOTALL)


def is_grounding(answer: str) -> bool:
    return MARKER.search(answer) is not None


def grounding_blocks(answer: str, width: float, height: float) -> list[Block]:
    """The blocks of a grounding answer, boxes in the pixels of a ``width`` x ``height`` page (text before the first
    marker, if any, is a text block without a box)."""
    marks = list(MARKER.finditer(answer))
    blocks: list[Block] = []
    lead = answer[: marks[0].start()].strip() if marks else answer.strip()
    if lead:
        blocks.extend(markdown_blocks(lead))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(answer)
        label = mark.group(1).lower()
        box = [float(v) for v in mark.group(3, 4, 5, 6)]
        blocks.append(_block(label, _scaled(box, width, height), answer[mark.end() : end].strip()))
    return blocks


def _scaled(box: list[float], width: float, height: float) -> list[float]:
    """A 0-1000 box in page pixels, its corners in order and inside the page."""
    x0, y0, x1, y1 = (min(max(v, 0.0), SCALE) for v in box)
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    return [
        round(x0 * width / SCALE, 1),
        round(y0 * height / SCALE, 1),
        round(x1 * width / SCALE, 1),
        round(y1 * height / SCALE, 1),
    ]


def _block(label: str, bbox: list[float], text: str) -> Block:
    kind = LABELS.get(label, "text")
    if kind == "title":  # its level: the Markdown heading it was written as, else what its label says
        hashes = _HEADING.match(text)
        level = len(hashes.group(1)) if hashes else TITLE_LEVELS.get(label, 2)
        return Block(type="title", bbox=bbox, text=_HEADING.sub("", text).strip(), level=level)
    if kind == "equation":
        display = _DISPLAY.match(text)
        text = display.group(1).strip() if display else text
    elif kind == "table":
        table = any_table(text)
        return Block(type="table", bbox=bbox, text=text if table is None else table_text(table), table=table)
    return Block(type=kind, bbox=bbox, text=text)  # type: ignore[arg-type]


def grounding_text(answer: str) -> str:
    """The answer without its markers: the blocks' texts, a continued block (``label+``) joined to the one before."""
    marks = list(MARKER.finditer(answer))
    parts: list[str] = [answer[: marks[0].start()].strip()] if marks else [answer.strip()]
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(answer)
        text = answer[mark.end() : end].strip()
        if mark.group(2) == "+" and parts and parts[-1]:
            parts[-1] = f"{parts[-1]} {text}".strip()
        else:
            parts.append(text)
    return "\n\n".join(part for part in parts if part)


def page_structure(answer: str, size: tuple[int, int]) -> tuple[str, list[Block]]:
    """A page VLM's cleaned answer as (the page's text, its blocks): a grounding answer's text without its markers and
    its blocks with boxes in the pixels of a page of ``size`` (width, height); any other answer as it is, and the
    blocks of its Markdown (no boxes)."""
    if is_grounding(answer):
        return grounding_text(answer), grounding_blocks(answer, *size)
    return answer, markdown_blocks(answer)
