"""The jobs' tables (SQLAlchemy Core) and the plain values the store gives: a job as stored (:class:`JobRecord`), a
file as opening found it (:class:`Opened`), and a page read in and out of its JSON column."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    case,
    func,
    inspect,
    select,
    text,
    update,
)

from .blocks import Block, OcrLine
from .errors import ChatVLMError
from .heap import gc_paused
from .page_results import PageRead

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ENDED = (DONE, FAILED, CANCELLED)

metadata = MetaData()
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(256)),
    Column("state", String(16), nullable=False, index=True),
    Column("model", String(256), nullable=False),
    Column("language", String(256)),
    Column("pages", String(1024)),
    Column("force_ocr", Boolean, nullable=False),
    Column("files", Integer, nullable=False),
    Column("pages_total", Integer),
    Column("pages_done", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("created", Float, nullable=False),
    Column("started", Float),
    Column("ended", Float, index=True),  # (the expiry's look, at each listing and status: no scan of every job)
    Column("touched", Float, nullable=False),  # the last time it moved (the sweep's clock)
    Column("priority", Integer, nullable=False, default=1),  # 0 low, 1 normal, 2 high: orders a key's own jobs
    Column("payer", String(256), index=True),  # whose quota it counts against (a key's fingerprint, or a client address)
    Column("pages_estimate", Integer, nullable=False, default=0),  # pages to read, counted at submit (the quota's)
    # -- signed webhooks (issue 20, point 3) --
    Column("callback_url", Text),  # POSTed to when the job ends (checked at submit)
    Column("callback_attempts", Integer),  # deliveries tried so far
    Column("callback_last", String(256)),  # the last attempt's HTTP status, or why it had none
    Column("callback_due", Float, index=True),  # when the next attempt is due (NULL: none is)
    Column("result_bytes", BigInteger, default=0),  # bytes it keeps: its rows (``kept_bytes``), its pages' reads (ASCII JSON)
    Index("ix_jobs_owner_created", "owner", "created"),  # (a key's listing, newest first: the Batch tab reads it each second)
)
files = Table(
    "files",
    metadata,
    Column("job", String(64), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("data", LargeBinary),  # the upload, until the job ends
    Column("multipage", Boolean),
    Column("pages", Text),  # JSON list of the page numbers chosen
    Column("open_s", Float),
    Column("error", Text),
)
pages = Table(
    "pages",
    metadata,
    Column("job", String(64), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("page", Integer, primary_key=True),
    Column("read", Text),  # JSON of the page read; NULL until read
    Column("worker", String(256)),  # who read it
    # -- live events (issue 20, point 2) --
    Column("seq", Integer),  # the job's pages_done just after this page was written: the event id (NULL until read)
    # -- the distributed mode's window (issue 20, point 6) --
    Column("sent", Float),  # when its unit was sent to the broker (NULL: not yet: it waits its key's turn)
)


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
    touched: float
    priority: int = 1
    payer: str | None = None
    pages_estimate: int = 0
    # -- signed webhooks (issue 20, point 3) --
    callback_url: str | None = None
    callback_attempts: int | None = None
    callback_last: str | None = None
    callback_due: float | None = None
    result_bytes: int | None = 0

    @property
    def seconds(self) -> float:
        return (self.ended or time.time()) - (self.started or self.created)


@dataclass(frozen=True)
class Opened:
    """One file of a job as opening found it: its pages to read, and those read at once (a text layer)."""

    name: str
    multipage: bool
    numbers: list[int]
    open_s: float
    error: str | None
    read_now: list[PageRead]


JOB_BYTES, FILE_BYTES, PAGE_BYTES = 2048, 256, 64  # what a job's row, each file's and each page's take, about


def kept_bytes(names: list[str]) -> int:
    """What a new job's rows keep in the store (its first ``result_bytes``; its pages' rows, their reads and its files'
    errors are added as they are written): a job that keeps no result (its files all fail to open) still keeps ~10 KB
    for a week, and a key sent 52 a second of them, uncounted (an attack pass)."""
    return JOB_BYTES + sum(FILE_BYTES + len(name.encode()) for name in names)


def dump_read(read: PageRead) -> str:
    with gc_paused():  # (a dense page's lines as dicts: ~millions of objects, see inference.heap)
        return _dumped(read)


def _dumped(read: PageRead) -> str:
    return json.dumps(
        {
            "text": read.text,  # (text and error first: a page's event reads them alone, ``text_and_error``)
            "error": read.message,
            "size": list(read.size),
            "source": read.source,
            "seconds": read.seconds,
            "lines": [line.model_dump() for line in read.lines],
            "warnings": read.warnings,
            "blocks": [block.model_dump() for block in read.blocks],
            "confidence": read.confidence,
            "confidence_source": read.confidence_source,
            "engine": read.engine,
            "route": read.route,
            "cpu_agreement": read.cpu_agreement,
            "text_layer_agreement": read.text_layer_agreement,
        }
    )


def parsed(text: str) -> dict:
    """A stored read's JSON parsed (orjson: ~4 times as fast as json on a dense page's ~1 MB; json for what orjson
    refuses: a NaN)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


