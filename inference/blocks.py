"""A page's structure, one shape for every engine: blocks in reading order, each with a type and a box; a table
block carries its cells. The OCR engines, the PDF text layer and the page VLMs all produce these; the REST JSON,
the Markdown download, the UI and the jobs' results all render them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

BlockType = Literal["title", "text", "list", "table", "figure", "caption", "equation", "header", "footer", "page_number"]
BLOCK_TYPES: tuple[str, ...] = BlockType.__args__  # type: ignore[attr-defined]
MARGINAL: frozenset[str] = frozenset({"header", "footer", "page_number"})  # not the page's content: left out of Markdown
TITLE_RATIO = 2.0  # a heading whose lines are more than this many of the page's usual line is a level-1 title


class OcrLine(BaseModel):
    text: str
    box: list[list[float]] = Field(description="four [x, y] corners in image pixels, clockwise from top-left")
    confidence: float
    engine: str = Field(
        "",
        description="which engine read this line (rapidocr, tesseract, or tesseract+rapidocr: "
        "some of Tesseract's words read again by RapidOCR)",
    )


class TableCell(BaseModel):
    text: str
    bbox: list[float] | None = Field(None, description="[x0, y0, x1, y1] in the page's pixels, when known")
    rowspan: int = Field(1, ge=1)
    colspan: int = Field(1, ge=1)


class Table(BaseModel):
    rows: list[list[TableCell]] = Field(
        description="rows top to bottom, each its cells left to right; a cell spanning rows appears only in its first row"
    )

    @property
    def spans(self) -> bool:
        return any(cell.rowspan > 1 or cell.colspan > 1 for row in self.rows for cell in row)


class Block(BaseModel):
    type: BlockType
    bbox: list[float] | None = Field(
        None, description="[x0, y0, x1, y1] in the page's pixels (as rendered); null when the engine gives no position"
    )
    text: str = Field("", description="the block's text, lines joined by newlines (a table's: its rows, cells by tabs)")
    lines: list[OcrLine] | None = Field(None, description="the lines read inside the block, when an engine read lines")
    table: Table | None = Field(None, description="a table block's cells")
    level: int | None = Field(
        None, ge=1, le=6, description="a title's heading level, 1 the largest (its Markdown heading's # count)"
    )
    confidence: float | None = Field(None, description="the layout's confidence in the block's type, when it has one")


def table_text(table: Table) -> str:
    return "\n".join("\t".join(cell.text for cell in row) for row in table.rows)


def bbox_of(box: list[list[float]]) -> list[float]:
    """A quadrilateral's (an :class:`OcrLine`'s box) enclosing rectangle."""
    xs, ys = [p[0] for p in box], [p[1] for p in box]
    return [min(xs), min(ys), max(xs), max(ys)]


def union_box(boxes: list[list[float]]) -> list[float]:
    """The rectangle enclosing rectangles ([x0, y0, x1, y1] each), to a tenth of a pixel."""
    x0, y0, x1, y1 = zip(*boxes, strict=True)
    return [round(min(x0), 1), round(min(y0), 1), round(max(x1), 1), round(max(y1), 1)]


def share_in(inner: Sequence[float], outer: Sequence[float]) -> float:
    """The share of the rectangle ``inner`` ([x0, y0, x1, y1]) that lies in ``outer`` (0 for an empty ``inner``)."""
    w = min(inner[2], outer[2]) - max(inner[0], outer[0])
    h = min(inner[3], outer[3]) - max(inner[1], outer[1])
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return w * h / area if w > 0 and h > 0 and area > 0 else 0.0


def same_row(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether two boxes (x0, y0, x1, y1) lie on one row of the page: overlapping by half the smaller one's height (a box
    lies on its own row, one of no height too: print of 0.2 pt in a text layer)."""
    return min(a[3], b[3]) - max(a[1], b[1]) >= 0.5 * min(a[3] - a[1], b[3] - b[1])


def lines_text(lines: Sequence[OcrLine]) -> str:
    """A block's text: its lines in reading order, one row of the page a line (a line beside the one before it on its
    row, further right, joins it after a space: an item and its price, a label and its value), as the page's text."""
    rows: list[str] = []
    last: list[float] | None = None
    for line in lines:
        text, box = line.text.strip(), bbox_of(line.box)
        if not text:
            continue
        beside = last is not None and box[0] > last[0] and same_row(last, box)
        rows[-1:] = [f"{rows[-1]} {text}"] if beside else [*rows[-1:], text]
        last = box
    return "\n".join(rows)
