"""A job's pages as they are written, for its live events (``GET /jobs/{id}/events``): each page written gets a
``seq`` in the transaction that writes it (the job's pages_done just after; writes of one job take turns under its
row's lock), so "the pages after N" is one cheap query that any replica answers from the shared store."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select

from .errors import redact_paths
from .job_store import JobStore
from .job_tables import pages, text_and_error


class PageText(NamedTuple):
    """What a page's event says of it: its place, its text and its error (as a person reads it)."""

    seq: int
    doc: int
    page: int
    text: str
    error: str | None


def pages_after(store: JobStore, job_id: str, after: int, limit: int) -> list[PageText]:
    """Up to ``limit`` of the job's pages written with a seq above ``after``, in order: their texts alone (an event
    sends no lines nor blocks: ``text_and_error``; a dense page's read parsed whole was ~80 ms of CPU, and a key's eight
    streams replaying a 40-page job slowed every other key's requests 30-fold: an attack pass)."""
    query = (
        select(pages.c.seq, pages.c.idx, pages.c.page, pages.c.read)
        .where(pages.c.job == job_id, pages.c.seq > after, pages.c.read.is_not(None))
        .order_by(pages.c.seq)
        .limit(limit)
    )
    with store.engine.connect() as db:
        rows = db.execute(query).all()
    return [PageText(row.seq, row.idx, row.page, *_said(*text_and_error(row.read))) for row in rows]


def _said(text: str, error: str | None) -> tuple[str, str | None]:
    return text, redact_paths(error) if error else None
