"""An OCR result as Markdown: what the model wrote when it writes Markdown (the page VLMs), else paragraphs and
headings rebuilt from the lines' boxes (the OCR engines, a PDF's text layer)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from statistics import median
from typing import NamedTuple

from .blocks import MARGINAL, TITLE_RATIO, Block, Table, same_row
from .markdown_text import Numbering, escape_line, heading_text, inline, math_text, safe_markdown
from .results import BatchResult, OcrResult, PageResult
from .values import OcrLine

HEADING_RATIO = 1.3  # a line this much taller than the page's usual line, and short, is a heading
SECTION = 2  # the heading level of a title whose level is not known
PARAGRAPH_GAP = 0.75  # a vertical gap above a line of more than this many line heights starts a paragraph
ACROSS = 1.5  # parts of a row this many line heights apart: a row read across (an item and its price, a label and its value)
BROKEN_WORD = re.compile(r"[^\W\d_]{2}-$")  # a line ending in a hyphen after letters: a word goes on in the next line
_ITEM = re.compile(r"([-*+•]|\d+[.)])\s")  # a VLM's list item's mark


Extent = tuple[float, float, float, float]


class Row(NamedTuple):
    """Lines side by side on a row, as one: their texts joined by a space, their extent, the tallest one's height, and
    whether the row is read across (parts set apart by more than ACROSS line heights: an item and its price)."""

    text: str
    extent: Extent
    height: float
    across: bool = False


def _extent(line: OcrLine) -> Extent:
    xs, ys = [p[0] for p in line.box], [p[1] for p in line.box]
    return min(xs), min(ys), max(xs), max(ys)


def _row(line: OcrLine) -> Row:
    extent = _extent(line)
    return Row(line.text.strip(), extent, extent[3] - extent[1])


def _rows(lines: Sequence[OcrLine], usual: float) -> list[Row]:
    """Lines in reading order as rows: each line with those after it on its row (overlapping it by half the smaller
    height, further right: an item's price, a form's value, the rest of a line the engine split at a wide space) as
    one, as the page's text joins them."""
    rows: list[Row] = []
    last: Extent | None = None
    for line in lines:
        text = line.text.strip()
        if not text:
            continue
        x0, y0, x1, y1 = _extent(line)
        if last is not None and x0 > last[0] and same_row(last, (x0, y0, x1, y1)):
            row = rows[-1]
            r0, s0, r1, s1 = row.extent
            across = row.across or x0 - last[2] > ACROSS * usual
            rows[-1] = Row(f"{row.text} {text}", (r0, min(s0, y0), max(r1, x1), max(s1, y1)), max(row.height, y1 - y0), across)
        else:
            rows.append(_row(line))
        last = (x0, y0, x1, y1)
    return rows


def lines_to_markdown(
    lines: Sequence[OcrLine], headings: bool = True, numbering: Numbering | None = None, rows: bool = True
) -> str:
    """Lines in reading order -> paragraphs (a gap, or a step back to the left edge of a new column) and
    headings (short, clearly taller lines; none when ``headings`` is False: the words in a picture, whose large print
    is no heading of the document); a word broken at a line's end ("responsi-" then "bility") is whole. The lines of a
    row are one (``_rows``; each line alone when ``rows`` is False: the words in a picture); a row read across (an item
    and its price) is a paragraph of its own, as it is a line of the text (in a paragraph its line end would show as a
    space: a receipt's rows one run of words). ``numbering``: the list the page's Markdown has open before them."""
    if not lines:
        return ""
    usual = median(y1 - y0 for _, y0, _, y1 in map(_extent, lines)) or 1.0
    pieces = _rows(lines, usual) if rows else [_row(line) for line in lines if line.text.strip()]
    blocks: list[list[str]] = []
    levels: dict[int, str] = {}  # the blocks that are headings, and their marks
    previous = None
    for text, (x0, y0, x1, y1), height, across in pieces:
        heading = headings and not across and height > HEADING_RATIO * usual and len(text) <= 80
        heading = heading and not text.endswith((".", ",", ";"))
        new_block = (
            previous is None or heading or across or previous[4] or y0 - previous[3] > PARAGRAPH_GAP * usual or y0 < previous[1]
        )  # a new column starts higher up
        if new_block:
            blocks.append([])
        if heading:
            levels[len(blocks) - 1] = "#" if height > TITLE_RATIO * usual else "##"
            blocks[-1].append(text)
        elif not new_block and BROKEN_WORD.search(blocks[-1][-1][-3:]) and text[:1].islower():  # (its end: a chain grows)
            blocks[-1][-1] = blocks[-1][-1][:-1] + text  # a word broken at the line's end: whole again
        else:
            blocks[-1].append(text)
        previous = (x0, y0, x1, y1, heading or across)
    numbering = numbering or Numbering()
    parts = []
    for k, block in enumerate(blocks):
        if k in levels:
            numbering.close()
            parts.append(f"{levels[k]} {heading_text(block[0])}")
        else:
            parts.append(numbering.paragraph(block))
    return "\n\n".join(parts)


