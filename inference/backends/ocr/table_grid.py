"""A table's grid from its rules and its words: row and column boundaries, then the cells that span several.

Columns: from vertical rules when the table has them, else from the gaps between words that every row leaves
empty (a row or two may cross one: a cell spanning columns). Rows: from horizontal rules when the bands between
them hold one row of text (most of them; a band holding more lines is one cell's lines), else from the lines of text. A cell
spans where the separator between two grid cells is missing: no rule along that side (in a ruled table), or a
piece of text running across the boundary."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from ...blocks import Table, TableCell
from .table_image import Rule
from .table_pieces import Piece

CLUSTER = 8  # px: rules this close across are one
COVER = 0.4  # a rule along this share of a cell's side separates it from its neighbour
RULED = 0.5  # a vertical rule between columns runs along this share of the table's text at least
CENTRED = 0.1  # a heading this share of its rule's length off the rule's middle at most heads the columns it runs across


@dataclass
class Edge:
    at: float
    ruled: bool  # a boundary drawn (a rule), or one found between words


def cluster(rules: list[Rule]) -> list[list[Rule]]:
    groups: list[list[Rule]] = []
    for rule in sorted(rules, key=lambda r: r.at):
        if groups and rule.at - groups[-1][-1].at <= CLUSTER:
            groups[-1].append(rule)
        else:
            groups.append([rule])
    return groups


def ruled_columns(vertical: list[Rule], extent: tuple[float, float]) -> list[list[Rule]]:
    """The vertical rules between columns, as clusters: those that run along RULED of the table's text (``extent``: its
    top and bottom), in one rule or several; not the sides of a few shaded cells (a table coloured by its values)."""
    height = max(extent[1] - extent[0], 1.0)
    return [
        group
        for group in cluster(vertical)
        if sum(max(0.0, min(r.end, extent[1]) - max(r.start, extent[0])) for r in group) >= RULED * height
    ]


def text_rows(pieces: list[Piece]) -> list[list[Piece]]:
    """Pieces grouped into rows of text: a piece joins the row it overlaps by half its height."""
    rows: list[list[Piece]] = []
    for piece in sorted(pieces, key=lambda p: p.cy):
        if rows:
            top, bottom = min(p.y0 for p in rows[-1]), max(p.y1 for p in rows[-1])
            if min(bottom, piece.y1) - max(top, piece.y0) >= 0.5 * min(piece.height, bottom - top):
                rows[-1].append(piece)
                continue
        rows.append([piece])
    return rows


def _ruled_edges(groups: list[list[Rule]], low: float, high: float, content: tuple[float, float], slack: float) -> list[Edge]:
    """Boundaries at the rules, with the region's edges added where text lies beyond the outermost rule."""
    edges = [Edge(sum(r.at for r in g) / len(g), True) for g in groups]
    if not edges or content[0] < edges[0].at - slack:
        edges.insert(0, Edge(low, False))
    if content[1] > edges[-1].at + slack:
        edges.append(Edge(high, False))
    return edges


def gap_columns(rows: list[list[Piece]], low: float, high: float, min_gap: float) -> list[Edge]:
    """Column boundaries in the middle of the x-gaps that the rows of text leave empty (with an allowance of one
    row in five for cells spanning columns; rows of a single piece, such as a spanning title row, do not count)."""
    counted = [row for row in rows if len(row) >= 2] or rows
    allowance = len(counted) // 5
    start, end = int(min(p.x0 for row in rows for p in row)), int(max(p.x1 for row in rows for p in row)) + 1
    coverage = [0] * (end - start)
    for row in counted:
        covered = [False] * (end - start)
        for p in row:
            for x in range(int(p.x0) - start, min(int(p.x1) + 1 - start, end - start)):
                covered[x] = True
        coverage = [c + v for c, v in zip(coverage, covered, strict=True)]
    edges = [Edge(low, False)]
    x = 0
    while x < len(coverage):
        if coverage[x] > allowance:
            x += 1
            continue
        gap_end = x
        while gap_end < len(coverage) and coverage[gap_end] <= allowance:
            gap_end += 1
        if gap_end < len(coverage) and gap_end - x >= min_gap:
            empty = [i for i in range(x, gap_end) if coverage[i] == 0]
            middle = (empty[0] + empty[-1]) / 2 if empty else (x + gap_end) / 2
            edges.append(Edge(start + middle, False))
        x = gap_end
    edges.append(Edge(high, False))
    return edges


