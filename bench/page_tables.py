"""Tables set on a bench page (bench/pages.py), with their structure known: four kinds in turn.

- ``grid``: every cell ruled; a category cell spanning the rows of its items, a total row whose label spans columns;
- ``rows``: a rule under each row, no vertical rules; a closing note spanning the whole width;
- ``booktabs``: rules above, below and under the header only, a two-level header (a group label spanning two
  columns over a short rule; the row labels' heading, on the lower header row, spans both);
- ``plain``: no rules at all; section rows naming groups of items.

A table's truth is ``{"kind", "bbox": [x0, y0, x1, y1], "rows": [[{"text", "rowspan", "colspan"}]]}`` (rows as in
``inference.blocks.Table``: a spanning cell only in its first row)."""

from __future__ import annotations

from typing import Any

KINDS = ["grid", "rows", "booktabs", "plain"]
ROW = 44  # px a row
RULE = (60, 60, 60)


def _cell(text: str, rowspan: int = 1, colspan: int = 1) -> dict[str, Any]:
    return {"text": text, "rowspan": rowspan, "colspan": colspan}


def _item(page, words: list[str]) -> str:
    return " ".join(page.rng.choice(words) for _ in range(2)).capitalize()


def _money(page) -> tuple[str, str, str]:
    qty, price = page.rng.randint(1, 40), page.rng.randint(100, 99999) / 100
    return str(qty), f"{price:.2f}", f"{qty * price:.2f}"


def _put(page, x0: float, x1: float, y: float, text: str, font, align: str = "left") -> None:
    width = font.getlength(text)
    x = x0 + 10 if align == "left" else (x1 - 10 - width if align == "right" else (x0 + x1 - width) / 2)
    page.draw.text((x, y), text, fill="black", font=font)


def draw_table(page, top: int, kind: str, font, bold, words: list[str], left: int, right: int) -> tuple[int, dict]:
    """Set a table of ``kind`` from ``top`` between ``left`` and ``right``; returns (the y below it, its truth)."""
    return {"grid": _grid, "rows": _rows, "booktabs": _booktabs, "plain": _plain}[kind](page, top, font, bold, words, left, right)


def _grid(page, top, font, bold, words, left, right):
    xs = [left, left + 200, left + 540, left + 680, left + 850, right]
    header = ["Category", "Item", "Quantity", "Unit price", "Amount"]
    rows: list[list[dict]] = [[_cell(t) for t in header]]
    body: list[tuple[str | None, int, list[str]]] = []  # (category or None when spanned, its span, item cells)
    for _ in range(page.rng.randint(2, 3)):
        category, count = page.rng.choice(words).capitalize() + " goods", page.rng.randint(1, 3)
        for i in range(count):
            body.append((category if i == 0 else None, count, [_item(page, words), *_money(page)]))
    y = top
    for x, text in zip(xs, header, strict=False):
        _put(page, x, x, y + 10, text, bold)
    page.lines.append(" ".join(header))
    spans = []  # (x0, x1, y0, y1) of cells that span: no rule inside them
    for k, (category, count, cells) in enumerate(body):
        y_row = top + ROW * (k + 1)
        if category is not None:
            rows.append([_cell(category, rowspan=count)])
            _put(page, xs[0], xs[1], y_row + 10 + (count - 1) * ROW / 2, category, font)
            spans.append((xs[0], xs[1], y_row, y_row + count * ROW))
        else:
            rows.append([])
        rows[-1] += [_cell(t) for t in cells]
        for j, text in enumerate(cells):
            _put(page, xs[j + 1], xs[j + 2], y_row + 10, text, font, "left" if j == 0 else "right")
        page.lines.append(" ".join(([category] if category else []) + cells))
    total_y = top + ROW * (len(body) + 1)
    total = f"{sum(float(cells[3]) for _, _, cells in body):.2f}"
    rows.append([_cell("Total", colspan=4), _cell(total)])
    _put(page, xs[0], xs[4], total_y + 10, "Total", bold)
    _put(page, xs[4], xs[5], total_y + 10, total, bold, "right")
    page.lines.append(f"Total {total}")
    bottom = total_y + ROW
    for k in range(len(body) + 3):  # horizontal rules, broken where a category spans
        y_rule = top + ROW * k
        cuts = [(x0, x1) for x0, x1, y0, y1 in spans if y0 < y_rule < y1]
        x = left
        for x0, x1 in sorted(cuts):
            page.draw.line((x, y_rule, x0, y_rule), fill=RULE, width=2)
            x = x1
        page.draw.line((x, y_rule, right, y_rule), fill=RULE, width=2)
    for j, x in enumerate(xs):  # vertical rules, broken across the total's label
        end = total_y if 0 < j < 4 else bottom
        page.draw.line((x, top, x, end), fill=RULE, width=2)
    return bottom + 30, {"kind": "grid", "bbox": [left, top, right, bottom], "rows": rows}


