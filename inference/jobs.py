"""Jobs: long OCR work (many files, long PDFs) that a client submits, polls and fetches later.

A job's files, state and every page read are kept in an SQLite database (WAL: a committed page survives a
SIGKILL) under ``server.data_dir``, so a restarted server picks its unfinished jobs up where they were, page
by page, and no finished result is lost. One worker thread runs the jobs in the order they came, each page
through the model's runner like any request (so jobs share the models fairly with interactive requests);
results expire ``server.job_results_ttl_s`` after the job ended.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from . import images, languages
from .cancel import CancelToken, Deadline
from .documents import check_pages
from .errors import BadInput, Cancelled, ChatVLMError, NotFound, NotReady, Overloaded, redact_paths
from .reading import FileInfo, PageRead
from .results import BatchResult
from .values import OcrLine

if TYPE_CHECKING:
    from .service import InferenceService

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ENDED = (DONE, FAILED, CANCELLED)
JobState = Literal["queued", "running", "done", "failed", "cancelled"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, owner TEXT, state TEXT NOT NULL, model TEXT NOT NULL, language TEXT, pages TEXT,
    force_ocr INTEGER NOT NULL, files INTEGER NOT NULL, pages_total INTEGER, pages_done INTEGER NOT NULL DEFAULT 0,
    error TEXT, created REAL NOT NULL, started REAL, ended REAL, seconds REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS files (
    job TEXT NOT NULL, idx INTEGER NOT NULL, name TEXT NOT NULL, multipage INTEGER, pages TEXT, open_s REAL,
    error TEXT, PRIMARY KEY (job, idx));
CREATE TABLE IF NOT EXISTS reads (
    job TEXT NOT NULL, idx INTEGER NOT NULL, page INTEGER NOT NULL, read TEXT NOT NULL, PRIMARY KEY (job, idx, page));
"""


class JobStatus(BaseModel):
    id: str
    state: JobState = Field(description="queued, running, done, failed or cancelled")
    model: str
    files: int = Field(description="files in the job")
    pages_done: int = Field(description="pages read so far (a file that cannot be opened counts as one)")
    pages_total: int | None = Field(None, description="pages to read; known once the job has started")
    error: str | None = Field(None, description="why the job failed (a file or page that fails does not fail it)")
    created_at: float = Field(description="Unix time the job was submitted")
    started_at: float | None = None
    ended_at: float | None = None
    expires_at: float | None = Field(None, description="Unix time the result will be deleted")
    result_url: str | None = Field(None, description="where the result is, once done")


