"""Documents through a model, page by page: open them, read their pages through the manager a window at a time,
and build the answers (``/ocr``, ``/batch/ocr`` and the jobs all read this way).

Pages with a good text layer are done at once; the others are rendered just before they are submitted (so a long
PDF never sits rendered in memory), at most :meth:`Pages.window` in flight, and each result is handed to
``on_page`` as it finishes (progress, a job's database).
"""

from __future__ import annotations

import copy
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field

from . import documents, images
from .cancel import CancelToken, Deadline
from .catalog import ModelHandle
from .documents import DocPage, Document
from .errors import Cancelled, ChatVLMError, Overloaded, redact_paths
from .images import ImageSource
from .inputs import OcrRequest
from .manager import ModelManager
from .results import BatchItem, BatchResult, OcrResult, PageResult
from .settings import LimitSettings
from .tickets import Ticket
from .values import OcrLine, OcrOutput, OcrWork

log = logging.getLogger(__name__)


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


class Pages:
    """Opens documents for a model and reads their pages through the manager (see the module doc)."""

    def __init__(self, limits: LimitSettings, manager: ModelManager):
        self.limits = limits
        self.manager = manager

    # ---- opening -----------------------------------------------------------------------------------
    def open(
        self, source: ImageSource | bytes, model: ModelHandle, name: str, pages: str | None = None, force_ocr: bool = False
    ) -> Document:
        """An image, multi-page TIFF or PDF, checked and ready to be read page by page (PDF pages are rendered at
        the size ``model`` reads best, when they are read)."""
        if isinstance(source, images.Image.Image):
            return documents.image_document(images.load(source, self.limits, name), name, pages)
        data = images.read_bytes(source, self.limits, name)
        return documents.open_document(data, self.limits, name, pages, model.sizing.page_side, force_ocr)

    def open_each(
        self,
        files: Sequence[tuple[str, ImageSource | Callable[[], bytes]]],
        request: OcrRequest,
        on_open: Callable[[int, Document | None, float, str | None], None] | None = None,
    ) -> list[Document | None]:
        """Each file opened (None where it cannot be); ``on_open(i, doc, seconds, error)`` after each. A source may
        be a callable that gives it, called when its turn comes (its errors are not the file's: they end this)."""
        docs: list[Document | None] = []
        try:
            for i, (name, source) in enumerate(files):
                if callable(source):
                    source = source()
                t0, doc, error = time.perf_counter(), None, None
                try:
                    doc = self.open(source, request.model, name, request.pages, request.force_ocr)
                except ChatVLMError as exc:
                    error = redact_paths(str(exc))
                docs.append(doc)
                if on_open is not None:
                    on_open(i, doc, time.perf_counter() - t0, error)
        except BaseException:
            close_all(docs)
            raise
        return docs

    def window(self, model: ModelHandle) -> int:
        """Pages of one request in flight at once: twice what the model runs at once (so it never waits for the
        next page), at most ``max_batch_files`` (a document never floods the queue others wait in)."""
        return max(1, min(self.limits.max_batch_files, 2 * model.sizing.workers * model.sizing.max_batch))

    # ---- the requests ------------------------------------------------------------------------------
    def ocr(
        self,
        request: OcrRequest,
        source: ImageSource,
        filename: str,
        deadline: Deadline,
        cancel: CancelToken | None,
        started: float,
    ) -> OcrResult:
        """One image or document read; a page that fails fails the request (the page named)."""
        doc = self.open(source, request.model, filename, request.pages, request.force_ocr)
        try:
            reads = self.read(request, [doc], lambda: deadline, cancel, stop_on_error=True)
        finally:
            doc.close()
        failed = next((r for r in reads if r.error is not None), None)
        if failed is not None:
            error = failed.error
            if doc.multipage and isinstance(error, ChatVLMError):
                error = copy.copy(error)  # its type and attributes (a Retry-After) kept, the page named
                error.args = (f"Page {failed.page}: {failed.error}",)
            raise error
        order = {page.number: i for i, page in enumerate(doc.pages)}
        reads = sorted(reads, key=lambda r: order[r.page])
        return OcrResult(
            text="\n\n".join(r.text for r in reads if r.text).strip(),
            model=request.model.id,
            processing_time=round(time.perf_counter() - started, 4),
            image_size=list(doc.pages[0].size),
            language=request.language.text if request.language else None,
            lines=[] if doc.multipage else reads[0].lines,
            warnings=list(dict.fromkeys(w for r in reads for w in r.warnings)),
            pages=page_results(reads) if doc.multipage else None,
        )

    def batch(
        self,
        request: OcrRequest,
        files: Sequence[tuple[str, ImageSource]],
        deadline: Deadline,
        cancel: CancelToken | None,
        started: float,
        progress: Callable[[int, int], None] | None = None,
    ) -> BatchResult:
        """Many files; a bad file or page fails alone. ``progress(done, total)`` as pages finish."""
        infos: list[FileInfo] = []
        docs = self.open_each(files, request, lambda i, doc, s, error: infos.append(FileInfo.of(files[i][0], doc, s, error)))
        total, done = sum(len(doc.pages) if doc is not None else 1 for doc in docs), 0

        def page_done(_: PageRead | None = None) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total)

        for doc in docs:
            if doc is None:
                page_done()
        present = [i for i, doc in enumerate(docs) if doc is not None]
        try:
            reads = self.read(request, [docs[i] for i in present], lambda: deadline, cancel, page_done)
        finally:
            close_all(docs)
        if cancel is not None and cancel.cancelled:
            raise Cancelled("The batch was cancelled before it finished.")
        for read in reads:
            read.doc = present[read.doc]  # the file's place in the batch
        return batch_result(infos, reads, request.model.id, time.perf_counter() - started)

    # ---- reading -----------------------------------------------------------------------------------
    def read(
        self,
        request: OcrRequest,
        docs: Sequence[Document],
        deadline_for: Callable[[], Deadline],
        cancel: CancelToken | None = None,
        on_page: Callable[[PageRead], None] | None = None,
        skip: Callable[[int, int], bool] = lambda doc, page: False,
        stop_on_error: bool = False,
    ) -> list[PageRead]:
        """Read every page of ``docs`` (but those ``skip(doc, page)`` says are done), a window at a time through
        the model's runner; results in finishing order. ``stop_on_error``: stop at the first page that fails
        (what is in flight is dropped)."""
        model, window = request.model, self.window(request.model)
        reads: list[PageRead] = []
        todo: deque[tuple[int, DocPage]] = deque()

        def finished(read: PageRead) -> None:
            reads.append(read)
            if on_page is not None:
                on_page(read)

        for d, doc in enumerate(docs):
            for page in doc.pages:
                if skip(d, page.number):
                    continue
                if page.needs_ocr:
                    todo.append((d, page))
                else:
                    finished(PageRead(d, page.number, page.size, "text-layer", text=page.text or "", lines=page.lines))
        inflight: dict = {}  # future -> (doc, page, ticket, started)
        started_any = False  # whether a page of this request was admitted
        rendered: dict[int, OcrWork] = {}  # a page rendered but not yet admitted (the queue was full)
        try:
            while todo or inflight:
                if cancel is not None and cancel.cancelled:
                    raise Cancelled("The request was cancelled before it finished.")
                while todo and len(inflight) < window:  # one page at a time: admitted as the queue has room
                    d, page = todo[0]
                    deadline = deadline_for()
                    started = time.perf_counter()
                    if deadline.expired():  # too late to start: not rendered, not queued
                        todo.popleft()
                        finished(PageRead(d, page.number, page.size, "ocr", error=deadline.error()))
                        continue
                    try:
                        assert page.render is not None
                        work = rendered.pop(id(page), None) or OcrWork(page.render(), request.language)
                    except Exception as exc:  # a page that cannot be rendered fails alone
                        todo.popleft()
                        finished(PageRead(d, page.number, page.size, "ocr", time.perf_counter() - started, error=exc))
                        continue
                    try:
                        [ticket] = self.manager.submit(model, [work], deadline, cancel=cancel)
                    except Overloaded:
                        if not inflight and not started_any:
                            raise  # the request is refused at once, as any other would be
                        if not inflight:  # a request under way waits its turn (others filled the queue meanwhile)
                            time.sleep(min(0.2, deadline.remaining()))
                        rendered[id(page)] = work  # tried again once there is room
                        break
                    started_any = True
                    todo.popleft()
                    page.size = work.image.size  # as rendered
                    inflight[ticket.future] = (d, page, ticket, started)
                if stop_on_error and any(r.error is not None for r in reads):
                    return reads
                if not inflight:
                    continue
                soonest = min(ticket.deadline.remaining() for _, _, ticket, _ in inflight.values())
                done, _ = wait(list(inflight), timeout=soonest, return_when=FIRST_COMPLETED)
                if cancel is not None and cancel.cancelled:  # what ended now ended because of the cancel
                    raise Cancelled("The request was cancelled before it finished.")
                if not done:  # a deadline passed: what waits is dropped, what runs is stopped
                    for future, (_, _, ticket, _) in inflight.items():
                        if ticket.deadline.expired():
                            ticket.expire()
                            done.add(future)
                for future in done:
                    d, page, ticket, started = inflight.pop(future)
                    finished(_page_read(d, page, ticket, started))
            return reads
        finally:
            for _, _, ticket, _ in inflight.values():  # what is still in flight when this ends early is stopped
                ticket.cancel()


