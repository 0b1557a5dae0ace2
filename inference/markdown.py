"""An OCR result as Markdown: what the model wrote when it writes Markdown (the page VLMs), else paragraphs and
headings rebuilt from the lines' boxes (the OCR engines, a PDF's text layer)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from statistics import median

from .blocks import MARGINAL, TITLE_RATIO, Block, Table
from .results import OcrResult, PageResult
from .values import OcrLine

HEADING_RATIO = 1.3  # a line this much taller than the page's usual line, and short, is a heading
SECTION = 2  # the heading level of a title whose level is not known
PARAGRAPH_GAP = 0.75  # a vertical gap above a line of more than this many line heights starts a paragraph
BROKEN_WORD = re.compile(r"[^\W\d_]{2}-$")  # a line ending in a hyphen after letters: a word goes on in the next line
# What makes a line of text Markdown structure it did not have (CommonMark): a heading's "#", a quote's ">", a bullet's
# "-" or "+", a line of "-" or "=" (the line above it a heading), a code fence's "~~~", a link's definition "[1]: ...";
# inside a line, a tag's or an autolink's "<", a link's or an image's "[", an entity's "&". Numbered lines: ``_paragraph``
_STARTS = re.compile(r"#|>|[-+](\s|$)|[-=\s]+$|~{3,}|\[[^\]]*\]:")
_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_LINK = re.compile(r"\[(?=[^\]]*\]\()")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_NUMBERED = re.compile(r"(\d{1,9})([.)])(?=\s|$)")


def _extent(line: OcrLine) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in line.box], [p[1] for p in line.box]
    return min(xs), min(ys), max(xs), max(ys)


def _escape(text: str) -> str:
    """A line of text escaped where it would turn into Markdown structure it did not have (a numbered line included:
    alone, it is no list; in a paragraph, see ``_paragraph``)."""
    text = _inline(text)
    if number := _NUMBERED.match(text):  # (a backslash escapes the mark, not a digit)
        return f"{number[1]}\\{text[number.end(1) :]}"
    return "\\" + text if _STARTS.match(text) else text


def _inline(text: str) -> str:
    text = text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")
    return _ENTITY.sub("\\\\&", _LINK.sub("\\\\[", _TAG.sub("\\\\<", text)))


def _paragraph(lines: list[str]) -> str:
    """A paragraph's lines escaped. A numbered line stays a list item where CommonMark shows its own number with it: the
    paragraph's first line, a "1." after text, the next number after an item ("7." then "8."); elsewhere ("3." after
    "7.", which would show as 8; "07.", as 7) its mark is escaped ("3\\."), and it reads as the text it is."""
    out: list[str] = []
    last: tuple[int, str] | None = None  # the number and mark of the list item open in the paragraph
    for k, line in enumerate(lines):
        line = line.strip()
        number = _NUMBERED.match(line)
        if number is None:
            out.append(_escape(line))
            continue
        digits, mark, rest = number[1], number[2], _escape(line[number.end() :].strip())
        item = (k == 0 or digits == "1") if last is None else (mark == last[1] and int(digits) == last[0] + 1)
        if item and (digits == "0" or not digits.startswith("0")):
            last = (int(digits), mark)
            out.append(f"{digits}{mark} {rest}".rstrip())
        else:
            out.append(f"{digits}\\{mark} {rest}".rstrip())
    return "\n".join(out)


def lines_to_markdown(lines: Sequence[OcrLine], headings: bool = True) -> str:
    """Lines in reading order -> paragraphs (a gap, or a step back to the left edge of a new column) and
    headings (short, clearly taller lines; none when ``headings`` is False: the words in a picture, whose large print
    is no heading of the document); a word broken at a line's end ("responsi-" then "bility") is whole."""
    if not lines:
        return ""
    extents = [_extent(line) for line in lines]
    usual = median(y1 - y0 for _, y0, _, y1 in extents) or 1.0
    blocks: list[list[str]] = []
    levels: dict[int, str] = {}  # the blocks that are headings, and their marks
    previous = None
    for line, (x0, y0, x1, y1) in zip(lines, extents, strict=True):
        text = line.text.strip()
        if not text:
            continue
        height = y1 - y0
        heading = headings and height > HEADING_RATIO * usual and len(text) <= 80 and not text.endswith((".", ",", ";"))
        new_block = (
            previous is None or heading or previous[4] or y0 - previous[3] > PARAGRAPH_GAP * usual or y0 < previous[1]
        )  # a new column starts higher up
        if new_block:
            blocks.append([])
        if heading:
            levels[len(blocks) - 1] = "#" if height > TITLE_RATIO * usual else "##"
            blocks[-1].append(text)
        elif not new_block and BROKEN_WORD.search(blocks[-1][-1]) and text[:1].islower():
            blocks[-1][-1] = blocks[-1][-1][:-1] + text  # a word broken at the line's end: whole again
        else:
            blocks[-1].append(text)
        previous = (x0, y0, x1, y1, heading)
    return "\n\n".join(f"{levels[k]} {_inline(block[0])}" if k in levels else _paragraph(block) for k, block in enumerate(blocks))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")