def build_edges(
    pieces: list[Piece], horizontal: list[Rule], vertical: list[Rule], size: tuple[float, float]
) -> tuple[list[Edge], list[Edge]]:
    """(row edges top to bottom, column edges left to right) of the table, ``size`` its region's (width, height)."""
    width, height = size
    line_height = median(p.height for p in pieces)
    columns = ruled_columns(vertical, (min(p.y0 for p in pieces), max(p.y1 for p in pieces)))
    x_content = (min(p.x0 for p in pieces), max(p.x1 for p in pieces))
    col_edges = _ruled_edges(columns, 0, width, x_content, 0.3 * line_height) if len(columns) >= 2 else None
    bands = cluster(horizontal)
    y_content = (min(p.cy for p in pieces), max(p.cy for p in pieces))
    row_edges = _ruled_edges(bands, 0, height, y_content, 0) if bands else [Edge(0, False), Edge(height, False)]
    # a band holding several rows of text: rows from the text (unless most bands hold one row: then it is a cell's lines,
    # but for a band whose rows are two or more across the columns, as a statement's between its header and total rules)
    per_band = []
    for top, bottom in zip(row_edges, row_edges[1:], strict=False):
        inside = [p for p in pieces if top.at <= p.cy < bottom.at]
        per_band.append(text_rows(inside))
    single = sum(len(rows) <= 1 for rows in per_band) / len(per_band)
    every = single < (0.5 if len(columns) >= 2 else 0.75) or len(bands) < 2
    split: list[Edge] = [row_edges[0]]
    for rows, bottom in zip(per_band, row_edges[1:], strict=True):
        if every or sum(len(row) >= 2 for row in rows) >= 2:
            for upper, lower in zip(rows, rows[1:], strict=False):
                split.append(Edge((max(p.y1 for p in upper) + min(p.y0 for p in lower)) / 2, False))
        split.append(bottom)
    row_edges = split
    if col_edges is None:
        col_edges = gap_columns(text_rows(pieces), 0, width, 0.5 * line_height)
    thin = 0.6 * line_height
    return _drop_thin(row_edges, [p.cy for p in pieces], thin), _drop_thin(col_edges, [p.cx for p in pieces], thin)


def _drop_thin(edges: list[Edge], centres: list[float], thin: float) -> list[Edge]:
    """Edges without the empty slivers between them (a double rule, a frame's margin)."""
    i = 0
    while i < len(edges) - 1 and len(edges) > 2:
        low, high = edges[i].at, edges[i + 1].at
        if high - low < thin and not any(low <= x < high for x in centres):
            del edges[i + 1 if i + 1 < len(edges) - 1 else i]
        else:
            i += 1
    return edges


def _index(edges: list[Edge], at: float) -> int:
    for i in range(len(edges) - 1):
        if at < edges[i + 1].at:
            return i
    return len(edges) - 2


def assemble(
    pieces: list[Piece],
    rows: list[Edge],
    cols: list[Edge],
    horizontal: list[Rule],
    vertical: list[Rule],
    origin: tuple[float, float],
) -> Table | None:
    """The cells: pieces placed in the grid, grid cells without a separator between them merged into spanning cells."""
    lone = [] if any(edge.ruled for edge in cols[1:-1]) else _lone_rows(pieces, rows, cols)
    for r, continued in sorted(lone, reverse=True):
        if continued:
            del rows[r]  # a cell's second line: one row with the line above
    lone = [r - sum(1 for q, c in lone if c and q <= r) for r, continued in lone if not continued]
    n_rows, n_cols = len(rows) - 1, len(cols) - 1
    if n_rows < 1 or n_cols < 2 or n_rows * n_cols < 4:
        return None
    parent = list(range(n_rows * n_cols))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        parent[find(a)] = find(b)

    placed: dict[int, list[Piece]] = {}
    for piece in pieces:
        r = _index(rows, piece.cy)
        c0, c1 = _index(cols, piece.x0 + 0.25 * piece.height), _index(cols, piece.x1 - 0.25 * piece.height)
        if c1 > c0 and any(cols[c].ruled for c in range(c0 + 1, c1 + 1)):
            c0 = c1 = _index(cols, piece.cx)  # a ruled boundary is not crossed by text (the rule was a cut)
        for c in range(c0, c1):
            union(r * n_cols + c, r * n_cols + c + 1)
        placed.setdefault(r * n_cols + c0, []).append(piece)
    for r in lone:  # a section's heading across an unruled table
        for c in range(n_cols - 1):
            union(r * n_cols + c, r * n_cols + c + 1)
    # a column no rule runs across (a statement's labels, its columns of figures ruled each on its own) takes no span from
    # the rules: only where rules cross it elsewhere does a rule missing there join the cells above and below it
    span = [(cols[c].at, cols[c + 1].at) for c in range(n_cols)]
    crossed = [any(rule.covers(*span[c], COVER) for rule in horizontal) for c in range(n_cols)]
    ruled = [edge.ruled and any(_ruled_at(horizontal, edge.at, *s) for s in span) for edge in rows]  # (not a scrap of one)
    for r in range(n_rows):
        for c in range(n_cols):
            if c + 1 < n_cols and cols[c + 1].ruled and not _ruled_at(vertical, cols[c + 1].at, rows[r].at, rows[r + 1].at):
                union(r * n_cols + c, r * n_cols + c + 1)
            if r + 1 < n_rows and ruled[r + 1] and crossed[c]:
                held = placed.get(r * n_cols + c, []) + placed.get((r + 1) * n_cols + c, [])
                under = (min(p.x0 for p in held), max(p.x1 for p in held)) if held else span[c]  # (the text, where any)
                if not _ruled_at(horizontal, rows[r + 1].at, *under):
                    union(r * n_cols + c, (r + 1) * n_cols + c)
    for r, c0, c1 in _group_headings(placed, rows, cols, horizontal, vertical):
        for c in range(c0, c1):
            union(r * n_cols + c, r * n_cols + c + 1)
    rects = _rectangles([find(i) for i in range(n_rows * n_cols)], n_rows, n_cols)
    table_rows: list[list[TableCell]] = [[] for _ in range(n_rows)]
    for r0, c0, r1, c1 in sorted(rects):
        inside = [p for r in range(r0, r1 + 1) for c in range(c0, c1 + 1) for p in placed.get(r * n_cols + c, [])]
        inside.sort(key=lambda p: (round(p.cy / max(p.height, 1) * 2), p.x0))
        text = " ".join(p.text for p in inside)
        box = [cols[c0].at + origin[0], rows[r0].at + origin[1], cols[c1 + 1].at + origin[0], rows[r1 + 1].at + origin[1]]
        table_rows[r0].append(TableCell(text=text, bbox=[round(v, 1) for v in box], rowspan=r1 - r0 + 1, colspan=c1 - c0 + 1))
    return Table(rows=[row for row in table_rows if row])