_TEXT, _ERROR = '{"text": ', ', "error": '
_DECODER = json.JSONDecoder()


def text_and_error(stored: str) -> tuple[str, str | None]:
    """A stored read's text and error alone (what a page's event says), decoded from the front of its JSON where
    ``dump_read`` writes them, not from the whole of it (a dense page's ~1 MB: ~80 ms of CPU each time a stream replays
    it); a read stored before they came first is parsed whole."""
    if stored.startswith(_TEXT):
        text, end = _DECODER.raw_decode(stored, len(_TEXT))
        if stored.startswith(_ERROR, end):
            error, _ = _DECODER.raw_decode(stored, end + len(_ERROR))
            return text, error
    whole = parsed(stored)
    return whole["text"], whole["error"]


def load_read(idx: int, page: int, text: str, lines: bool = True) -> PageRead:
    """A page's read as stored (``dump_read``); not ``lines``: without them, the page's and its blocks' (most of a dense
    page's read: what a job's whole result leaves out where it is held whole, ``result_stream``)."""
    r = parsed(text)
    blocks = [block if lines else {**block, "lines": None} for block in r.get("blocks", [])]
    return PageRead(
        idx,
        page,
        tuple(r["size"]),
        r["source"],
        r["seconds"],
        r["text"],
        [OcrLine(**line) for line in r["lines"]] if lines else [],
        r["warnings"],
        error=ChatVLMError(r["error"]) if r["error"] else None,
        blocks=[Block(**block) for block in blocks],
        confidence=r.get("confidence"),
        confidence_source=r.get("confidence_source"),
        engine=r.get("engine"),
        route=r.get("route"),
        cpu_agreement=r.get("cpu_agreement"),
        text_layer_agreement=r.get("text_layer_agreement"),
    )


# ---- idempotent submits (Idempotency-Key on POST /jobs) ----------------------------------------------------------
RECEIVING, SUBMITTED = "receiving", "submitted"
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("caller", String(256), primary_key=True),  # whose key: an API key's fingerprint, or a client address
    Column("key", String(256), primary_key=True),  # the Idempotency-Key header (the primary key: one reservation)
    Column("state", String(16), nullable=False),  # receiving (its request not yet submitted), then submitted
    Column("token", String(64), nullable=False),  # which request holds the reservation (only it may complete it)
    Column("body_hash", String(64)),  # SHA-256 of the request (files and parameters), once submitted
    Column("job", String(64)),  # the job it made, once submitted
    Column("created", Float, nullable=False, index=True),  # when reserved (rows expire after a day)
)


@dataclass(frozen=True)
class KeyRecord:
    """An Idempotency-Key as stored: reserved (``receiving``) or with its request's hash and job (``submitted``)."""

    caller: str
    key: str
    state: str
    token: str
    body_hash: str | None
    job: str | None
    created: float


# ---- issue 20: live events and signed webhooks -------------------------------------------------------------------
def callback_due_at(now: float):
    """The ``callback_due`` of a job ending now: ``now`` when it has a callback URL, else NULL (in its UPDATE)."""
    return case((jobs.c.callback_url.is_not(None), now), else_=None)


def failed_in(db: Connection, job_id: str, error: str) -> bool:
    """In ``db``'s transaction: the job failed (unless it already ended), its files dropped; whether it was this call."""
    now = time.time()
    moved = db.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.state.in_((QUEUED, RUNNING)))
        .values(state=FAILED, error=error, ended=now, touched=now, callback_due=callback_due_at(now))
    ).rowcount
    if moved:
        db.execute(update(files).where(files.c.job == job_id).values(data=None))
    return bool(moved)


def add_missing_columns(db: Connection) -> None:
    """Columns (ALTER TABLE ... ADD, nullable) and indexes added to a table since a database was created: an older
    jobs.db or PostgreSQL schema is brought up to date at start."""
    inspector = inspect(db)
    for table in metadata.sorted_tables:
        have = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have:
                kind = column.type.compile(dialect=db.dialect)
                default = column.default.arg if column.default is not None and column.default.is_scalar else None
                given = f" DEFAULT {default!r}" if isinstance(default, int | float) else ""  # (a bool is an int)
                db.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}{given}'))
                if column is jobs.c.result_bytes:  # (what the jobs kept before: counted from the start, not a week on)
                    db.execute(update(jobs).values(result_bytes=_kept_before()))
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:  # (an index added since: the payer's, which each page's quota check looks by)
            if index.name not in indexes:
                index.create(db)


def _kept_before():
    """``result_bytes`` of a job stored before it was counted (SQL, for each row of ``jobs``): as ``kept_bytes`` and
    the writes count it."""
    reads = select(func.coalesce(func.sum(func.length(pages.c.read)), 0) + PAGE_BYTES * func.count()).where(
        pages.c.job == jobs.c.id
    )
    names = func.coalesce(func.sum(FILE_BYTES + func.length(files.c.name) + func.coalesce(func.length(files.c.error), 0)), 0)
    return JOB_BYTES + reads.scalar_subquery() + select(names).where(files.c.job == jobs.c.id).scalar_subquery()
