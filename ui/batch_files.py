"""The Batch tab's downloads: its results as CSV (what a spreadsheet shows, safe to open in one), JSON (every field)
and Markdown (each file's structure: its tables as tables)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from inference.markdown import batch_markdown
from inference.results import BatchItem, BatchResult

from .downloads import written

CSV_COLUMNS = ["filename", "status", "error", "pages", "text", "confidence", "confidence_source", "engine", "route"]
CSV_COLUMNS += ["cpu_agreement", "image_size", "processing_time"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet takes a cell starting so for a formula


def csv_row(item: BatchItem) -> list[Any]:
    """A file's row of the CSV download, as a spreadsheet shows it: a document's pages counted and their text each under
    "[page N]" (a cell starting "--- page" would be a formula; the JSON download has every page whole); text a
    spreadsheet would take for a formula ("=HYPERLINK(...)" read off a page) starts with a quote, as spreadsheets write
    such text themselves."""
    pages = item.pages or []
    text = "\n\n".join(f"[page {p.page}]\n{p.text}" for p in pages) if pages else item.text
    row = [item.filename, item.status, item.error or "", len(pages) or "", text, item.confidence, item.confidence_source]
    row += [item.engine, item.route]
    size = "x".join(map(str, item.image_size)) if item.image_size else ""
    return [f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START) else v for v in row] + [
        item.cpu_agreement,
        size,
        item.processing_time,
    ]


def write_downloads(result: BatchResult, whole: Callable[[], Iterator[str]] | None = None) -> list[str]:
    """The results as ocr_results.csv, .json and .md (none when the disk is short: ``downloads.written``). ``whole``: a
    job's result as pieces of JSON (``result`` lacks its lines: built whole, a long job's took GBs), for the JSON."""
    csv = pd.DataFrame([csv_row(item) for item in result.results], columns=CSV_COLUMNS).to_csv(index=False)
    body = whole() if whole is not None else json.dumps(result.model_dump(), ensure_ascii=False, indent=2)
    return written({"ocr_results.csv": csv, "ocr_results.json": body, "ocr_results.md": batch_markdown(result)})
