"""The distributed mode's window (its SQL; :class:`~inference.job_store.JobStore` is this and the rest): a key's
pages go to the broker a few at a time, so that a model's queue, first in first out, holds at most a window of
each key's pages, and keys take turns in it; within a key, its jobs of the highest priority first, their pages in
turns. Kept apart only to keep each module small."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Connection, Engine, and_, func, select, update

from .job_tables import RUNNING, jobs, pages

__all__ = ["WindowStore"]


def _key():
    """Whose turn a page waits for: the key (or client address) the job counts against, else its owner."""
    return func.coalesce(jobs.c.payer, jobs.c.owner, "")


class WindowStore:
    engine: Engine
    _write: Callable[[], AbstractContextManager[Connection]]  # JobStore's: a write transaction

    def key_of(self, job_id: str) -> str | None:
        with self.engine.connect() as db:
            return db.execute(select(_key()).where(jobs.c.id == job_id)).scalar_one_or_none()

    def claim_window(self, key: str, window: int) -> list[tuple[str, str, int, int]]:
        """Pages of ``key``'s running jobs to send now, so that at most ``window`` are sent and not read: (job, model,
        file index, page), each marked sent (a page marked by another claimer at the same moment is not given
        twice). Its highest-priority jobs first, their pages in turns, each job's in order."""
        base = and_(jobs.c.state == RUNNING, _key() == key, pages.c.read.is_(None))
        joined = pages.join(jobs, jobs.c.id == pages.c.job)
        with self.engine.connect() as db:
            inflight = db.execute(select(func.count()).select_from(joined).where(base, pages.c.sent.is_not(None))).scalar_one()
            room = window - inflight
            if room <= 0:
                return []
            turn = func.row_number().over(partition_by=pages.c.job, order_by=(pages.c.idx, pages.c.page))
            ranked = (
                select(
                    pages.c.job,
                    jobs.c.model,
                    pages.c.idx,
                    pages.c.page,
                    pages.c.sent,
                    jobs.c.priority,
                    jobs.c.created,
                    turn.label("turn"),
                )
                .select_from(joined)
                .where(base)  # a page's turn counts its job's unread pages before it, sent or not
                .subquery()
            )
            order = (ranked.c.priority.desc(), ranked.c.turn, ranked.c.created)
            rows = db.execute(
                select(ranked.c.job, ranked.c.model, ranked.c.idx, ranked.c.page)
                .where(ranked.c.sent.is_(None))
                .order_by(*order)
                .limit(room)
            ).all()
        claimed, now = [], time.time()
        with self._write() as db:
            for job, model, idx, page in rows:
                where = and_(pages.c.job == job, pages.c.idx == idx, pages.c.page == page, pages.c.sent.is_(None))
                if db.execute(update(pages).where(where).values(sent=now)).rowcount:
                    claimed.append((job, model, idx, page))
        return claimed

    def unsend(self, job_id: str) -> None:
        """Every unread page of the job waits to be sent again (its messages were lost: the sweep found it still)."""
        with self._write() as db:
            db.execute(update(pages).where(pages.c.job == job_id, pages.c.read.is_(None)).values(sent=None))
