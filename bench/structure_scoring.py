"""Scores of a page's structure, of the olmOCR-Bench kind: tables by cell adjacency, headers and footers by absence.

Table tests: for each cell of the truth whose text is unique in its table, its right neighbour and the cell below
it (when those hold text) must be the same in the result, read from the result's table blocks or from the tables
of its Markdown (pipe tables, or HTML with spans). Absence tests: the page's running header, footer and page
number must not be in its Markdown."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from html.parser import HTMLParser

from bench.scoring import cer


@dataclass
class Cell:
    text: str
    row: int
    col: int
    rowspan: int = 1
    colspan: int = 1


class Grid:
    """A table with its cells placed as HTML places them (a spanning cell takes every position it covers)."""

    def __init__(self, rows: list[list[tuple[str, int, int]]]):
        self.cells: list[Cell] = []
        self.at: dict[tuple[int, int], Cell] = {}
        for r, row in enumerate(rows):
            c = 0
            for text, rowspan, colspan in row:
                while (r, c) in self.at:
                    c += 1
                cell = Cell(text, r, c, max(1, rowspan), max(1, colspan))
                self.cells.append(cell)
                for i in range(cell.rowspan):
                    for j in range(cell.colspan):
                        self.at[(r + i, c + j)] = cell
                c += cell.colspan

    def right_of(self, cell: Cell) -> Cell | None:
        return self.at.get((cell.row, cell.col + cell.colspan))

    def below(self, cell: Cell) -> Cell | None:
        return self.at.get((cell.row + cell.rowspan, cell.col))


def norm(text: str) -> str:
    return " ".join(text.casefold().replace("*", "").split())


def same(a: str, b: str) -> bool:
    """Texts that match, allowing an OCR slip (a character in ten)."""
    a, b = norm(a), norm(b)
    return a == b or (bool(a) and bool(b) and cer(a, b) <= 0.1)


def truth_grid(table: dict) -> Grid:
    return Grid([[(c["text"], c.get("rowspan", 1), c.get("colspan", 1)) for c in row] for row in table["rows"]])


def adjacency_tests(grid: Grid) -> list[tuple[str, str, str]]:
    """(cell text, "right" or "below", neighbour text) for cells with a unique text and a neighbour with text."""
    counts: dict[str, int] = {}
    for cell in grid.cells:
        counts[norm(cell.text)] = counts.get(norm(cell.text), 0) + 1
    tests = []
    for cell in grid.cells:
        if not norm(cell.text) or counts[norm(cell.text)] > 1:
            continue
        for relation, other in (("right", grid.right_of(cell)), ("below", grid.below(cell))):
            if other is not None and norm(other.text):
                tests.append((cell.text, relation, other.text))
    return tests


def passes(grids: list[Grid], test: tuple[str, str, str]) -> bool:
    text, relation, expected = test
    for grid in grids:
        for cell in grid.cells:
            if same(cell.text, text):
                other = grid.right_of(cell) if relation == "right" else grid.below(cell)
                if other is not None and same(other.text, expected):
                    return True
    return False


class _HtmlTables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables: list[list[list[tuple[str, int, int]]]] = []
        self.cell: list | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables and self.tables[-1]:
            spans = dict(attrs)
            self.cell = ["", int(spans.get("rowspan") or 1), int(spans.get("colspan") or 1)]

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append((self.cell[0].strip(), self.cell[1], self.cell[2]))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[0] += data


def markdown_tables(markdown: str) -> list[Grid]:
    """The tables of a Markdown text: pipe tables and HTML tables."""
    grids = []
    parser = _HtmlTables()
    parser.feed(markdown)
    grids += [Grid(rows) for rows in parser.tables if rows]
    block: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.strip().startswith("|"):
            block.append(line.strip())
            continue
        if block:
            rows = []
            for row in block:
                cells = [c.replace("\\|", "|").strip() for c in re.split(r"(?<!\\)\|", row.strip("|"))]
                if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                    continue  # the header's separator
                rows.append([(c, 1, 1) for c in cells])
            grids.append(Grid(rows))
            block = []
    return grids


def block_tables(blocks: list) -> list[Grid]:
    """The tables of a result's table blocks (inference.blocks.Block)."""
    return [
        Grid([[(c.text, c.rowspan, c.colspan) for c in row] for row in block.table.rows])
        for block in blocks
        if block.type == "table" and block.table is not None
    ]


def table_score(truth_tables: list[dict], grids: list[Grid]) -> tuple[int, int]:
    """(tests passed, tests) for a page's tables against the tables found."""
    tests = [test for table in truth_tables for test in adjacency_tests(truth_grid(table))]
    return sum(passes(grids, test) for test in tests), len(tests)