class JobStore:
    """The jobs database and the jobs' files (``data_dir/jobs.sqlite3``, ``data_dir/jobs/<id>/``)."""

    def __init__(self, data_dir: Path):
        self.root = data_dir
        self.files_dir = data_dir / "jobs"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "jobs.sqlite3"
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # autocommit; BEGIN where needed
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def execute(self, sql: str, args: Sequence = ()) -> list[sqlite3.Row]:
        with self._lock, closing(self._connect()) as db:
            return db.execute(sql, args).fetchall()

    def add(self, job_id: str, owner: str | None, model: str, language: str | None, pages: str | None,
            force_ocr: bool, files: Sequence[tuple[str, bytes]]) -> None:
        folder = self.files_dir / job_id
        folder.mkdir(parents=True)
        for i, (_, data) in enumerate(files):
            (folder / str(i)).write_bytes(data)
        with self._lock, closing(self._connect()) as db:
            db.execute("BEGIN")
            db.executemany("INSERT INTO files (job, idx, name) VALUES (?, ?, ?)",
                           [(job_id, i, name) for i, (name, _) in enumerate(files)])
            db.execute("INSERT INTO jobs (id, owner, state, model, language, pages, force_ocr, files, created) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (job_id, owner, QUEUED, model, language, pages, int(force_ocr), len(files), time.time()))
            db.execute("COMMIT")

    def job(self, job_id: str) -> sqlite3.Row | None:
        rows = self.execute("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return rows[0] if rows else None

    def claim_next(self) -> sqlite3.Row | None:
        """The oldest queued job, now marked running (atomically: one worker gets it)."""
        with self._lock, closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT * FROM jobs WHERE state = ? ORDER BY created LIMIT 1", (QUEUED,)).fetchone()
            if row is not None:
                db.execute("UPDATE jobs SET state = ?, started = COALESCE(started, ?) WHERE id = ?",
                           (RUNNING, time.time(), row["id"]))
            db.execute("COMMIT")
            return row

    def set(self, job_id: str, **fields: object) -> None:
        names = ", ".join(f"{name} = ?" for name in fields)
        self.execute(f"UPDATE jobs SET {names} WHERE id = ?", (*fields.values(), job_id))

    def move(self, job_id: str, from_states: Sequence[str], **fields: object) -> bool:
        """Update the job only while it is in one of ``from_states`` (a cancel and an ending never overwrite
        each other); whether it was."""
        names = ", ".join(f"{name} = ?" for name in fields)
        marks = ", ".join("?" for _ in from_states)
        with self._lock, closing(self._connect()) as db:
            cursor = db.execute(f"UPDATE jobs SET {names} WHERE id = ? AND state IN ({marks})",
                                (*fields.values(), job_id, *from_states))
            return cursor.rowcount > 0

    def file_data(self, job_id: str, idx: int) -> bytes:
        return (self.files_dir / job_id / str(idx)).read_bytes()

    def drop_files(self, job_id: str) -> None:
        shutil.rmtree(self.files_dir / job_id, ignore_errors=True)

    def file_rows(self, job_id: str) -> list[sqlite3.Row]:
        return self.execute("SELECT * FROM files WHERE job = ? ORDER BY idx", (job_id,))

    def set_file(self, job_id: str, idx: int, multipage: bool, pages: list[int], open_s: float,
                 error: str | None) -> None:
        self.execute("UPDATE files SET multipage = ?, pages = ?, open_s = ?, error = ? WHERE job = ? AND idx = ?",
                     (int(multipage), json.dumps(pages), open_s, error, job_id, idx))

    def save_read(self, job_id: str, read: PageRead) -> None:
        """One page read, and the job's count, in one transaction (what a restart resumes from)."""
        record = {"size": list(read.size), "source": read.source, "seconds": read.seconds, "text": read.text,
                  "lines": [line.model_dump() for line in read.lines], "warnings": read.warnings,
                  "error": read.message}
        with self._lock, closing(self._connect()) as db:
            db.execute("BEGIN")
            db.execute("INSERT OR REPLACE INTO reads (job, idx, page, read) VALUES (?, ?, ?, ?)",
                       (job_id, read.doc, read.page, json.dumps(record)))
            db.execute("UPDATE jobs SET pages_done = (SELECT COUNT(*) FROM reads WHERE job = ?) + "
                       "(SELECT COUNT(*) FROM files WHERE job = ? AND error IS NOT NULL) WHERE id = ?",
                       (job_id, job_id, job_id))
            db.execute("COMMIT")

    def reads(self, job_id: str) -> list[PageRead]:
        out = []
        for row in self.execute("SELECT idx, page, read FROM reads WHERE job = ?", (job_id,)):
            r = json.loads(row["read"])
            out.append(PageRead(row["idx"], row["page"], tuple(r["size"]), r["source"], r["seconds"], r["text"],
                                [OcrLine(**line) for line in r["lines"]], r["warnings"],
                                error=ChatVLMError(r["error"]) if r["error"] else None))
        return out

    def delete(self, job_id: str) -> None:
        with self._lock, closing(self._connect()) as db:
            db.execute("BEGIN")
            for table, column in (("reads", "job"), ("files", "job"), ("jobs", "id")):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (job_id,))
            db.execute("COMMIT")
        self.drop_files(job_id)


class Jobs:
    """Submit, look at, cancel and run jobs (one worker thread; started by :meth:`start`)."""

    def __init__(self, service: InferenceService, data_dir: Path, ttl_s: float):
        self.service = service
        self.store = JobStore(data_dir)
        self.ttl_s = ttl_s
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._current: tuple[str, CancelToken] | None = None
        self._thread: threading.Thread | None = None
        resumed = self.store.execute("SELECT id FROM jobs WHERE state = ?", (RUNNING,))
        for row in resumed:  # the server stopped while these ran: they go on where they were
            self.store.set(row["id"], state=QUEUED)
        if resumed:
            log.info("resuming %d unfinished job(s): %s", len(resumed), ", ".join(r["id"] for r in resumed))

    # ---- the client's side ----------------------------------------------------------------------------
    def submit(self, files: Sequence[tuple[str, images.ImageSource]], model: str | None, language: str | None,
               pages: str | None, force_ocr: bool, owner: str | None = None, caller: str | None = None) -> JobStatus:
        """Check the request as /batch/ocr does (cheap checks, each file's size), keep its files, queue it (one
        request on ``caller``'s rate-limit budget, as a batch)."""
        self.service.charge(caller)
        model_id, _ = self.service.check_batch(files, model, language)
        limits = self.service.limits
        check_pages(pages)  # the syntax, now; each file's page count when it is read
        waiting = self.store.execute("SELECT COUNT(*) AS n FROM jobs WHERE state IN (?, ?)", (QUEUED, RUNNING))[0]["n"]
        if waiting >= limits.max_unfinished_jobs:
            raise Overloaded(f"The server has {waiting} jobs waiting, its limit; try again later.", retry_after=30)
        kept = []
        for name, source in files:
            data = images.read_bytes(source, limits, name)  # type: ignore[arg-type]
            if not data:
                raise BadInput(f"'{images.shown(name)}' is empty (0 bytes).")
            kept.append((images.shown(name), data))
        job_id = uuid.uuid4().hex
        self.store.add(job_id, owner, model_id, language, pages, force_ocr, kept)
        self._wake.set()
        return self.status(job_id, owner)

    def _row(self, job_id: str, owner: str | None):
        row = self.store.job(job_id) if len(job_id) <= 64 else None
        if row is None or (owner is not None and row["owner"] not in (None, owner)):
            raise NotFound(f"No job '{job_id[:64]}': it never existed, it expired, or it is another key's.")
        return row

    def status(self, job_id: str, owner: str | None = None) -> JobStatus:
        self.expire()
        row = self._row(job_id, owner)
        return JobStatus(id=row["id"], state=row["state"], model=row["model"], files=row["files"],
                         pages_done=row["pages_done"], pages_total=row["pages_total"], error=row["error"],
                         created_at=row["created"], started_at=row["started"], ended_at=row["ended"],
                         expires_at=row["ended"] + self.ttl_s if row["ended"] else None,
                         result_url=f"/jobs/{row['id']}/result" if row["state"] == DONE else None)

    def result(self, job_id: str, owner: str | None = None) -> BatchResult:
        status = self.status(job_id, owner)
        if status.state != DONE:
            detail = f" ({status.error})" if status.error else ""
            raise NotReady(f"Job {job_id} is {status.state}{detail}; its result is there once it is done "
                           f"({status.pages_done} of {status.pages_total or '?'} pages read so far).")
        infos = [FileInfo(row["name"], bool(row["multipage"]), json.loads(row["pages"] or "[]"), row["open_s"] or 0.0,
                          row["error"]) for row in self.store.file_rows(job_id)]
        row = self.store.job(job_id)
        return self.service.batch_result(infos, self.store.reads(job_id), status.model, row["seconds"])

    def cancel(self, job_id: str, owner: str | None = None) -> JobStatus:
        """Cancel the job if it has not ended, then delete it, its files and its result; returns its last state
        (``cancelled``, or how it ended). A deleted job is gone: GET answers 404."""
        self._row(job_id, owner)
        if self.store.move(job_id, (QUEUED, RUNNING), state=CANCELLED, ended=time.time()):
            current = self._current
            if current is not None and current[0] == job_id:
                current[1].cancel()
        last = self.status(job_id, owner)
        self.store.delete(job_id)
        return last

    def expire(self) -> None:
        for row in self.store.execute("SELECT id FROM jobs WHERE ended IS NOT NULL AND ended < ?",
                                      (time.time() - self.ttl_s,)):
            self.store.delete(row["id"])
        # a page saved while its job was being deleted
        self.store.execute("DELETE FROM reads WHERE job NOT IN (SELECT id FROM jobs)")

    # ---- the worker -----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="jobs", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        current = self._current
        if current is not None:
            current[1].cancel()  # the job stays 'running' in the database: the next start resumes it
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            row = self.store.claim_next()
            if row is None:
                self._wake.wait(timeout=5.0)
                self._wake.clear()
                self.expire()
                continue
            try:
                self._run(row)
            except Exception:  # the worker never dies: the job says what happened
                if self._gone(row["id"]):  # its rows and files went with a cancel while it ran: nothing failed
                    log.info("job %s was cancelled while it ran", row["id"])
                    self.store.drop_files(row["id"])
                    continue
                log.exception("job %s failed", row["id"])
                self.store.move(row["id"], (RUNNING,), state=FAILED, error="Unexpected error while running the job.",
                                ended=time.time())
                self.store.drop_files(row["id"])

    def _gone(self, job_id: str) -> bool:
        """Whether the job was cancelled (and so deleted, its files with it) while the worker held it."""
        row = self.store.job(job_id)
        return row is None or row["state"] == CANCELLED

    def _file(self, job_id: str, idx: int) -> bytes:
        """A job's file; a file deleted by a cancel racing the worker is a cancel, not an error."""
        try:
            return self.store.file_data(job_id, idx)
        except FileNotFoundError:
            if self._gone(job_id):
                raise Cancelled("The job was cancelled.") from None
            raise

    def _run(self, row) -> None:
        job_id, service = row["id"], self.service
        token = CancelToken()
        self._current = (job_id, token)
        started = time.perf_counter()
        docs: list = []
        try:
            model_id, hint = row["model"], languages.parse(row["language"])
            rows = self.store.file_rows(job_id)
            for f in rows:
                data = self._file(job_id, f["idx"])  # outside the per-file errors: a cancel ends the job
                t0 = time.perf_counter()
                try:
                    doc = service.open_document(data, model_id, f["name"],
                                                row["pages"], bool(row["force_ocr"]))
                    docs.append(doc)
                    self.store.set_file(job_id, f["idx"], doc.multipage, [p.number for p in doc.pages],
                                        time.perf_counter() - t0, None)
                except ChatVLMError as exc:
                    docs.append(None)
                    self.store.set_file(job_id, f["idx"], False, [], time.perf_counter() - t0, redact_paths(str(exc)))
            total = sum(len(d.pages) if d is not None else 1 for d in docs)
            self.store.set(job_id, pages_total=total)
            present = [i for i, d in enumerate(docs) if d is not None]
            done: set[tuple[int, int]] = set()

            def refresh() -> None:  # the pages read before (an earlier run, or before the queue was full)
                done.update((r["idx"], r["page"]) for r in
                            self.store.execute("SELECT idx, page FROM reads WHERE job = ?", (job_id,)))

            refresh()

            def saved(read: PageRead) -> None:
                if isinstance(read.error, Cancelled) or token.cancelled:
                    return  # not a result: read again when the job goes on (after a restart)
                read.doc = present[read.doc]
                self.store.save_read(job_id, read)
                now = self.store.job(job_id)
                if now is None or now["state"] != RUNNING:  # cancelled (by this process or another), or deleted
                    token.cancel()

            timeout = service.limits.request_timeout_s
            while True:
                try:
                    service.read_documents(model_id, [docs[i] for i in present], hint, lambda: Deadline(timeout),
                                           token, saved, skip=lambda d, page: (present[d], page) in done)
                    break
                except Overloaded as exc:  # interactive requests fill the queue: wait, then go on where we were
                    if token.cancelled:
                        raise Cancelled("The job was cancelled.") from None
                    time.sleep(exc.retry_after)
                    refresh()
            if token.cancelled:
                raise Cancelled("The job was cancelled.")
            self.store.move(job_id, (RUNNING,), state=DONE, ended=time.time(),
                            seconds=(row["seconds"] or 0) + time.perf_counter() - started)  # never over a cancel
            self.store.drop_files(job_id)
        except Cancelled:
            if self._stopping.is_set():
                self.store.move(job_id, (RUNNING,), state=QUEUED)  # shutting down: resumed at the next start
            else:  # cancelled (and deleted) by its client
                self.store.drop_files(job_id)
        except (BadInput, ChatVLMError) as exc:
            self.store.move(job_id, (RUNNING,), state=FAILED, error=redact_paths(str(exc)), ended=time.time())
            self.store.drop_files(job_id)
        finally:
            self._current = None
            for doc in docs:
                if doc is not None:
                    doc.close()
