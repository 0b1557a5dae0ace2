"""A job's pages as they are written, for its live events (``GET /jobs/{id}/events``): each page written gets a
``seq`` in the transaction that writes it (the job's pages_done just after; writes of one job take turns under its
row's lock), so "the pages after N" is one cheap query that any replica answers from the shared store."""

from __future__ import annotations

from sqlalchemy import select

from .job_store import JobStore
from .job_tables import load_read, pages
from .page_results import PageRead


def pages_after(store: JobStore, job_id: str, after: int, limit: int) -> list[tuple[int, PageRead]]:
    """Up to ``limit`` of the job's pages written with a seq above ``after``, as (seq, page read without its lines: an
    event sends the page's text; loading a dense page's lines took ~0.2 s of CPU), in order."""
    query = (
        select(pages.c.seq, pages.c.idx, pages.c.page, pages.c.read)
        .where(pages.c.job == job_id, pages.c.seq > after, pages.c.read.is_not(None))
        .order_by(pages.c.seq)
        .limit(limit)
    )
    with store.engine.connect() as db:
        return [(row.seq, load_read(row.idx, row.page, row.read, lines=False)) for row in db.execute(query)]