def close_all(docs: Sequence[Document | None]) -> None:
    for doc in docs:
        if doc is not None:
            doc.close()


def _page_read(d: int, page: DocPage, ticket: Ticket, started: float) -> PageRead:
    seconds = time.perf_counter() - started
    try:
        output = ticket.future.result(timeout=5)
    except ChatVLMError as exc:
        return PageRead(d, page.number, page.size, "ocr", seconds, error=exc)
    except Exception as exc:
        log.error("page %d failed", page.number, exc_info=exc)
        return PageRead(d, page.number, page.size, "ocr", seconds, error=exc)
    assert isinstance(output, OcrOutput)
    return PageRead(
        d, page.number, page.size, "ocr", seconds, text=output.text.strip(), lines=output.lines, warnings=output.warnings
    )


def page_results(reads: Sequence[PageRead]) -> list[PageResult]:
    return [
        PageResult(
            page=r.page,
            text=r.text,
            lines=r.lines,
            processing_time=round(r.seconds, 4),
            source=r.source,
            image_size=list(r.size),
            warnings=r.warnings,
            error=r.message,
        )
        for r in reads
    ]


def batch_result(files: Sequence[FileInfo], reads: Sequence[PageRead], model_id: str, seconds: float) -> BatchResult:
    """The batch's answer: one item per file, in the order sent (each read's ``doc`` is its file's index)."""
    by_file: dict[int, list[PageRead]] = {}
    for read in reads:
        by_file.setdefault(read.doc, []).append(read)
    results = []
    for i, info in enumerate(files):
        if info.error is not None:
            results.append(BatchItem(filename=info.name, processing_time=round(info.open_s, 4), status="error", error=info.error))
            continue
        order = {number: k for k, number in enumerate(info.pages)}
        file_reads = sorted(by_file.get(i, []), key=lambda r: order.get(r.page, 0))
        failed = [r for r in file_reads if r.error is not None]
        missing = len(info.pages) - len(file_reads)
        error = None
        if failed:
            error = failed[0].message if not info.multipage else "; ".join(f"page {r.page}: {r.message}" for r in failed[:3])
        elif missing:
            error = f"{missing} page(s) were not read."
        results.append(
            BatchItem(
                filename=info.name,
                text="\n\n".join(r.text for r in file_reads if r.text).strip(),
                processing_time=round(info.open_s + sum(r.seconds for r in file_reads), 4),
                status="error" if error else "success",
                error=error,
                image_size=list(file_reads[0].size) if file_reads else None,
                pages=page_results(file_reads) if info.multipage else None,
            )
        )
    ok = sum(r.status == "success" for r in results)
    return BatchResult(
        results=results,
        total=len(results),
        successful=ok,
        failed=len(results) - ok,
        model=model_id,
        processing_time=round(seconds, 4),
    )
