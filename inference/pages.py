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

from . import documents, held_images, images, routing
from .cancel import CancelToken, Deadline
from .catalog import ModelHandle
from .documents import DocPage, Document
from .errors import Cancelled, ChatVLMError, Overloaded, redact_paths
from .images import ImageSource
from .inputs import OcrRequest
from .manager import ModelManager
from .page_results import FileInfo, PageRead, batch_result, page_confidence, page_results
from .results import BatchResult, OcrResult
from .settings import LimitSettings
from .text_budget import text_budget
from .text_layer_pages import structure_wanted, text_layer_reads
from .tickets import Ticket
from .values import OcrOutput, OcrWork

log = logging.getLogger(__name__)


class Pages:
    """Opens documents for a model and reads their pages through the manager (see the module doc)."""

    def __init__(self, limits: LimitSettings, manager: ModelManager):
        self.limits = limits
        self.manager = manager

    # ---- opening -----------------------------------------------------------------------------------
    def open(
        self,
        source: ImageSource | bytes,
        model: ModelHandle,
        name: str,
        pages: str | None = None,
        force_ocr: bool = False,
        one_of_many: bool = False,
    ) -> Document:
        """An image, multi-page TIFF or PDF, checked and ready to be read page by page (PDF pages are rendered at
        the size ``model`` reads best, when they are read). ``one_of_many``: a file of a batch or job (a large image is
        decoded again when its turn comes, not kept decoded while the others are read; an image is read whole whatever
        ``pages`` says)."""
        if isinstance(source, images.Image.Image):
            return documents.image_document(images.load(source, self.limits, name), name, pages)
        data = images.read_bytes(source, self.limits, name)
        return documents.open_document(data, self.limits, name, pages, model.sizing.page_side, force_ocr, one_of_many=one_of_many)

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
                    doc = self.open(source, request.model, name, request.pages, request.force_ocr, one_of_many=True)
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
        progress: Callable[[int, int], None] | None = None,
    ) -> OcrResult:
        """One image or document read; a page that fails fails the request (the page named). ``progress(done, total)``
        as pages finish."""
        with text_budget(self.limits.max_text_lines):
            doc = self.open(source, request.model, filename, request.pages, request.force_ocr)
        done, total = 0, len(doc.pages)

        def page_done(_: PageRead) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total)

        try:
            reads = self.read(request, [doc], lambda: deadline, cancel, page_done, stop_on_error=True)
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
            model=request.model_id,
            processing_time=round(time.perf_counter() - started, 4),
            image_size=list(doc.pages[0].size),
            language=request.language.text if request.language else None,
            lines=[] if doc.multipage else reads[0].lines,
            blocks=[] if doc.multipage else reads[0].blocks,
            **({} if doc.multipage else page_confidence(reads[0])),
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
        with text_budget(self.limits.max_text_lines):
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
        return batch_result(infos, reads, request.model_id, time.perf_counter() - started)

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
        background: bool = False,
    ) -> list[PageRead]:
        """Read every page of ``docs`` (but those ``skip(doc, page)`` says are done), a window at a time through
        the model's runner; results in finishing order. ``stop_on_error``: stop at the first page that fails
        (what is in flight is dropped). ``background``: a job's pages (they wait behind requests)."""
        model, window = request.model, self.window(request.model)
        reads: list[PageRead] = []
        todo: deque[tuple[int, DocPage]] = deque()

        layers = {(d, p.number): p.layer_text for d, doc in enumerate(docs) for p in doc.pages if p.layer_text}

        def finished(read: PageRead) -> None:
            if (read.doc, read.page) in layers:  # OCR forced on a page with a text layer: the reading measured on it
                read = routing.against_text_layer(read, layers[read.doc, read.page])
            reads.append(read)
            if on_page is not None:
                on_page(read)

        layer: list[tuple[int, DocPage]] = []  # pages read from their text layer: done at once
        for d, doc in enumerate(docs):
            for page in doc.pages:
                if skip(d, page.number):
                    continue
                if page.needs_ocr:
                    todo.append((d, page))
                else:
                    layer.append((d, page))
        for read in text_layer_reads(layer, structure_wanted(model)):
            finished(read)
        inflight: dict = {}  # future -> (doc, page, ticket, started, work kept for the VLM, the CPU engine's read)
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
                        work = rendered.pop(id(page), None) or page_work(page, request)
                    except Exception as exc:  # a page that cannot be rendered fails alone
                        todo.popleft()
                        finished(PageRead(d, page.number, page.size, "ocr", time.perf_counter() - started, error=exc))
                        continue
                    try:
                        [ticket] = self.manager.submit(
                            model, [work], deadline, cancel=cancel, background=background, continuing=started_any
                        )
                    except Overloaded:
                        if not inflight and not started_any:
                            raise  # the request is refused at once, as any other would be
                        if not inflight:  # a request under way waits its turn (others filled the queue meanwhile)
                            time.sleep(min(0.2, deadline.remaining()))
                        rendered[id(page)] = work  # tried again once there is room
                        break
                    started_any = True
                    todo.popleft()
                    page.size = work.image.size if work.image is not None else page.size  # as rendered
                    inflight[ticket.future] = (d, page, ticket, started, work if request.routing else None, None)
                if stop_on_error and any(r.error is not None for r in reads):
                    return reads
                if not inflight:
                    continue
                soonest = min(entry[2].deadline.remaining() for entry in inflight.values())
                done, _ = wait(list(inflight), timeout=soonest, return_when=FIRST_COMPLETED)
                if cancel is not None and cancel.cancelled:  # what ended now ended because of the cancel
                    raise Cancelled("The request was cancelled before it finished.")
                if not done:  # a deadline passed: what waits is dropped, what runs is stopped
                    for future, (_, _, ticket, *_) in inflight.items():
                        if ticket.deadline.expired():
                            ticket.expire()
                            done.add(future)
                for future in done:
                    d, page, ticket, started, work, cpu_read = inflight.pop(future)
                    engine = model.id if cpu_read is None or request.vlm is None else request.vlm.id
                    read = _page_read(d, page, ticket, started, engine)
                    if cpu_read is not None:  # the VLM's reading of a page routed to it
                        finished(routing.routed(read, cpu_read, cpu_read.route or ""))
                    elif work is None or read.error is not None:
                        finished(read)
                    else:  # model=auto: the CPU engine's reading, kept or sent on
                        vlm_ticket = self.route(request, read, work, ticket.deadline, cancel, background)
                        if vlm_ticket is None:
                            finished(read)
                        else:
                            inflight[vlm_ticket.future] = (d, page, vlm_ticket, time.perf_counter(), None, read)
            return reads
        finally:
            for _, _, ticket, *_ in inflight.values():  # what is still in flight when this ends early is stopped
                ticket.cancel()

    def route(
        self, request: OcrRequest, read: PageRead, work: OcrWork, deadline: Deadline, cancel: CancelToken | None, background: bool
    ) -> Ticket | None:
        """model=auto: the page submitted to the VLM when it needs it (its ticket), else None (the CPU engine's reading
        kept, with a warning when a VLM was needed and none can run here or its queue is full)."""
        assert request.routing is not None
        route = routing.reason(read, request.routing)
        if route is None:
            return None
        if request.vlm is None:
            read.warnings.append(routing.not_routed(route, request.no_vlm))
            return None
        if work.render is not None and work.image is not None:  # a large image: let go while it waits there (as at first)
            image, work.image = work.image, None  # (the CPU engine's work, its ticket's and this request's, lets it go)
            work = OcrWork(None, work.language, render=held_images.HELD.hold(image, work.render))
        try:
            [ticket] = self.manager.submit(request.vlm, [work], deadline, cancel=cancel, background=background, wait=False)
        except Overloaded as exc:  # (its queue is full, or no room in memory to load it now)
            read.warnings.append(routing.not_routed(route, f"{request.vlm.id} is busy ({redact_paths(str(exc))})"))
            return None
        except ChatVLMError as exc:  # it cannot take the page (unloaded, failed to load...): the CPU's reading stands
            read.warnings.append(routing.not_routed(route, f"{request.vlm.id} could not take it ({redact_paths(str(exc))})"))
            return None
        read.route = route
        return ticket


