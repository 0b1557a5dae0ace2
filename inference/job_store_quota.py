"""What counts against a key's job quotas (its SQL; :class:`~inference.job_store.JobStore` is this and the rest): its
unfinished jobs, the pages still to read in them, the bytes of their files kept in the store, and the bytes of its
jobs' results kept (finished jobs' too, until deleted or expired). Kept apart only to keep each module small."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, Engine, case, func, select, text

from .job_tables import QUEUED, RUNNING, JobRecord, failed_in, files, jobs

__all__ = ["Load", "Quota", "QuotaStore"]


INSERTS_LOCK = 0x63766C6A  # PostgreSQL advisory lock held while a job's insert checks the quotas and places ("cvlj")


class Load(NamedTuple):
    jobs: int  # unfinished jobs
    pages_left: int  # pages still to read in them
    bytes_kept: int  # bytes of their files kept in the store (until each job ends)
    results_kept: int = 0  # bytes all its jobs keep in the store, their pages read above all (until deleted or expired)
    waiting: int = 0  # the server's unfinished jobs, every payer's
    payers: int = 0  # the payers with unfinished jobs


class Quota(NamedTuple):
    """The bytes a payer's jobs may keep (``limits.max_result_mb_per_key``), and what a job stopped at them says."""

    bytes: int
    error: str


class QuotaStore:
    engine: Engine

    def load_of(self, payer: str) -> Load:
        """What counts against ``payer``'s quotas."""
        with self.engine.connect() as db:
            return self.load_in(db, payer)

    def load_in(self, db: Connection, payer: str | None, lock: bool = False) -> Load:
        """``load_of`` in ``db``'s transaction (``payer`` None: the server's own jobs); ``lock``: every other such
        transaction (a job's insert) and the payer's page writes wait for this one to end (PostgreSQL: advisory locks,
        every replica; SQLite's writes are one at a time already): jobs sent at once pass the quotas and the server's
        places one by one (two keys' 40 jobs sent at once took 114 of 100 places: a review's attack)."""
        if lock:
            if db.dialect.name == "postgresql":
                db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INSERTS_LOCK})
            if payer is not None:
                _lock_payer(db, payer)
        unfinished = jobs.c.state.in_((QUEUED, RUNNING))
        left = case((jobs.c.pages_total.is_(None), jobs.c.pages_estimate), else_=jobs.c.pages_total - jobs.c.pages_done)
        counts = select(func.count(), func.coalesce(func.sum(left), 0)).where(jobs.c.payer == payer, unfinished)
        kept = (
            select(func.coalesce(func.sum(func.length(files.c.data)), 0))
            .select_from(files.join(jobs, files.c.job == jobs.c.id))
            .where(jobs.c.payer == payer, unfinished)
        )
        server = select(func.count(), func.count(func.distinct(jobs.c.payer))).where(unfinished)
        count, pages_left = db.execute(counts).one()
        size = db.execute(kept).scalar_one()
        waiting, payers = db.execute(server).one()
        return Load(int(count), int(pages_left), int(size), self._results_in(db, payer), int(waiting), int(payers))

    def over_quota(self, db: Connection, job: JobRecord, quota: Quota | None) -> bool:
        """Whether ``job``'s payer's jobs keep ``quota.bytes`` already, in ``db``'s transaction (before its page or its
        opening is written there; the payer's other writes wait for it, as in ``load_in``): the job then fails, saying
        ``quota.error``, its pages written so far kept. Jobs sent at once each pass the quota when sent, none having
        written a page yet (20 jobs of 3 dense pages kept 18.8 MB against 1 MB: an attack pass); checked here, a key
        goes past it by one write at most."""
        if quota is None or job.payer is None:
            return False
        _lock_payer(db, job.payer)
        return self._results_in(db, job.payer) >= quota.bytes and failed_in(db, job.id, quota.error)

    @staticmethod
    def _results_in(db: Connection, payer: str) -> int:
        return int(db.execute(select(func.coalesce(func.sum(jobs.c.result_bytes), 0)).where(jobs.c.payer == payer)).scalar_one())

    def unfinished(self) -> int:
        with self.engine.connect() as db:
            return db.execute(select(func.count()).select_from(jobs).where(jobs.c.state.in_((QUEUED, RUNNING)))).scalar_one()


def _lock_payer(db: Connection, payer: str) -> None:
    """The payer's other quota transactions wait for this one (PostgreSQL, every replica; SQLite's writes are one at
    a time already)."""
    if db.dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(hashtext(:payer))"), {"payer": payer})
