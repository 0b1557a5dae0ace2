"""A key's job quotas, checked when a job is sent (429 with Retry-After, other keys unaffected): its unfinished jobs
(``limits.max_jobs_per_key``), before its files are read; then the pages still to read in them
(``limits.max_pages_per_key``) and the bytes of their files kept until each ends (``limits.max_job_mb_per_key``: a key
sending 20 jobs of 32 files of 20 MB would keep 12.8 GB, filling the disk for every other key); and the results kept
for its jobs, finished ones too (``limits.max_result_mb_per_key``: they stay a week, ``server.job_results_ttl_s``; a key
sending job after job of dense pages, ~1.5 MB of result each, would fill the disk over the days as surely)."""

from __future__ import annotations

from .errors import Overloaded, PayloadTooLarge, RateLimited
from .job_store_quota import Load
from .limit_settings import LimitSettings

MB = 1024 * 1024


def check_jobs(load: Load, limits: LimitSettings) -> None:
    if load.jobs >= limits.max_jobs_per_key:
        raise RateLimited(
            f"This key has {load.jobs} unfinished jobs, its quota (limits.max_jobs_per_key); wait for one to end or cancel one.",
            retry_after=30,
        )
    if load.results_kept >= limits.max_result_mb_per_key * MB:
        raise RateLimited(
            f"This key's jobs keep {load.results_kept / MB:.1f} MB of results, its quota of {limits.max_result_mb_per_key} MB "
            "(limits.max_result_mb_per_key); delete finished jobs whose results you have (DELETE /jobs/{id}), or wait for "
            "them to expire.",
            retry_after=600,
        )


def check_files(load: Load, limits: LimitSettings, pages: int, size: int) -> None:
    """``pages`` and ``size`` (bytes): the new job's."""
    if load.pages_left + pages > limits.max_pages_per_key:
        raise RateLimited(
            f"This job's {pages} pages and the {load.pages_left} still to read in this key's jobs are over its quota "
            f"of {limits.max_pages_per_key} pages (limits.max_pages_per_key); wait for them to be read.",
            retry_after=60,
        )
    if size > limits.max_job_mb_per_key * MB:  # (alone: waiting never helps)
        raise PayloadTooLarge(
            f"This job's files ({size / MB:.1f} MB) are over the quota of {limits.max_job_mb_per_key} MB kept for a key's "
            "jobs (limits.max_job_mb_per_key) on their own: send them as several jobs."
        )
    if load.bytes_kept + size > limits.max_job_mb_per_key * MB:
        raise RateLimited(
            f"This job's files ({size / MB:.1f} MB) and the {load.bytes_kept / MB:.1f} MB kept for this key's unfinished jobs "
            f"are over its quota of {limits.max_job_mb_per_key} MB (limits.max_job_mb_per_key); wait for them to be read.",
            retry_after=60,
        )


def check_places(load: Load, limits: LimitSettings) -> None:
    """The server's places for unfinished jobs (``limits.max_unfinished_jobs``): none left, 503; and a caller that holds
    jobs already is refused the last of them, as many as the places over the callers with jobs waiting, and one more
    (five keys' 20 jobs each, their quota, took all 100 places and every other caller got 503 while they lasted: an
    attack pass): a caller with none gets a place while any is left."""
    cap = limits.max_unfinished_jobs
    # (counted one query after another outside a write, a job of the key's may have ended between them: 1 held, 0 waiting)
    waiting, payers = max(load.waiting, load.jobs), max(load.payers, 1 if load.jobs else 0)
    if waiting >= cap:
        raise Overloaded(f"The server has {waiting} jobs waiting, its limit; try again later.", retry_after=30)
    if load.jobs and cap - waiting <= cap / (payers + 1):
        raise Overloaded(
            f"The server's places for jobs are nearly all taken ({waiting} of {cap}) and this key holds {load.jobs}: "
            "the last are kept for others; wait for one of yours to end.",
            retry_after=30,
        )
