"""The units of a job's work, the same in one process and on Celery workers: **open** a job (its files opened, a
page listed for each page to read) and **read a page** (one page through the model's runner, its result written).

Both are idempotent (the store writes an opening once and a page once), so a unit delivered twice (a worker killed
before it acknowledged, a sweep that sent it again) costs time, never a wrong count. A process keeps the documents
it opened a job with open for a while (:class:`DocCache`), so their pages read here need not open them again; a page
whose document is not kept here (another worker opened the job, more files are being read than are kept, a restart)
opens its file for that page alone (a reopening that read every page's text layer again cost each page's read the
whole file's: pages squared).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from . import languages, routing
from .cancel import CancelToken, Deadline
from .catalog import Catalog
from .documents import Document
from .errors import Cancelled, ChatVLMError, ModelUnavailable, Overloaded, UnknownModel, redact_paths
from .inputs import OcrRequest, auto_request
from .job_store import JobRecord, JobStore, Opened
from .job_store_quota import Quota
from .page_results import PageRead
from .pages import Pages
from .text_budget import text_budget
from .text_layer_pages import structure_wanted, text_layer_reads

log = logging.getLogger(__name__)

CACHE_SIZE = 8  # documents a process keeps open for the pages still to come
SHORT_OF_DISK_FOR_RESULTS = (
    "The server is short of disk space to keep this job's results (its pages read so far are kept); send the rest again later."
)
OVER_RESULTS_QUOTA = (
    "This key's jobs keep {mb} MB of results, its quota (limits.max_result_mb_per_key): this job stopped, its pages read so far "
    "kept; delete finished jobs whose results you have (DELETE /jobs/{{id}}) and send the rest again."
)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class DocCache:
    """Opened documents by (job, file index), the least recently used closed past :data:`CACHE_SIZE` (once nobody
    reads them)."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._docs: OrderedDict[tuple[str, int], Document] = OrderedDict()
        self._users: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def use(self, key: tuple[str, int]) -> Iterator[Document | None]:
        """The document kept for ``key``, not closed while it is used here; None when none is kept."""
        with self._lock:
            doc = self._docs.get(key)
            if doc is not None:
                self._hold(key)
        if doc is None:
            yield None
            return
        try:
            yield doc
        finally:
            with self._lock:
                self._users[key] -= 1
                self._trim()

    def _drop(self, key: tuple[str, int]) -> None:
        self._docs.pop(key).close()
        self._users.pop(key, None)

    def _hold(self, key: tuple[str, int]) -> None:
        self._docs.move_to_end(key)
        self._users[key] = self._users.get(key, 0) + 1

    def put(self, key: tuple[str, int], doc: Document) -> None:
        with self._lock:
            old = self._docs.pop(key, None)
            self._docs[key] = doc
            if old is not None and old is not doc and not self._users.get(key):
                old.close()
            self._trim()

    def forget(self, job_id: str) -> None:
        """Close the job's documents (it ended)."""
        with self._lock:
            for key in [k for k in self._docs if k[0] == job_id]:
                if not self._users.get(key):
                    self._drop(key)

    def close(self) -> None:
        with self._lock:
            for doc in self._docs.values():
                doc.close()
            self._docs.clear()

    def _trim(self) -> None:
        for key in list(self._docs):
            if len(self._docs) <= self.size:
                break
            if not self._users.get(key):
                self._drop(key)


