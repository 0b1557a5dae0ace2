"""A page VLM's Markdown (or HTML) answer as blocks, so that ``/ocr`` JSON has one shape whatever the engine: headings
are titles, pipe tables and HTML ``<table>``s (rowspan, colspan) are ``table`` blocks with their cells, lists are
lists, ``$$..$$`` (and ``\\[..\\]``) are equations, images are figures, the rest paragraphs of text. A block's text is
its Markdown as the model wrote it (a heading without its ``#``, an equation without its delimiters), its box None:
Markdown says nothing of where a block was on the page. Pure functions of the text; nothing is imported above the
kernel."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from .blocks import Block, Table, TableCell, table_text

_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+\S")
_IMAGE = re.compile(r"^\s*!\[([^\]]*)\]\([^)]*\)\s*$")
_HTML_IMAGE = re.compile(r"^\s*<img\b[^>]*>\s*$", re.IGNORECASE)
_ALT = re.compile(r"\balt\s*=\s*\"([^\"]*)\"", re.IGNORECASE)
_RULE = re.compile(r"^ {0,3}([-*_])(?:\s*\1){2,}\s*$")  # a thematic break: not content
_SEPARATOR_CELL = re.compile(r"^\s*:?-{1,}:?\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_OPEN = re.compile(r"<table\b", re.IGNORECASE)
_TABLE_CLOSE = re.compile(r"</table\s*>", re.IGNORECASE)


def markdown_blocks(text: str) -> list[Block]:
    """The blocks of a Markdown answer, in the order written (see the module doc)."""
    lines = text.replace("\r\n", "\n").split("\n")
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block(type="text", text="\n".join(paragraph).strip()))
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        end, block = _structure(lines, i)
        if block is not None or end > i:
            flush()
            if block is not None:
                blocks.append(block)
            i = end
            continue
        if not stripped or _RULE.match(line):
            flush()
        else:
            paragraph.append(line.rstrip())
        i += 1
    flush()
    return [b for b in blocks if b.text or b.table is not None or b.type == "figure"]


def _structure(lines: list[str], i: int) -> tuple[int, Block | None]:
    """The structural block that starts at line ``i`` and the index of the line after it; (i, None) when the line
    is part of a paragraph (or blank)."""
    line = lines[i]
    stripped = line.strip()
    if not stripped:
        return i, None
    if _TABLE_OPEN.search(line):
        end = next((j for j in range(i, len(lines)) if _TABLE_CLOSE.search(lines[j])), len(lines) - 1)
        chunk = "\n".join(lines[i : end + 1])
        table = html_table(chunk)
        return end + 1, _table_block(table) if table else Block(type="text", text=chunk.strip())
    if heading := _HEADING.match(line):
        return i + 1, Block(type="title", text=heading.group(2).strip(), level=len(heading.group(1)))
    if stripped.startswith("$$") or stripped.startswith("\\["):
        close = "$$" if stripped.startswith("$$") else "\\]"
        rest = stripped[2:]
        if close in rest:  # on one line: $$ x $$
            return i + 1, Block(type="equation", text=rest[: rest.index(close)].strip())
        j = next((j for j in range(i + 1, len(lines)) if close in lines[j]), None)
        if j is None:  # never closed: a stray delimiter, not the rest of the page as an equation
            return i, None
        body = [rest, *lines[i + 1 : j], lines[j][: lines[j].index(close)]]
        return j + 1, Block(type="equation", text="\n".join(body).strip())
    if _FENCE.match(line):
        fence = _FENCE.match(line).group(1)  # type: ignore[union-attr]
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        return j + 1, Block(type="text", text="\n".join(lines[i : j + 1]).strip())
    if image := _IMAGE.match(line):
        return i + 1, Block(type="figure", text=image.group(1).strip())
    if _HTML_IMAGE.match(line):
        alt = _ALT.search(line)
        return i + 1, Block(type="figure", text=html.unescape(alt.group(1)).strip() if alt else "")
    if stripped.startswith("|") and i + 1 < len(lines) and _is_separator(lines[i + 1]):
        j = i + 2
        while j < len(lines) and lines[j].strip().startswith("|"):
            j += 1
        table = pipe_table([lines[i], *lines[i + 2 : j]])
        return j, _table_block(table)
    if _LIST_ITEM.match(line):
        j = i + 1
        while j < len(lines) and lines[j].strip() and (_LIST_ITEM.match(lines[j]) or lines[j][:1] in (" ", "\t")):
            j += 1
        return j, Block(type="list", text="\n".join(item.rstrip() for item in lines[i:j]))
    return i, None


def _table_block(table: Table) -> Block:
    return Block(type="table", text=table_text(table), table=table)


# ---- pipe tables -------------------------------------------------------------------------------------------------


def _split_row(line: str) -> list[str]:
    """A pipe-table row's cells (``\\|`` is a pipe inside a cell)."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [cell.replace("\\|", "|").strip() for cell in re.split(r"(?<!\\)\|", body)]