def _rows(page, top, font, bold, words, left, right):
    xs = [left, left + 430, left + 620, left + 830, right]
    rows = [["Item", "Quantity", "Unit price", "Amount"]]
    for _ in range(page.rng.randint(6, 10)):
        rows.append([_item(page, words), *_money(page)])
    y = top
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            _put(page, xs[j], xs[j + 1], y, text, bold if i == 0 else font, "left" if j == 0 else "right")
        page.lines.append(" ".join(row))
        page.draw.line((left, y + 34, right, y + 34), fill=(90, 90, 90), width=1)
        y += 42
    note = "Prices include delivery to the office and every applicable tax for the period"
    _put(page, left, right, y, note, font)
    page.lines.append(note)
    page.draw.line((left, y + 34, right, y + 34), fill=(90, 90, 90), width=1)
    truth = [[_cell(t) for t in row] for row in rows] + [[_cell(note, colspan=4)]]
    return y + 42 + 30, {"kind": "rows", "bbox": [left, top - 4, right, y + 36], "rows": truth}


def _booktabs(page, top, font, bold, words, left, right):
    xs = [left, left + 300, left + 490, left + 680, left + 870, right]
    y = top
    page.draw.line((left, y, right, y), fill=RULE, width=2)
    y += 10
    _put(page, xs[0], xs[1], y + ROW, "Region", bold)
    for j, year in ((1, "2023"), (3, "2024")):
        _put(page, xs[j], xs[j + 2], y, year, bold, "center")
        page.draw.line((xs[j] + 15, y + 36, xs[j + 2] - 15, y + 36), fill=RULE, width=1)
    quarters = ["First half", "Second half"] * 2
    for j, quarter in enumerate(quarters):
        _put(page, xs[j + 1], xs[j + 2], y + ROW, quarter, bold, "center")
    page.lines += ["Region 2023 2024", " ".join(quarters)]
    rows = [[_cell("Region", rowspan=2), _cell("2023", colspan=2), _cell("2024", colspan=2)], [_cell(q) for q in quarters]]
    y += 2 * ROW
    page.draw.line((left, y, right, y), fill=RULE, width=1)
    y += 8
    for _ in range(page.rng.randint(6, 9)):
        cells = [page.rng.choice(words).capitalize() + " " + page.rng.choice(["north", "south", "east", "west"])]
        cells += [f"{page.rng.randint(10, 999)}.{page.rng.randint(0, 9)}" for _ in range(4)]
        for j, text in enumerate(cells):
            _put(page, xs[j], xs[j + 1], y, text, font, "left" if j == 0 else "center")
        page.lines.append(" ".join(cells))
        rows.append([_cell(t) for t in cells])
        y += ROW - 4
    page.draw.line((left, y, right, y), fill=RULE, width=2)
    return y + 30, {"kind": "booktabs", "bbox": [left, top, right, y], "rows": rows}


def _plain(page, top, font, bold, words, left, right):
    xs = [left, left + 420, left + 600, left + 800, right]
    header = ["Description", "Units", "Price", "Total"]
    for j, text in enumerate(header):
        _put(page, xs[j], xs[j + 1], top, text, bold, "left" if j == 0 else "right")
    page.lines.append(" ".join(header))
    rows = [[_cell(t) for t in header]]
    y = top + ROW
    for section in page.rng.sample(["Office supplies", "Services", "Equipment", "Travel"], 2):
        _put(page, xs[0], xs[1], y, section, bold)
        page.lines.append(section)
        rows.append([_cell(section, colspan=4)])
        y += ROW - 4
        for _ in range(page.rng.randint(2, 4)):
            cells = [_item(page, words), *_money(page)]
            for j, text in enumerate(cells):
                _put(page, xs[j], xs[j + 1], y, text, font, "left" if j == 0 else "right")
            page.lines.append(" ".join(cells))
            rows.append([_cell(t) for t in cells])
            y += ROW - 4
    return y + 30, {"kind": "plain", "bbox": [left, top - 4, right, y], "rows": rows}
