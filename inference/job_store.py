"""The jobs' store: every line of SQL the jobs need (SQLAlchemy Core), over SQLite or PostgreSQL.

One process keeps it in ``server.data_dir/jobs.db`` (WAL: a committed page survives a SIGKILL); the distributed
mode in PostgreSQL (``jobs.database_url``), where every API replica and worker sees the same jobs. A job's files are
kept in it too (no shared filesystem needed) until the job ends. A job is ``queued`` until it is opened (its files
opened, a row per page to read), ``running`` until its last page is written, then ``done``. Each write is idempotent:
opening twice opens once, a page written twice counts once. Callers get plain values (:class:`JobRecord`,
:class:`FileInfo`, :class:`PageRead`), never rows or SQL.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, and_, create_engine, delete, event, func, insert, select, update

from .job_store_keys import KeyStore
from .job_store_quota import Load, Quota, QuotaStore
from .job_store_results import ResultStore
from .job_store_window import WindowStore
from .job_tables import (
    CANCELLED,
    DONE,
    ENDED,
    FAILED,
    PAGE_BYTES,
    QUEUED,
    RUNNING,
    JobRecord,
    Opened,
    add_missing_columns,
    callback_due_at,
    dump_read,
    failed_in,
    files,
    jobs,
    kept_bytes,
    metadata,
    pages,
)
from .page_results import FileInfo, PageRead

__all__ = ["CANCELLED", "DONE", "ENDED", "FAILED", "QUEUED", "RUNNING", "JobRecord", "JobStore", "Opened", "database_url"]

SQLITE_FILE = "jobs.db"  # (jobs.sqlite3 was the first layout's: not read by this one)
SCHEMA_LOCK = 0x63766C6D  # PostgreSQL advisory lock held while a process creates the tables ("cvlm")


def database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / SQLITE_FILE}"


class JobStore(KeyStore, QuotaStore, ResultStore, WindowStore):
    """The jobs database (an SQLAlchemy URL: ``sqlite:///...`` or ``postgresql+psycopg://...``); the Idempotency-Keys'
    SQL is :class:`~inference.job_store_keys.KeyStore`'s."""

    def __init__(self, url: str):
        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8, pool_recycle=600)
        self._writes = threading.Lock()  # SQLite: one writer at a time (PostgreSQL locks the job's row instead)
        with self.engine.begin() as db:  # replicas and workers that start together create the tables once
            if not self.sqlite:
                db.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
            metadata.create_all(db)
            add_missing_columns(db)

    @property
    def folder(self) -> str | None:
        """The folder of the database's file (SQLite); None for a database server."""
        name = self.engine.url.database if self.sqlite else None
        return os.path.dirname(os.path.abspath(name)) if name and name != ":memory:" else None

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        if self.sqlite:
            with self._writes, self.engine.begin() as db:
                yield db
        else:
            with self.engine.begin() as db:
                yield db

    def _lock_job(self, db: Connection, job_id: str) -> JobRecord | None:
        """The job, its row locked until the transaction ends (page writes of one job one after another)."""
        row = db.execute(select(jobs).where(jobs.c.id == job_id).with_for_update()).mappings().first()
        return JobRecord(**row) if row else None

    def ping(self) -> None:
        with self.engine.connect() as db:
            db.execute(select(1))

    # ---- jobs ---------------------------------------------------------------------------------------
    def add(
        self,
        job_id: str,
        owner: str | None,
        model: str,
        language: str | None,
        pages_spec: str | None,
        force_ocr: bool,
        uploads: Sequence[tuple[str, bytes]],
        priority: int = 1,
        payer: str | None = None,
        pages_estimate: int = 0,
        callback_url: str | None = None,
        check: Callable[[Load], None] | None = None,
    ) -> None:
        """A new job and its files; ``check(load)`` before its row, in the same transaction (the other jobs being added
        wait for it): it raises to refuse the job (a quota, the server's places). Its files go in first, before the
        check's lock (32 files of 20 MB took 2.5 s to write, every other key's job waiting on PostgreSQL: a review);
        counted with their job's row, they count from then on."""
        now = time.time()
        with self._write() as db:
            db.execute(
                insert(files), [{"job": job_id, "idx": i, "name": name, "data": data} for i, (name, data) in enumerate(uploads)]
            )
            if check is not None:
                check(self.load_in(db, payer, lock=True))
            db.execute(
                insert(jobs).values(
                    id=job_id,
                    owner=owner,
                    state=QUEUED,
                    model=model,
                    language=language,
                    pages=pages_spec,
                    force_ocr=force_ocr,
                    files=len(uploads),
                    pages_done=0,
                    created=now,
                    touched=now,
                    priority=priority,
                    payer=payer,
                    pages_estimate=pages_estimate,
                    callback_url=callback_url,
                    callback_attempts=0,
                    result_bytes=kept_bytes([name for name, _ in uploads]),
                )
            )

    def job(self, job_id: str) -> JobRecord | None:
        with self.engine.connect() as db:
            row = db.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return JobRecord(**row) if row else None

    def jobs(self, owner: str | None = None, states: Sequence[str] | None = None) -> list[JobRecord]:
        """Every job (``owner``'s alone, when given; in ``states``, when given), oldest first."""
        query = select(jobs).order_by(jobs.c.created)
        if owner is not None:
            query = query.where(jobs.c.owner == owner)
        if states is not None:
            query = query.where(jobs.c.state.in_(states))
        with self.engine.connect() as db:
            return [JobRecord(**row) for row in db.execute(query).mappings()]

    def page_of_jobs(self, owner: str | None, state: str | None, limit: int, after: tuple[float, str] | None) -> list[JobRecord]:
        """Up to ``limit`` jobs ``owner`` may see (None: every job), newest first, in ``state`` when given, those
        older than ``after`` (a (created, id) cursor) when given."""
        query = select(jobs).order_by(jobs.c.created.desc(), jobs.c.id.desc()).limit(limit)
        if owner is not None:
            query = query.where(jobs.c.owner == owner)
        if state is not None:
            query = query.where(jobs.c.state == state)
        if after is not None:
            created, job_id = after
            query = query.where((jobs.c.created < created) | ((jobs.c.created == created) & (jobs.c.id < job_id)))
        with self.engine.connect() as db:
            return [JobRecord(**row) for row in db.execute(query).mappings()]

    def fail(self, job_id: str, error: str) -> bool:
        """The job failed (unless it already ended); its files are dropped. Whether it was this call that ended it."""
        with self._write() as db:
            return failed_in(db, job_id, error)

    def cancel(self, job_id: str) -> bool:
        """Mark the job cancelled if it has not ended (workers drop its pages); whether it was."""
        now = time.time()
        with self._write() as db:
            return bool(
                db.execute(
                    update(jobs)
                    .where(jobs.c.id == job_id, jobs.c.state.in_((QUEUED, RUNNING)))
                    .values(state=CANCELLED, ended=now, touched=now)
                ).rowcount
            )

    def delete(self, job_id: str) -> None:
        with self._write() as db:
            for table in (pages, files, jobs):
                column = table.c.id if table is jobs else table.c.job
                db.execute(delete(table).where(column == job_id))

    def expire(self, ended_before: float) -> None:
        """Delete the jobs that ended before ``ended_before`` (Unix time)."""
        with self.engine.connect() as db:
            ids = list(db.execute(select(jobs.c.id).where(jobs.c.ended.is_not(None), jobs.c.ended < ended_before)).scalars())
        for job_id in ids:
            self.delete(job_id)

    def stalled(self, before: float) -> list[JobRecord]:
        """Unfinished jobs that have not moved since ``before`` (their work may have been lost)."""
        with self.engine.connect() as db:
            rows = db.execute(select(jobs).where(jobs.c.state.in_((QUEUED, RUNNING)), jobs.c.touched < before)).mappings()
            return [JobRecord(**row) for row in rows]

    def touch(self, job_id: str) -> None:
        with self._write() as db:
            db.execute(update(jobs).where(jobs.c.id == job_id).values(touched=time.time()))

    # ---- files ---------------------------------------------------------------------------------------
    def file_names(self, job_id: str) -> list[str]:
        with self.engine.connect() as db:
            return list(db.execute(select(files.c.name).where(files.c.job == job_id).order_by(files.c.idx)).scalars())

    def file_data(self, job_id: str, idx: int) -> bytes | None:
        """A file of an unfinished job (None once the job ended or is gone)."""
        with self.engine.connect() as db:
            return db.execute(select(files.c.data).where(files.c.job == job_id, files.c.idx == idx)).scalar_one_or_none()

    def files(self, job_id: str) -> list[tuple[int, FileInfo]]:
        """The job's files in order: (index, what is known of it: pages chosen, opening time, error)."""
        query = select(files.c.idx, files.c.name, files.c.multipage, files.c.pages, files.c.open_s, files.c.error)
        with self.engine.connect() as db:
            rows = db.execute(query.where(files.c.job == job_id).order_by(files.c.idx)).mappings().all()
        return [
            (
                row["idx"],
                FileInfo(
                    row["name"], bool(row["multipage"]), json.loads(row["pages"] or "[]"), row["open_s"] or 0.0, row["error"]
                ),
            )
            for row in rows
        ]

    # ---- opening -------------------------------------------------------------------------------------
    def opened(
        self, job_id: str, opened: Sequence[Opened], began: float | None = None, quota: Quota | None = None
    ) -> list[tuple[int, int]] | None:
        """The job's files as opened (from ``began``: its start, when given, else now): its pages listed (those
        ``read_now`` written), the job running (or done, when nothing is left to read). Once only: None when the job was
        opened before, or cancelled (or failed at its ``quota``); else the pages to read as (file index, page number)."""
        now = time.time()
        with self._write() as db:
            job = self._lock_job(db, job_id)
            if job is None or job.state != QUEUED or self.over_quota(db, job, quota):
                return None
            todo, rows, stored = [], [], 0
            seq = sum(1 for found in opened if found.error is not None)  # a file that failed counts as one page read
            for idx, found in enumerate(opened):
                db.execute(
                    update(files)
                    .where(files.c.job == job_id, files.c.idx == idx)
                    .values(multipage=found.multipage, pages=json.dumps(found.numbers), open_s=found.open_s, error=found.error)
                )
                read_now = {read.page: read for read in found.read_now}
                for number in found.numbers:
                    read = read_now.get(number)
                    seq += read is not None  # the text layer's pages: events 1..k (after the failed files)
                    dumped = dump_read(read) if read else None
                    stored += len(dumped or "")
                    rows.append(
                        {"job": job_id, "idx": idx, "page": number, "read": dumped, "worker": None, "seq": seq if read else None}
                    )
                    if read is None:
                        todo.append((idx, number))
            if rows:
                db.execute(insert(pages), rows)
            total = sum(len(found.numbers) if found.error is None else 1 for found in opened)
            done = total - len(todo)
            values: dict = {"state": RUNNING, "pages_total": total, "pages_done": done, "started": began or now, "touched": now}
            errors = sum(len((found.error or "").encode()) for found in opened)
            values["result_bytes"] = func.coalesce(jobs.c.result_bytes, 0) + stored + PAGE_BYTES * len(rows) + errors
            if not todo:
                values.update(state=DONE, ended=now, callback_due=callback_due_at(now))
                db.execute(update(files).where(files.c.job == job_id).values(data=None))
            db.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
            return todo

    # ---- page reads ----------------------------------------------------------------------------------
    def pending(self, job_id: str) -> list[tuple[int, int]]:
        """(file index, page number) of each page of a running job not read yet."""
        query = select(pages.c.idx, pages.c.page).where(pages.c.job == job_id, pages.c.read.is_(None))
        with self.engine.connect() as db:
            return [(row.idx, row.page) for row in db.execute(query.order_by(pages.c.idx, pages.c.page))]

    def is_pending(self, job_id: str, idx: int, page: int) -> bool:
        """Whether the page is still to be read (its job running, the page not written)."""
        query = (
            select(pages.c.read)
            .join(jobs, jobs.c.id == pages.c.job)
            .where(
                pages.c.job == job_id, pages.c.idx == idx, pages.c.page == page, pages.c.read.is_(None), jobs.c.state == RUNNING
            )
        )
        with self.engine.connect() as db:
            return db.execute(query).first() is not None

    def save_read(self, job_id: str, read: PageRead, worker: str, quota: Quota | None = None) -> JobRecord | None:
        """One page read (``read.doc`` its file's index), written once: a second write of it changes nothing. The job's
        count moves with it, and the job is done when this was its last page. The job as it is now when this write
        counted, else None (written before, or the job was cancelled, is gone, or failed at its ``quota``)."""
        now = time.time()
        with self._write() as db:
            job = self._lock_job(db, job_id)
            if job is None or job.state != RUNNING or self.over_quota(db, job, quota):
                return None
            where = and_(pages.c.job == job_id, pages.c.idx == read.doc, pages.c.page == read.page, pages.c.read.is_(None))
            seq = job.pages_done + 1  # its event id: the job's pages_done after this write (writes of a job take turns)
            dumped = dump_read(read)
            if not db.execute(update(pages).where(where).values(read=dumped, worker=worker, seq=seq)).rowcount:
                return None
            left = db.execute(
                select(func.count()).select_from(pages).where(pages.c.job == job_id, pages.c.read.is_(None))
            ).scalar_one()
            values: dict = {"pages_done": (job.pages_total or 0) - left, "touched": now}
            values["result_bytes"] = func.coalesce(jobs.c.result_bytes, 0) + len(dumped)
            if left == 0:
                values.update(state=DONE, ended=now, callback_due=callback_due_at(now))
                db.execute(update(files).where(files.c.job == job_id).values(data=None))
            db.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
            row = db.execute(select(jobs).where(jobs.c.id == job_id)).mappings().one()
            return JobRecord(**row)


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
