"""What reading pages gives: each page's read (:class:`PageRead`, also what a job's database keeps), each file's
facts (:class:`FileInfo`), and the answers built from them (a document's pages, a batch's items)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .blocks import Block
from .documents import Document
from .errors import ChatVLMError, redact_paths
from .page_marginals import mark_running
from .results import BatchItem, BatchResult, PageResult
from .values import OcrLine


@dataclass
class PageRead:
    doc: int  # which document of the request
    page: int  # page number in that document, from 1
    size: tuple[int, int]
    source: str  # "ocr" or "text-layer"
    seconds: float = 0.0
    text: str = ""
    lines: list[OcrLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: BaseException | None = None
    blocks: list[Block] = field(default_factory=list)
    confidence: float | None = None  # 0-1 (see PageResult.confidence)
    confidence_source: str | None = None  # engine, logprob, cpu-engine or text-layer
    engine: str | None = None  # the model that read the page (None: the request's model, or its text layer)
    route: str | None = None  # why model=auto sent the page to a VLM
    cpu_agreement: float | None = None  # a routed page: the VLM's text against the CPU engine's (1 - CER)
    text_layer_agreement: float | None = None  # OCR forced on a page with a text layer: the reading against it (1 - CER)

    @property
    def message(self) -> str | None:
        """The error as a person reads it (server paths removed); None when the page was read."""
        if self.error is None:
            return None
        if isinstance(self.error, ChatVLMError):
            return redact_paths(str(self.error))
        return "Unexpected error while reading this page."


@dataclass
class FileInfo:
    """What a batch's answer needs to know of one file besides its pages' reads."""

    name: str
    multipage: bool = False
    pages: list[int] = field(default_factory=list)  # the page numbers chosen, in order
    open_s: float = 0.0  # seconds spent opening it
    error: str | None = None  # why it could not be opened

    @staticmethod
    def of(name: str, doc: Document | None, open_s: float, error: str | None) -> FileInfo:
        if doc is None:
            return FileInfo(name, open_s=open_s, error=error)
        return FileInfo(name, doc.multipage, [p.number for p in doc.pages], open_s, error)


def page_results(reads: Sequence[PageRead]) -> list[PageResult]:
    """A document's pages (``reads``: its pages' reads), running headers, footers and page numbers marked."""
    blocks = mark_running([(r.blocks, r.size) for r in reads])
    return [page_result(r, page_blocks) for r, page_blocks in zip(reads, blocks, strict=True)]


def page_result(read: PageRead, blocks: list[Block]) -> PageResult:
    """One page of a document, with its blocks as marked across the document's pages (``page_marginals``)."""
    return PageResult(
        page=read.page,
        text=read.text,
        lines=read.lines,
        processing_time=round(read.seconds, 4),
        source=read.source,
        image_size=list(read.size),
        blocks=blocks,
        warnings=read.warnings,
        error=read.message,
        **page_confidence(read),
        text_layer_agreement=read.text_layer_agreement,  # documents only: an image has no text layer
    )


def page_confidence(read: PageRead) -> dict:
    """The fields of a result that say how a page was read and how sure that reading is."""
    return {
        "confidence": read.confidence,
        "confidence_source": read.confidence_source,
        "engine": read.engine,
        "route": read.route,
        "cpu_agreement": read.cpu_agreement,
    }


def one_page(read: PageRead) -> dict:
    """A one-page file's reading in its batch item: its lines, blocks and warnings, and how sure it is."""
    return {"lines": read.lines, "blocks": read.blocks, "warnings": read.warnings, **page_confidence(read)}


def batch_result(files: Sequence[FileInfo], reads: Sequence[PageRead], model_id: str, seconds: float) -> BatchResult:
    """The batch's answer: one item per file, in the order sent (each read's ``doc`` is its file's index)."""
    by_file: dict[int, list[PageRead]] = {}
    for read in reads:
        by_file.setdefault(read.doc, []).append(read)
    results = [file_item(info, by_file.get(i, [])) for i, info in enumerate(files)]
    ok = sum(r.status == "success" for r in results)
    return BatchResult(
        results=results,
        total=len(results),
        successful=ok,
        failed=len(results) - ok,
        model=model_id,
        processing_time=round(seconds, 4),
    )


def file_item(info: FileInfo, reads: Sequence[PageRead], whole: bool = True) -> BatchItem:
    """A file's item in a batch's answer (``reads``: its pages' reads, in any order). Not ``whole``: a document's
    ``text`` and ``pages`` left empty, for a job's result written out a few pages at a time (``result_stream``)."""
    if info.error is not None:
        return BatchItem(filename=info.name, processing_time=round(info.open_s, 4), status="error", error=info.error)
    order = {number: k for k, number in enumerate(info.pages)}
    file_reads = sorted(reads, key=lambda r: order.get(r.page, 0))
    failed = [r for r in file_reads if r.error is not None]
    missing = len(info.pages) - len(file_reads)
    error = None
    if failed:
        error = failed[0].message if not info.multipage else "; ".join(f"page {r.page}: {r.message}" for r in failed[:3])
    elif missing:
        error = f"{missing} page(s) were not read."
    pages = (page_results(file_reads) if whole else []) if info.multipage else None
    return BatchItem(
        filename=info.name,
        text="\n\n".join(r.text for r in file_reads if r.text).strip() if whole else "",
        processing_time=round(info.open_s + sum(r.seconds for r in file_reads), 4),
        status="error" if error else "success",
        error=error,
        image_size=list(file_reads[0].size) if file_reads else None,
        pages=pages,
        **(one_page(file_reads[0]) if file_reads and not info.multipage else {}),
    )
