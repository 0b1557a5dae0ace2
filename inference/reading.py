"""Reading the pages of one or more documents through a model's runner, a window of pages at a time.

Pages with a good text layer are done at once; the others are rendered just before they are submitted
(so a long PDF never sits rendered in memory), at most ``window`` in flight, and each result is handed to
``on_page`` as it finishes (progress, a job's database). Used by ``/ocr``, ``/batch/ocr`` and the jobs.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field

from .cancel import CancelToken, Deadline
from .documents import DocPage, Document
from .errors import Cancelled, ChatVLMError, Overloaded, redact_paths
from .languages import Language
from .tickets import Ticket
from .values import OcrLine, OcrOutput, OcrWork

log = logging.getLogger(__name__)

Submit = Callable[[Sequence[OcrWork], Deadline], list[Ticket]]


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


def file_infos(files: Sequence[tuple[str, object]], docs: Sequence[Document | None],
               opened: Sequence[tuple[float, str | None]]) -> list[FileInfo]:
    return [FileInfo(name, doc.multipage, [p.number for p in doc.pages], open_s, error) if doc is not None
            else FileInfo(name, open_s=open_s, error=error)
            for (name, _), doc, (open_s, error) in zip(files, docs, opened, strict=True)]


def read_pages(docs: Sequence[Document], submit: Submit, hint: Language | None, window: int,
               deadline_for: Callable[[], Deadline], cancel: CancelToken | None = None,
               on_page: Callable[[PageRead], None] | None = None,
               skip: Callable[[int, int], bool] = lambda doc, page: False,
               stop_on_error: bool = False) -> list[PageRead]:
    """Read every page of ``docs`` (but those ``skip(doc, page)`` says are done); results in finishing order.
    ``stop_on_error``: stop at the first page that fails (what is in flight is dropped)."""
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

    def stop_all() -> None:
        for _, _, ticket, _ in inflight.values():
            ticket.cancel()

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
                    work = rendered.pop(id(page), None) or OcrWork(page.render(), hint)
                except Exception as exc:  # a page that cannot be rendered fails alone
                    todo.popleft()
                    finished(PageRead(d, page.number, page.size, "ocr", time.perf_counter() - started, error=exc))
                    continue
                try:
                    [ticket] = submit([work], deadline)
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
            if cancel is not None and cancel.cancelled:  # what ended now ended because of the cancel: not a result
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
        stop_all()  # anything still in flight when this ends early (an error, a cancel) is dropped or stopped


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
    return PageRead(d, page.number, page.size, "ocr", seconds, text=output.text.strip(), lines=output.lines,
                    warnings=output.warnings)