def table_markdown(table: Table) -> str:
    """A table as Markdown (its first row the header); as HTML when a cell spans rows or columns."""
    if not table.rows:
        return ""
    if table.spans:
        return table_html(table)
    width = max(len(row) for row in table.rows)
    rows = [[_cell(c.text) for c in row] + [""] * (width - len(row)) for row in table.rows]
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    out += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(out)


def table_html(table: Table) -> str:
    out = ["<table>"]
    for row in table.rows:
        cells = []
        for c in row:
            span = (f' rowspan="{c.rowspan}"' if c.rowspan > 1 else "") + (f' colspan="{c.colspan}"' if c.colspan > 1 else "")
            cells.append(f"<td{span}>{html.escape(' '.join(c.text.split()))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def blocks_to_markdown(blocks: Sequence[Block], verbatim: bool = False) -> str:
    """Blocks in reading order -> Markdown: titles as headings, tables as tables, a figure as a placeholder with its
    caption (else its own text: a VLM's description of it) followed by the words an engine read in it, equations as
    display math; running headers, footers and page numbers left out. ``verbatim``: the blocks' texts are Markdown
    already (a page VLM's), written as they are; else they are plain text (an OCR engine's, a text layer's), escaped
    where they would read as Markdown."""
    parts: list[str] = []
    used: set[int] = set()
    for i, block in enumerate(blocks):
        if block.type in MARGINAL or i in used:
            continue
        text = block.text.strip()
        if block.type == "title":
            title = " ".join(text.split())
            parts.append("#" * (block.level or SECTION) + " " + (title if verbatim else _inline(title)) if text else "")
        elif block.type == "table" and block.table is not None:
            parts.append(table_markdown(block.table))
        elif block.type == "figure":
            caption = next(
                (j for j in (i + 1, i - 1) if 0 <= j < len(blocks) and blocks[j].type == "caption" and j not in used), None
            )
            words = " ".join(text.split()) if verbatim else ""  # a VLM describes a figure
            if caption is not None:
                used.add(caption)
                words = " ".join(blocks[caption].text.split())
            parts.append(f"*[figure{_escape(': ' + words) if words else ''}]*")
            if block.lines and not verbatim:  # the words an engine read in it (a plan's labels, a poster's text)
                parts.append(lines_to_markdown(block.lines, headings=False))
        elif block.type == "caption":
            caption = " ".join(text.split())
            parts.append(f"*{caption if verbatim else _inline(caption)}*" if text else "")
        elif block.type == "equation":
            parts.append(f"$$\n{text}\n$$" if text else "")
        elif block.type == "list":
            parts.append("\n".join(_list_item(line, verbatim) for line in text.splitlines() if line.strip()))
        elif block.lines and not verbatim:
            parts.append(lines_to_markdown(block.lines))
        else:
            parts.append(text if verbatim else _paragraph(text.splitlines()))
    return "\n\n".join(p for p in parts if p)


def _list_item(line: str, verbatim: bool = False) -> str:
    if verbatim and line[:1] in (" ", "\t"):  # a VLM's nested item or continued line keeps its indent
        return line.rstrip()
    line = line.strip()
    marked = re.match(r"([-*+•]|\d+[.)])\s+", line)
    if verbatim:
        return line if marked else "- " + line
    return f"{marked[1]} {_escape(line[marked.end() :])}" if marked else "- " + _escape(line)


def page_markdown(text: str, lines: Sequence[OcrLine], blocks: Sequence[Block] | None = None) -> str:
    if blocks:  # with no lines, the blocks are a page VLM's: their texts are its Markdown
        return blocks_to_markdown(blocks, verbatim=not lines)
    return lines_to_markdown(lines) if lines else text  # a VLM's answer is its own Markdown


def to_markdown(result: OcrResult) -> str:
    """The whole result as one Markdown document; a document's pages are separated by a rule and a comment."""
    if result.pages is None:
        return page_markdown(result.text, result.lines, result.blocks) + "\n"
    parts = []
    for page in result.pages:
        parts.append(f"<!-- page {page.page} -->\n\n{_page(page)}")
    return "\n\n---\n\n".join(parts) + "\n"


def _page(page: PageResult) -> str:
    if page.error:
        return f"*(page {page.page} could not be read: {page.error})*"
    return page_markdown(page.text, page.lines, page.blocks)
