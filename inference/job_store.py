"""The jobs' store: every line of SQL the jobs need, in an embedded SQLite database, and the jobs' files.

A job's files, state and every page read are kept under ``server.data_dir`` (``jobs.sqlite3`` in WAL mode: a
committed page survives a SIGKILL; ``jobs/<id>/<n>`` for the files), so a restarted server picks its unfinished
jobs up where they were, page by page. Callers get plain values (:class:`JobRecord`, :class:`FileInfo`,
:class:`PageRead`), never rows or SQL.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from .errors import ChatVLMError
from .page_results import FileInfo, PageRead
from .values import OcrLine

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ENDED = (DONE, FAILED, CANCELLED)

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
FIELDS = ("state", "pages_total", "error", "started", "ended", "seconds")  # what set() and move() may change


@dataclass(frozen=True)
class JobRecord:
    """One job as stored."""

    id: str
    owner: str | None
    state: str
    model: str
    language: str | None
    pages: str | None
    force_ocr: bool
    files: int
    pages_total: int | None
    pages_done: int
    error: str | None
    created: float
    started: float | None
    ended: float | None
    seconds: float

    @staticmethod
    def of(row: sqlite3.Row) -> JobRecord:
        return JobRecord(**{**dict(row), "force_ocr": bool(row["force_ocr"])})


class JobStore:
    """The jobs database and the jobs' files (``data_dir/jobs.sqlite3``, ``data_dir/jobs/<id>/``)."""

    def __init__(self, data_dir: Path):
        self.root = data_dir
        self.files_dir = data_dir / "jobs"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "jobs.sqlite3"
        self._lock = threading.Lock()
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # autocommit; BEGIN where needed
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _execute(self, sql: str, args: Sequence = ()) -> list[sqlite3.Row]:
        with self._lock, closing(self._connect()) as db:
            return db.execute(sql, args).fetchall()

    # ---- jobs ---------------------------------------------------------------------------------------
    def add(
        self,
        job_id: str,
        owner: str | None,
        model: str,
        language: str | None,
        pages: str | None,
        force_ocr: bool,
        files: Sequence[tuple[str, bytes]],
    ) -> None:
        folder = self.files_dir / job_id
        folder.mkdir(parents=True)
        for i, (_, data) in enumerate(files):
            (folder / str(i)).write_bytes(data)
        with self._lock, closing(self._connect()) as db:
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO files (job, idx, name) VALUES (?, ?, ?)", [(job_id, i, name) for i, (name, _) in enumerate(files)]
            )
            db.execute(
                "INSERT INTO jobs (id, owner, state, model, language, pages, force_ocr, files, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, owner, QUEUED, model, language, pages, int(force_ocr), len(files), time.time()),
            )
            db.execute("COMMIT")

    def job(self, job_id: str) -> JobRecord | None:
        rows = self._execute("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return JobRecord.of(rows[0]) if rows else None

    def jobs(self, owner: str | None = None) -> list[JobRecord]:
        """Every job (``owner``'s and nobody's, when given), oldest first."""
        if owner is None:
            rows = self._execute("SELECT * FROM jobs ORDER BY created")
        else:
            rows = self._execute("SELECT * FROM jobs WHERE owner IS NULL OR owner = ? ORDER BY created", (owner,))
        return [JobRecord.of(row) for row in rows]

    def unfinished(self) -> int:
        """Jobs queued or running."""
        return self._execute("SELECT COUNT(*) AS n FROM jobs WHERE state IN (?, ?)", (QUEUED, RUNNING))[0]["n"]

    def requeue_running(self) -> list[str]:
        """Jobs left running by a server that stopped, queued again (they go on where they were); their ids."""
        ids = [row["id"] for row in self._execute("SELECT id FROM jobs WHERE state = ?", (RUNNING,))]
        for job_id in ids:
            self.set(job_id, state=QUEUED)
        return ids

    def claim_next(self) -> JobRecord | None:
        """The oldest queued job, now marked running (atomically: one worker gets it)."""
        with self._lock, closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT * FROM jobs WHERE state = ? ORDER BY created LIMIT 1", (QUEUED,)).fetchone()
            if row is not None:
                db.execute(
                    "UPDATE jobs SET state = ?, started = COALESCE(started, ?) WHERE id = ?", (RUNNING, time.time(), row["id"])
                )
            db.execute("COMMIT")
            return JobRecord.of(row) if row is not None else None

    @staticmethod
    def _names(fields: dict[str, object]) -> str:
        unknown = set(fields) - set(FIELDS)
        if unknown:
            raise ValueError(f"not a job field that changes: {', '.join(sorted(unknown))}")
        return ", ".join(f"{name} = ?" for name in fields)

    def set(self, job_id: str, **fields: object) -> None:
        self._execute(f"UPDATE jobs SET {self._names(fields)} WHERE id = ?", (*fields.values(), job_id))

    def move(self, job_id: str, from_states: Sequence[str], **fields: object) -> bool:
        """Update the job only while it is in one of ``from_states`` (a cancel and an ending never overwrite
        each other); whether it was."""
        names = self._names(fields)
        marks = ", ".join("?" for _ in from_states)
        with self._lock, closing(self._connect()) as db:
            cursor = db.execute(
                f"UPDATE jobs SET {names} WHERE id = ? AND state IN ({marks})", (*fields.values(), job_id, *from_states)
            )
            return cursor.rowcount > 0

    def expire(self, ended_before: float) -> None:
        """Delete the jobs that ended before ``ended_before`` (Unix time), and reads whose job is gone."""
        for row in self._execute("SELECT id FROM jobs WHERE ended IS NOT NULL AND ended < ?", (ended_before,)):
            self.delete(row["id"])
        self._execute("DELETE FROM reads WHERE job NOT IN (SELECT id FROM jobs)")  # saved while its job was deleted

    def delete(self, job_id: str) -> None:
        with self._lock, closing(self._connect()) as db:
            db.execute("BEGIN")
            for table, column in (("reads", "job"), ("files", "job"), ("jobs", "id")):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (job_id,))
            db.execute("COMMIT")
        self.drop_files(job_id)

    # ---- files ---------------------------------------------------------------------------------------
    def file_data(self, job_id: str, idx: int) -> bytes:
        return (self.files_dir / job_id / str(idx)).read_bytes()

    def drop_files(self, job_id: str) -> None:
        shutil.rmtree(self.files_dir / job_id, ignore_errors=True)

    def files(self, job_id: str) -> list[tuple[int, FileInfo]]:
        """The job's files in order: (index, what is known of it: pages chosen, opening time, error)."""
        return [
            (
                row["idx"],
                FileInfo(
                    row["name"], bool(row["multipage"]), json.loads(row["pages"] or "[]"), row["open_s"] or 0.0, row["error"]
                ),
            )
            for row in self._execute("SELECT * FROM files WHERE job = ? ORDER BY idx", (job_id,))
        ]

    def set_file(self, job_id: str, idx: int, multipage: bool, pages: list[int], open_s: float, error: str | None) -> None:
        self._execute(
            "UPDATE files SET multipage = ?, pages = ?, open_s = ?, error = ? WHERE job = ? AND idx = ?",
            (int(multipage), json.dumps(pages), open_s, error, job_id, idx),
        )

    # ---- page reads ----------------------------------------------------------------------------------
    def save_read(self, job_id: str, read: PageRead) -> None:
        """One page read, and the job's count, in one transaction (what a restart resumes from)."""
        record = {
            "size": list(read.size),
            "source": read.source,
            "seconds": read.seconds,
            "text": read.text,
            "lines": [line.model_dump() for line in read.lines],
            "warnings": read.warnings,
            "error": read.message,
        }
        with self._lock, closing(self._connect()) as db:
            db.execute("BEGIN")
            db.execute(
                "INSERT OR REPLACE INTO reads (job, idx, page, read) VALUES (?, ?, ?, ?)",
                (job_id, read.doc, read.page, json.dumps(record)),
            )
            db.execute(
                "UPDATE jobs SET pages_done = (SELECT COUNT(*) FROM reads WHERE job = ?) + "
                "(SELECT COUNT(*) FROM files WHERE job = ? AND error IS NOT NULL) WHERE id = ?",
                (job_id, job_id, job_id),
            )
            db.execute("COMMIT")

    def pages_read(self, job_id: str) -> set[tuple[int, int]]:
        """(file index, page number) of each page saved so far."""
        return {(row["idx"], row["page"]) for row in self._execute("SELECT idx, page FROM reads WHERE job = ?", (job_id,))}

    def reads(self, job_id: str) -> list[PageRead]:
        out = []
        for row in self._execute("SELECT idx, page, read FROM reads WHERE job = ?", (job_id,)):
            r = json.loads(row["read"])
            out.append(
                PageRead(
                    row["idx"],
                    row["page"],
                    tuple(r["size"]),
                    r["source"],
                    r["seconds"],
                    r["text"],
                    [OcrLine(**line) for line in r["lines"]],
                    r["warnings"],
                    error=ChatVLMError(r["error"]) if r["error"] else None,
                )
            )
        return out
