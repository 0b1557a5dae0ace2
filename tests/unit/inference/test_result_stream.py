"""A job's result written out a few pages at a time (inference/result_stream.py) is the very answer built whole
(page_results.batch_result, what /batch/ocr answers): every kind of file, running headers marked across a
document's pages, the text's white space at its ends, and a document's text too long to keep read again."""

from __future__ import annotations

import json

import pytest

from inference import result_stream
from inference.blocks import Block, OcrLine, Table, TableCell
from inference.errors import ChatVLMError
from inference.job_tables import dump_read
from inference.page_results import FileInfo, PageRead, batch_result
from inference.result_stream import ResultGone, result_json


def a_read(doc: int, page: int, text: str, error: str | None = None) -> PageRead:
    """A page of ``text`` with a running header ("Annual report — page N") and a table, as a worker writes it."""
    lines = [
        OcrLine(text=t, box=[[0, 40.0 * k], [90, 40.0 * k], [90, 40.0 * k + 9], [0, 40.0 * k + 9]], confidence=0.9)
        for k, t in enumerate(text.split("\n"))
    ]
    header = Block(type="text", bbox=[10, 5, 300, 20], text=f"Annual report — page {page}")
    cells = [[TableCell(text="a", bbox=[0, 0, 1, 1]), TableCell(text="b", colspan=2)]]
    table = Block(type="table", bbox=[10, 300, 300, 400], text="a\tb", table=Table(rows=cells), lines=lines[:1])
    body = Block(type="text", bbox=[10, 100, 300, 200], text=text, lines=lines)
    read = PageRead(doc, page, (400, 1000), "ocr", 0.25 * page, text=text, lines=lines, blocks=[header, body, table])
    read.warnings, read.confidence, read.confidence_source = [f"w{page}"], 0.5, "engine"
    read.error = ChatVLMError(error) if error else None
    return read


FILES = [
    FileInfo("scan.png", False, [1], 0.01),
    FileInfo("broken.pdf", error="This file is not a PDF."),
    FileInfo("report.pdf", True, [1, 2, 3, 4], 0.2),
    FileInfo("short.pdf", True, [2, 5, 9], 0.1),  # (page 9 never read: missing)
    FileInfo("empty.pdf", True, [1], 0.0),  # (nothing read)
]
READS = [
    a_read(0, 1, "  Total 12.00\nThank you  "),
    *(a_read(2, n, text) for n, text in [(1, "\n  first page"), (2, "mid \t"), (3, ""), (4, 'Ünïcode “quotes” \\ "marks"\n\n ')]),
    a_read(3, 5, "five"),
    a_read(3, 2, "two", error="Page 2 could not be read."),
]


def streamed(reads: list[PageRead], gone: set[tuple[int, int]] = frozenset()) -> str:
    stored = {(r.doc, r.page): dump_read(r) for r in reads}
    asked: list[int] = []

    def fetch(idx: int, numbers) -> dict[int, str]:
        asked.append(len(numbers))
        return {n: stored[(idx, n)] for n in numbers if (idx, n) in stored and (idx, n) not in gone}

    text = "".join(result_json(list(enumerate(FILES)), list(stored), fetch, "embedded", 12.34567))
    assert max(asked) <= result_stream.FETCHED
    return text


@pytest.mark.parametrize("kept", [result_stream.TEXT_KEPT, 5])
def test_the_streamed_result_is_the_one_built_whole(monkeypatch, kept):
    monkeypatch.setattr(result_stream, "TEXT_KEPT", kept)  # (5: the document's text read again to be written)
    whole = batch_result(FILES, READS, "embedded", 12.34567).model_dump(mode="json")
    written = streamed(READS)
    assert json.loads(written) == whole
    assert written == result_stream.dumps(whole)  # (byte for byte what the REST layer writes)
    report = whole["results"][2]
    assert [b["type"] for p in report["pages"] for b in p["blocks"]][:3] == ["header", "text", "table"]  # (running)
    assert report["text"] == 'first page\n\nmid \t\n\nÜnïcode “quotes” \\ "marks"'
    assert whole["results"][3]["error"].startswith("page 2:") and whole["successful"] == 2


def test_a_page_gone_while_written_stops_the_answer():
    with pytest.raises(ResultGone):
        streamed(READS, gone={(2, 3)})