def _cell(text: str, verbatim: bool = False) -> str:
    """A cell's text escaped as a paragraph's is (a tag, a link, emphasis; a model's Markdown: ``safe_markdown``), and
    its "|"s."""
    text = " ".join(text.split())
    return (safe_markdown(text) if verbatim else inline(text)).replace("|", "\\|")


def table_markdown(table: Table, verbatim: bool = False) -> str:
    """A table as Markdown (its first row the header); as HTML when a cell spans rows or columns. ``verbatim``: its
    cells are a model's Markdown."""
    if not table.rows:
        return ""
    width = max(len(row) for row in table.rows)
    if table.spans or width * len(table.rows) > 2 * sum(map(len, table.rows)) + 64:  # (ragged: padding would square it)
        return table_html(table)
    rows = [[_cell(c.text, verbatim) for c in row] + [""] * (width - len(row)) for row in table.rows]
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    out += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(out)


def table_html(table: Table) -> str:
    out = ["<table>"]
    for row in table.rows:
        cells = []
        for c in row:
            span = (f' rowspan="{c.rowspan}"' if c.rowspan > 1 else "") + (f' colspan="{c.colspan}"' if c.colspan > 1 else "")
            cells.append(f"<td{span}>{html.escape(' '.join(c.text.split()), quote=False)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def blocks_to_markdown(blocks: Sequence[Block], verbatim: bool = False) -> str:
    """Blocks in reading order -> Markdown: titles as headings, tables as tables, a figure as a placeholder with its
    caption (else its own text: a VLM's description of it) followed by the words an engine read in it, a model's
    equations as display math (an engine's reading of one as text); running headers, footers and page numbers left out.
    ``verbatim``: the blocks' texts are Markdown already (a page VLM's), written as they are but safe
    (``safe_markdown``); else they are plain text (an OCR engine's, a text layer's), escaped where they would read as
    Markdown."""
    parts: list[str] = []
    used: set[int] = set()
    numbering = Numbering()  # (the ordered list open, which text blocks and list blocks may go on)
    for i, block in enumerate(blocks):
        if block.type in MARGINAL or i in used:
            continue
        text = block.text.strip()
        written = len(parts)
        if block.type == "title":
            title = safe_markdown(" ".join(text.split())) if verbatim else heading_text(text)
            parts.append("#" * (block.level or SECTION) + " " + title if text else "")
        elif block.type == "table" and block.table is not None:
            parts.append(table_markdown(block.table, verbatim))
        elif block.type == "figure":
            caption = next(
                (j for j in (i + 1, i - 1) if 0 <= j < len(blocks) and blocks[j].type == "caption" and j not in used), None
            )
            words = " ".join(text.split()) if verbatim else ""  # a VLM describes a figure
            if caption is not None:
                used.add(caption)
                words = " ".join(blocks[caption].text.split())
            parts.append(f"*[figure{inline(': ' + words) if words else ''}]*")
            numbering.close()
            if block.lines and not verbatim:  # the words an engine read in it (a plan's labels, a poster's text)
                parts.append(lines_to_markdown(block.lines, headings=False, numbering=numbering, rows=False))
        elif block.type == "caption":
            caption = " ".join(text.split())
            parts.append(f"*{safe_markdown(caption) if verbatim else inline(caption)}*" if text else "")
        elif block.type == "equation":
            written_math = f"$$\n{math_text(text)}\n$$" if verbatim else "\n".join(map(escape_line, text.splitlines()))
            parts.append(written_math if text else "")  # (an engine's reading of a formula is no LaTeX: text)
        elif block.type == "list":
            lines = [line for line in text.splitlines() if line.strip()]
            parts.append(safe_markdown(_vlm_list(lines)) if verbatim else numbering.items(lines))
        elif block.lines and not verbatim:
            parts.append(lines_to_markdown(block.lines, numbering=numbering))
        else:
            parts.append(safe_markdown(text) if verbatim else numbering.paragraph(text.splitlines()))
        if block.type not in ("text", "list", "figure") and any(parts[written:]):  # (a block written ends the list open)
            numbering.close()
    return "\n\n".join(p for p in parts if p)


def _vlm_list(lines: list[str]) -> str:
    """A VLM's list as it wrote it: a nested item or a continued line keeps its indent; a line without a mark after an
    item goes on with it (indented, as CommonMark reads such a line); in a list without marks each line is an item."""
    marked = [_ITEM.match(line.strip()) is not None for line in lines]
    any_marked = any(marked)
    out: list[str] = []
    for line, mark in zip(lines, marked, strict=True):
        if line[:1] in (" ", "\t"):
            out.append(line.rstrip())
        elif mark:
            out.append(line.strip())
        else:
            out.append(("  " if out and any_marked else "- ") + line.strip())
    return "\n".join(out)


def page_markdown(text: str, lines: Sequence[OcrLine], blocks: Sequence[Block] | None = None) -> str:
    if blocks:  # with no lines, the blocks are a page VLM's: their texts are its Markdown
        return blocks_to_markdown(blocks, verbatim=not lines)
    return lines_to_markdown(lines) if lines else safe_markdown(text)  # a VLM's answer is its own Markdown


def to_markdown(result: OcrResult) -> str:
    """The whole result as one Markdown document; a document's pages are separated by a rule and a comment."""
    if result.pages is None:
        return page_markdown(result.text, result.lines, result.blocks) + "\n"
    return _pages(result.pages, "\n\n---\n\n") + "\n"


def batch_markdown(result: BatchResult) -> str:
    """A batch's results as one Markdown document: each file under its name (a heading), files apart by a rule, a
    document's pages each after its "<!-- page N -->", a file that failed with why."""
    parts = []
    for item in result.results:
        failed = f"*(could not be read: {inline(' '.join((item.error or 'unknown error').split()))})*"
        if item.pages is not None:  # (a document with a failed page: its other pages still)
            body = _pages(item.pages, "\n\n")
            body = f"{failed}\n\n{body}" if item.status != "success" else body
        else:
            body = page_markdown(item.text, item.lines, item.blocks) if item.status == "success" else failed
        parts.append(f"# {heading_text(item.filename)}\n\n{body}")
    return "\n\n---\n\n".join(parts) + "\n"


def _pages(pages: Sequence[PageResult], between: str) -> str:
    """A document's pages, each after its "<!-- page N -->", ``between`` them."""
    return between.join(f"<!-- page {page.page} -->\n\n{_page(page)}" for page in pages)


def _page(page: PageResult) -> str:
    if page.error:
        return f"*(page {page.page} could not be read: {inline(' '.join(page.error.split()))})*"
    return page_markdown(page.text, page.lines, page.blocks)