def _lone_rows(pieces: list[Piece], rows: list[Edge], cols: list[Edge]) -> list[tuple[int, bool]]:
    """Rows of an unruled table with text in the first column only, as (row, whether it continues the row above): a
    line starting in lower case or with a bracket is the second line of the cell above; another is a section's
    heading (spanning the row)."""
    by_row: dict[int, list[Piece]] = {}
    for piece in pieces:
        by_row.setdefault(_index(rows, piece.cy), []).append(piece)
    lone = []
    for r, mine in sorted(by_row.items()):
        if len(cols) > 2 and all(_index(cols, p.x0 + 0.25 * p.height) == 0 == _index(cols, p.cx) for p in mine):
            first = min(mine, key=lambda p: p.x0).text[:1]
            lone.append((r, r > 0 and (first.islower() or first in "([")))
    return lone


def _group_headings(
    placed: dict[int, list[Piece]], rows: list[Edge], cols: list[Edge], horizontal: list[Rule], vertical: list[Rule]
) -> list[tuple[int, int, int]]:
    """Headings of a group of columns, as (row, first column, last column): text centred over a rule right under it
    that runs across the columns it heads, the row empty there otherwise (a statement's "Year Ended" over its three
    years; "Three Months Ended" and "Nine Months Ended", each over its own). Not across a vertical rule."""
    n_cols = len(cols) - 1
    headings = []
    for key, mine in placed.items():
        r, c = divmod(key, n_cols)
        if r >= len(rows) - 2:  # (the last row: a rule under it is the table's end)
            continue
        x0, x1 = min(p.x0 for p in mine), max(p.x1 for p in mine)
        for rule in horizontal:
            spanned = [k for k in range(n_cols) if rule.covers(cols[k].at, cols[k + 1].at, COVER)]
            if (
                abs(rule.at - rows[r + 1].at) <= CLUSTER
                and len(spanned) >= 2
                and spanned == list(range(spanned[0], spanned[-1] + 1))
                and c in spanned
                and rule.start <= x0
                and x1 <= rule.end
                and abs((x0 + x1) / 2 - (rule.start + rule.end) / 2) <= CENTRED * rule.length
                and not any(r * n_cols + k in placed for k in spanned if k != c)
                and not any(_ruled_at(vertical, cols[k].at, rows[r].at, rows[r + 1].at) for k in spanned[1:])
            ):
                headings.append((r, spanned[0], spanned[-1]))
                break
    return headings


def _ruled_at(rules: list[Rule], at: float, start: float, end: float) -> bool:
    return any(abs(rule.at - at) <= CLUSTER and rule.covers(start, end, COVER) for rule in rules)


def _rectangles(owner: list[int], n_rows: int, n_cols: int) -> list[tuple[int, int, int, int]]:
    """Merged grid cells as rectangles (r0, c0, r1, c1); a merge that is not a rectangle takes its bounding box."""
    grid = [[owner[r * n_cols + c] for c in range(n_cols)] for r in range(n_rows)]
    changed = True
    while changed:
        changed = False
        extents: dict[int, list[int]] = {}
        for r in range(n_rows):
            for c in range(n_cols):
                e = extents.setdefault(grid[r][c], [r, c, r, c])
                e[0], e[1], e[2], e[3] = min(e[0], r), min(e[1], c), max(e[2], r), max(e[3], c)
        for label, (r0, c0, r1, c1) in extents.items():
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    if grid[r][c] != label:
                        old = grid[r][c]
                        grid = [[label if v == old else v for v in row] for row in grid]
                        changed = True
            if changed:
                break
    seen: dict[int, tuple[int, int, int, int]] = {}
    for r in range(n_rows):
        for c in range(n_cols):
            e = seen.get(grid[r][c])
            seen[grid[r][c]] = (r, c, r, c) if e is None else (min(e[0], r), min(e[1], c), max(e[2], r), max(e[3], c))
    return list(seen.values())