def close_all(docs: Sequence[Document | None]) -> None:
    for doc in docs:
        if doc is not None:
            doc.close()


def _page_read(d: int, page: DocPage, ticket: Ticket, started: float, engine: str) -> PageRead:
    seconds = time.perf_counter() - started
    try:
        output = ticket.future.result(timeout=5)
    except ChatVLMError as exc:
        return PageRead(d, page.number, page.size, "ocr", seconds, error=exc, engine=engine)
    except Exception as exc:
        log.error("page %d failed", page.number, exc_info=exc)
        return PageRead(d, page.number, page.size, "ocr", seconds, error=exc, engine=engine)
    assert isinstance(output, OcrOutput)
    confidence, source = routing.output_confidence(output)
    return PageRead(
        d,
        page.number,
        page.size,
        "ocr",
        seconds,
        text=output.text.strip(),
        lines=output.lines,
        warnings=output.warnings,
        blocks=output.blocks,
        confidence=confidence,
        confidence_source=source,
        engine=engine,
    )


def page_work(page: DocPage, request: OcrRequest) -> OcrWork:
    """The work of reading ``page``: rendered now, or when its turn at the model comes (``DocPage.deferred``)."""
    assert page.render is not None
    if page.deferred:
        return OcrWork(None, request.language, render=page.render)
    return OcrWork(page.render(), request.language)