class JobWork:
    """Open jobs and read their pages (see the module doc); ``name``: who reads (kept with each page)."""

    def __init__(self, store: JobStore, pages: Pages, catalog: Catalog, name: str | None = None):
        self.store = store
        self.pages = pages
        self.catalog = catalog
        self.name = name or worker_name()
        self.docs = DocCache()

    def request(self, job: JobRecord) -> OcrRequest:
        if job.model == routing.AUTO:  # model=auto: its pages routed as they are read (as /ocr's are)
            return auto_request(self.catalog, job.language, job.pages, job.force_ocr)
        return OcrRequest(self.catalog.handle(job.model), languages.parse(job.language), job.pages, job.force_ocr)

    def failing_job(self, job: JobRecord) -> OcrRequest | None:
        """The job's request; None when it cannot be made (its model left the configuration): the job failed."""
        try:
            return self.request(job)
        except ChatVLMError as exc:
            self.store.fail(job.id, redact_paths(str(exc)))
            return None

    def open_job(self, job_id: str) -> list[tuple[int, int]] | None:
        """Open the job's files and list its pages; the pages to read (None: opened before, cancelled or gone). A file
        that cannot be opened fails alone (its error is the file's)."""
        job, began = self.store.job(job_id), time.time()
        if job is None or job.state != "queued":
            return None
        request = self.failing_job(job)
        if request is None:
            return None
        names = self.store.file_names(job_id)
        found: list[Opened] = []
        docs: dict[int, Document] = {}
        try:
            with text_budget(self.pages.limits.max_text_lines, lazy=True):  # (what an opening holds of text layers)
                for idx, name in enumerate(names):
                    data = self.store.file_data(job_id, idx)
                    if data is None:
                        return None  # cancelled meanwhile
                    t0, error, doc = time.perf_counter(), None, None
                    try:
                        doc = self.pages.open(data, request.model, name, request.pages, request.force_ocr, one_of_many=True)
                    except ChatVLMError as exc:
                        error = redact_paths(str(exc))
                    seconds = time.perf_counter() - t0
                    if doc is None:
                        found.append(Opened(name, False, [], seconds, error, []))
                        continue
                    docs[idx] = doc
                    at_once = [(idx, p) for p in doc.pages if not p.needs_ocr and p.lines_later is None]  # (the others: units)
                    now = text_layer_reads(at_once, structure_wanted(request.model))
                    for _, page in at_once:  # (read: a doc kept for its other pages holds their lines no more)
                        page.lines = []
                    found.append(Opened(name, doc.multipage, [p.number for p in doc.pages], seconds, None, now))
            todo = None if self.short_of_disk(job_id) else self.store.opened(job_id, found, began, self.quota)
        except BaseException:
            for doc in docs.values():
                doc.close()
            raise
        for idx, doc in docs.items():
            if todo and len(doc.pages) > 1 and any(i == idx for i, _ in todo):
                self.docs.put((job_id, idx), doc)  # its pages are read next, most likely here
            else:
                doc.close()
        return todo

    def short_of_disk(self, job_id: str) -> bool:
        """Whether the jobs' database (SQLite: a file here) would keep less than ``limits.min_free_disk_mb`` free: the
        job then fails, saying so, its pages read so far kept (a key's dense pages took ~1.5 MB each, 3 GB for the
        2,000 pages it may have in flight, and nothing stopped the database from filling the disk: an attack pass)."""
        folder = self.store.folder
        if folder is None or shutil.disk_usage(folder).free >= self.pages.limits.min_free_disk_mb * 1024 * 1024:
            return False
        log.warning("job %s failed: the jobs' database would keep less than limits.min_free_disk_mb free", job_id)
        self.store.fail(job_id, SHORT_OF_DISK_FOR_RESULTS)
        self.docs.forget(job_id)
        return True

    @property
    def quota(self) -> Quota:
        """What a key's jobs may keep (``limits.max_result_mb_per_key``), checked where each page is written."""
        mb = self.pages.limits.max_result_mb_per_key
        return Quota(mb * 1024 * 1024, OVER_RESULTS_QUOTA.format(mb=mb))

    def read_page(self, job_id: str, idx: int, number: int, token: CancelToken) -> JobRecord | None:
        """Read one page and write it; the job after the write (None: the page was read before, or the job was
        cancelled or is gone — nothing to do). :class:`~inference.errors.Overloaded` when the model's queue is full
        (try again later); :class:`~inference.errors.Cancelled` when ``token`` was cancelled."""
        if not self.store.is_pending(job_id, idx, number):
            return None
        job = self.store.job(job_id)
        request = self.failing_job(job) if job is not None else None
        if request is None:
            return None

        def open_page() -> Document:  # the file opened for this page alone (its others may be read elsewhere)
            data, known = self.store.file_data(job_id, idx), dict(self.store.files(job_id))
            if data is None or idx not in known:  # (deleted meanwhile: its rows went between the two looks)
                raise Cancelled("The job ended.")
            name = known[idx].name
            with text_budget(0, lazy=True):  # (a text-layer page's lines loaded as it is read, then let go)
                return self.pages.open(data, request.model, name, str(number), request.force_ocr, one_of_many=True)

        try:
            with self.docs.use((job_id, idx)) as kept:
                doc = kept or open_page()
                try:
                    timeout = self.pages.limits.request_timeout_s
                    reads = self.pages.read(
                        request, [doc], lambda: Deadline(timeout), token, skip=lambda d, p: p != number, background=True
                    )
                finally:
                    if kept is None:
                        doc.close()
        except Overloaded:
            raise
        except Cancelled:
            if token.cancelled:
                raise
            return None  # the job ended while its file was fetched
        except (ModelUnavailable, UnknownModel) as exc:  # no page of it can be read here: the job says why
            self.store.fail(job_id, redact_paths(str(exc)))
            self.docs.forget(job_id)
            return None
        except ChatVLMError as exc:  # the document cannot be opened again (it could at first): the page says why
            reads = [PageRead(idx, number, (0, 0), "ocr", error=exc)]
        if token.cancelled:
            raise Cancelled("The job was cancelled.")
        if not reads:  # the page is not in the document as opened now (cannot happen with the same file)
            reads = [PageRead(idx, number, (0, 0), "ocr", error=ChatVLMError(f"Page {number} was not found."))]
        read = reads[0]
        if isinstance(read.error, (Cancelled, Overloaded)):  # (Overloaded: its model made way for another; read later)
            raise read.error
        if isinstance(read.error, (ModelUnavailable, UnknownModel)) and not isinstance(read.error, Overloaded):
            self.store.fail(job_id, redact_paths(str(read.error)))
            self.docs.forget(job_id)
            return None
        read.doc = idx
        if self.short_of_disk(job_id):
            return None
        after = self.store.save_read(job_id, read, self.name, self.quota)
        if after is not None and after.state != "running":
            self.docs.forget(job_id)
        return after
