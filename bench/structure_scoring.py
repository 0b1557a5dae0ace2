"""Scores of a page's structure, of the olmOCR-Bench kind: tables by cell adjacency, headers and footers by absence.

Table tests: for each cell of the truth whose text is unique in its table, its right neighbour and the cell below
it (when those hold text) must be the same in the result, read from the result's table blocks or from the tables
of its Markdown (pipe tables, or HTML with spans). Absence tests: the page's running header, footer and page
number must not be in its Markdown."""

from __future__ import annotations

import re
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