def absent(marginal: list[str], markdown: str) -> bool:
    """Whether none of the page's running header, footer and page number is in its Markdown."""
    text = norm(markdown)
    return not any(norm(item) in text for item in marginal)


def structure_report(items: list[dict], results: dict[str, dict], kept: dict) -> dict[str, str]:
    """Table structure (cell-adjacency tests) and header/footer removal on the rendered pages, per engine: the
    default's from its results' Markdown and table blocks, Tesseract's from its text (it gives no structure); then
    read_table run directly on the truth's table boxes with the default's lines, and find_tables on whole pages.
    The default twice: each page read alone (default_one: nothing to compare it with) and the pages read as one
    document (default_doc, ``kept["document"]``: running headers, footers and page numbers also found by repetition).
    Returns the summary's keys (``pages_table``, ``pages_absent``: the default's, a page alone; ``pages_absent_doc``:
    read as one document)."""
    from PIL import Image

    from inference.backends.ocr.tables import find_tables, read_table
    from inference.blocks import Block
    from inference.markdown import page_markdown, to_markdown

    def fmt(passed: int, total: int) -> str:
        return f"{passed / total:.3f}" if total else "nan"

    keys: dict[str, str] = {}
    table_pages = sum(1 for item in items if item["truth"]["tables"])
    print(f"\nstructure of the rendered pages ({table_pages} with tables, {len(items)} with headers and footers)")
    print(f"{'engine':<26} {'tables':>7} {'tests':>6} {'absent':>7}")
    document = kept.get("document")
    pages = {page.page: page for page in document.pages or []} if document is not None else {}
    if document is not None and document.pages is None:  # a one-page TIFF is read as an image
        pages = {1: document}
    for name in ("default_one", "default_doc", "tesseract"):
        if name not in results:
            continue
        passed = total = gone = 0
        for number, (item, text) in enumerate(zip(items, results[name]["texts"], strict=True), start=1):
            result = kept.get(item["path"]) if name == "default_one" else pages.get(number) if name == "default_doc" else None
            if result is None:
                markdown = text  # Tesseract's: lines of text
            elif name == "default_one":
                markdown = to_markdown(result)
            else:  # a page of the document
                markdown = page_markdown(result.text, result.lines, result.blocks)
            grids = block_tables(result.blocks) if result is not None and result.blocks else markdown_tables(markdown)
            p, t = table_score(item["truth"]["tables"], grids)
            passed, total, gone = passed + p, total + t, gone + absent(item["truth"]["marginal"], markdown)
        keys[f"pages_{name}_table"], keys[f"pages_{name}_absent"] = fmt(passed, total), fmt(gone, len(items))
        print(f"{name:<26} {keys[f'pages_{name}_table']:>7} {total:>6} {keys[f'pages_{name}_absent']:>7}")
    if kept:  # the table reader alone: the truth's boxes, the default's lines
        passed = total = found_passed = 0
        seconds: list[float] = []
        for item in items:
            result = kept.get(item["path"])
            if not item["truth"]["tables"] or result is None:
                continue
            with Image.open(item["path"]) as opened:
                image = opened.convert("RGB")
            tables = []
            for truth in item["truth"]["tables"]:
                started = time.perf_counter()
                table = read_table(image, truth["bbox"], result.lines)
                seconds.append(time.perf_counter() - started)
                tables += [Block(type="table", table=table)] if table is not None else []
            p, t = table_score(item["truth"]["tables"], block_tables(tables))
            found = [Block(type="table", table=table) for _, table in find_tables(image, result.lines)]
            passed, total, found_passed = (
                passed + p,
                total + t,
                found_passed + table_score(item["truth"]["tables"], block_tables(found))[0],
            )
        keys["pages_read_table"] = fmt(passed, total)
        keys["pages_read_table_ms"] = f"{1000 * sum(seconds) / len(seconds):.1f}" if seconds else "nan"
        keys["pages_find_tables"] = fmt(found_passed, total)
        ms = keys["pages_read_table_ms"]
        print(f"{'read_table on truth boxes':<26} {keys['pages_read_table']:>7} {total:>6}   ({ms} ms a table)")
        print(f"{'find_tables on pages':<26} {keys['pages_find_tables']:>7} {total:>6}")
    if "default_one" in results:
        keys["pages_table"], keys["pages_absent"] = keys["pages_default_one_table"], keys["pages_default_one_absent"]
    if "default_doc" in results:
        keys["pages_absent_doc"] = keys["pages_default_doc_absent"]
    return keys
