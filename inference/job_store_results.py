"""A finished job's pages as its result reads them (its SQL; :class:`~inference.job_store.JobStore` is this and the
rest): which pages were read, then their reads a few at a time (:mod:`~inference.result_stream`), never all at once."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, func, select

from .job_tables import pages

__all__ = ["ResultStore"]


class ResultStore:
    engine: Engine

    def read_keys(self, job_id: str) -> list[tuple[int, int]]:
        """(file index, page number) of each page of the job that has a read, in no particular order."""
        query = select(pages.c.idx, pages.c.page).where(pages.c.job == job_id, pages.c.read.is_not(None))
        with self.engine.connect() as db:
            return [(row.idx, row.page) for row in db.execute(query)]

    def raw_reads(self, job_id: str, idx: int, numbers: Sequence[int]) -> dict[int, str]:
        """The stored reads (their JSON) of these pages of file ``idx``, by page number; a page gone since (the job
        deleted or expired meanwhile) is missing."""
        if not numbers:
            return {}
        query = select(pages.c.page, pages.c.read).where(
            pages.c.job == job_id, pages.c.idx == idx, pages.c.page.in_(list(numbers)), pages.c.read.is_not(None)
        )
        with self.engine.connect() as db:
            return {row.page: row.read for row in db.execute(query)}

    def pages_per_worker(self) -> dict[str, int]:
        """Pages read so far by each worker (of the jobs still kept)."""
        query = select(pages.c.worker, func.count()).where(pages.c.worker.is_not(None)).group_by(pages.c.worker)
        with self.engine.connect() as db:
            return {worker: n for worker, n in db.execute(query)}
