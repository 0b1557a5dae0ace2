"""A finished job's result (GET /jobs/{id}/result) written out as JSON a few pages at a time, never built whole: a
dense page's read is ~7 MB of objects once loaded, so a 2,000-page job's result built whole needed ~14 GB. A
document's pages are gone through, :data:`FETCHED` at a time, for their facts (times, errors, the blocks that run
from page to page: ``page_marginals``; their text, kept up to :data:`TEXT_KEPT` characters), for their text again when
it was more (the item's ``text``), then for their results (its ``pages``). The JSON is what the REST layer writes for
the whole :class:`~inference.results.BatchResult`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .errors import ChatVLMError
from .heap import gc_paused
from .job_tables import load_read, parsed
from .page_marginals import candidates, retyped, running
from .page_results import FileInfo, PageRead, batch_result, file_item, page_result
from .results import BatchResult

FETCHED = 4  # pages read from the store at once
TEXT_KEPT = 4 * 2**20  # a document's text is kept from the first time through its pages up to this many characters

# (file index, page numbers) -> the stored reads (their JSON) of those pages of that file, by page number
Fetch = Callable[[int, Sequence[int]], dict[int, str]]


class ResultGone(ChatVLMError):
    """A page of the result went while it was written out (the job deleted or expired meanwhile)."""


def dumps(value: Any) -> str:
    """JSON as the REST layer writes it (FastAPI's JSONResponse)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def result_json(
    files: Sequence[tuple[int, FileInfo]], read: Sequence[tuple[int, int]], fetch: Fetch, model: str, seconds: float
) -> Iterator[str]:
    """The result of a job whose ``files`` (index, facts) have these pages ``read`` (file index, page number), its
    reads fetched a few at a time (``fetch``), as pieces of JSON text."""
    numbers = _by_file(read)
    ok = 0
    yield '{"results":['
    for n, (idx, info) in enumerate(files):
        order = {number: k for k, number in enumerate(info.pages)}
        chosen = sorted(numbers.get(idx, []), key=lambda page: order.get(page, 0))
        yield "," if n else ""
        ok += yield from _item(idx, info, chosen, fetch)
    tail = {"total": len(files), "successful": ok, "failed": len(files) - ok, "model": model}
    yield "]," + dumps({**tail, "processing_time": round(seconds, 4)})[1:]


def result_without_lines(
    files: Sequence[tuple[int, FileInfo]], read: Sequence[tuple[int, int]], fetch: Fetch, model: str, seconds: float
) -> BatchResult:
    """The result (as :func:`result_json`'s arguments) built whole but for its lines, the page's and its blocks' (the
    Batch tab's table and its CSV and Markdown downloads need none): about the size of its text and its tables."""
    numbers = _by_file(read)
    reads = []
    for idx, chosen in numbers.items():
        for page, raw in _fetched(idx, chosen, fetch):
            with gc_paused():
                reads.append(load_read(idx, page, raw, False))
    return batch_result([info for _, info in files], reads, model, seconds)


def _by_file(read: Sequence[tuple[int, int]]) -> dict[int, list[int]]:
    """The page numbers read of each file, by its index."""
    numbers: dict[int, list[int]] = {}
    for idx, page in read:
        numbers.setdefault(idx, []).append(page)
    return numbers


def _item(idx: int, info: FileInfo, chosen: list[int], fetch: Fetch) -> Iterator[str]:
    """One file's item (its pages ``chosen``: those read, in the file's order); returns whether it succeeded."""
    if not info.multipage or info.error is not None:  # (one page at most: built whole)
        with gc_paused():
            item = file_item(info, [load_read(idx, page, raw) for page, raw in _fetched(idx, chosen, fetch)])
            whole = dumps(item.model_dump(mode="json"))
        yield whole
        return item.status == "success"
    facts: list[PageRead] = []
    found, paged, kept, texts = [], 0, 0, []
    for page, raw in _fetched(idx, chosen, fetch):
        with gc_paused():
            light = load_read(idx, page, raw, lines=False)
        found.append(candidates(light.blocks, light.size))
        paged += bool(light.blocks)
        kept += len(light.text)
        if kept <= TEXT_KEPT:
            texts.append(light.text)
        light.blocks, light.text = [], ""
        facts.append(light)
    marks = running(found, paged)
    item = file_item(info, facts, whole=False)
    if kept > TEXT_KEPT:  # (dropped: read again while it is written out)
        texts = (_text_of(raw) for _, raw in _fetched(idx, chosen, fetch))  # type: ignore[assignment]

    def pages() -> Iterator[str]:
        for k, (page, raw) in enumerate(_fetched(idx, chosen, fetch)):
            with gc_paused():  # (a dense page's millions of objects: see inference.heap; the yield outside it)
                whole = load_read(idx, page, raw)
                piece = ("," if k else "") + dumps(page_result(whole, retyped(whole.blocks, marks[k])).model_dump(mode="json"))
                del whole
            yield piece

    parts = {"text": lambda: _string(_stripped(_joined(iter(texts)))), "pages": lambda: _array(pages())}
    yield from _object(item.model_dump(mode="json"), parts)
    return item.status == "success"


def _text_of(raw: str) -> str:
    with gc_paused():
        return parsed(raw)["text"]


def _fetched(idx: int, chosen: list[int], fetch: Fetch) -> Iterator[tuple[int, str]]:
    """(page number, stored read) of each page chosen, in order, fetched :data:`FETCHED` at a time."""
    for start in range(0, len(chosen), FETCHED):
        wanted = chosen[start : start + FETCHED]
        got = fetch(idx, wanted)
        for page in wanted:
            if page not in got:
                raise ResultGone("This job's result was deleted while it was being sent.")
            yield page, got[page]


def _object(fields: dict[str, Any], parts: dict[str, Callable[[], Iterator[str]]]) -> Iterator[str]:
    """A JSON object of ``fields`` in their order, the values of those in ``parts`` written out by it (JSON pieces)."""
    yield "{"
    for k, (name, value) in enumerate(fields.items()):
        yield ("," if k else "") + dumps(name) + ":"
        if name in parts:
            yield from parts[name]()
        else:
            yield dumps(value)
    yield "}"


def _array(items: Iterator[str]) -> Iterator[str]:
    yield "["
    yield from items
    yield "]"


def _string(pieces: Iterator[str]) -> Iterator[str]:
    """A JSON string of the pieces of text, one after the other."""
    yield '"'
    for piece in pieces:
        yield dumps(piece)[1:-1]
    yield '"'


def _joined(texts: Iterator[str], separator: str = "\n\n") -> Iterator[str]:
    """The pieces of ``separator.join(t for t in texts if t)``."""
    first = True
    for text in texts:
        if text:
            yield text if first else separator + text
            first = False


def _stripped(pieces: Iterator[str]) -> Iterator[str]:
    """The pieces of ``"".join(pieces).strip()``: the white space before the first character that is not, and after
    the last, left out (a run of it is held back until more text follows it)."""
    begun, held = False, ""
    for piece in pieces:
        if not begun:
            piece = piece.lstrip()
            if not piece:
                continue
            begun = True
        body = piece.rstrip()
        if body:
            yield held + body
            held = piece[len(body) :]
        else:
            held += piece