def _is_separator(line: str) -> bool:
    cells = _split_row(line) if "|" in line else []
    return bool(cells) and all(_SEPARATOR_CELL.match(cell) for cell in cells)


def pipe_table(lines: list[str]) -> Table:
    """A Markdown pipe table's rows (the separator row left out), each row as wide as the widest."""
    rows = [_split_row(line) for line in lines if not _is_separator(line)]
    width = max((len(row) for row in rows), default=0)
    return Table(rows=[[TableCell(text=text) for text in row + [""] * (width - len(row))] for row in rows])


# ---- HTML tables -------------------------------------------------------------------------------------------------


class _TableParser(HTMLParser):
    """The first table's rows and cells; the text of anything inside a cell (a nested table too) is the cell's."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[TableCell]] = []
        self.depth = 0  # tables open
        self.cell: list[str] | None = None
        self.span = (1, 1)
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "table":
            self.depth += 1
        elif self.depth == 1 and tag == "tr":
            self._close_cell()
            self.rows.append([])
        elif self.depth == 1 and tag in ("td", "th"):
            self._close_cell()
            if not self.rows:
                self.rows.append([])
            named = dict(attrs)
            self.span = (_span(named.get("rowspan")), _span(named.get("colspan")))
            self.cell = []
        elif self.cell is not None and tag in ("br", "p", "div", "li"):
            self.cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self.done:
            return
        if tag == "table":
            self.depth -= 1
            if self.depth == 0:
                self._close_cell()
                self.done = True
        elif self.depth == 1 and tag in ("td", "th", "tr"):
            self._close_cell()

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def _close_cell(self) -> None:
        if self.cell is not None:
            rowspan, colspan = self.span
            self.rows[-1].append(TableCell(text=" ".join("".join(self.cell).split()), rowspan=rowspan, colspan=colspan))
            self.cell = None


def _span(value: str | None) -> int:
    try:
        return min(max(int(str(value).strip()), 1), 1000)
    except ValueError:
        return 1


def html_table(text: str) -> Table | None:
    """The first HTML ``<table>`` in ``text`` (rowspan and colspan kept; empty rows dropped); None when it has no cell."""
    parser = _TableParser()
    parser.feed(text)
    parser.close()
    parser._close_cell()
    rows = [row for row in parser.rows if row]
    return Table(rows=rows) if rows else None


def any_table(text: str) -> Table | None:
    """The table a block's text holds, HTML or pipes; None when it holds none."""
    if _TABLE_OPEN.search(text):
        return html_table(text)
    lines = [line for line in text.strip().split("\n") if line.strip()]
    if len(lines) >= 2 and lines[0].strip().startswith("|") and _is_separator(lines[1]):
        return pipe_table([line for line in lines if line.strip().startswith("|")])
    return None
