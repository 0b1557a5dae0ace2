"""A key's job quotas, checked when a job is sent (429 with Retry-After, other keys unaffected): its unfinished jobs
(``limits.max_jobs_per_key``), before its files are read; then the pages still to read in them
(``limits.max_pages_per_key``) and the bytes of their files kept until each ends (``limits.max_job_mb_per_key``: a key
sending 20 jobs of 32 files of 20 MB would keep 12.8 GB, filling the disk for every other key); and the results kept
for its jobs, finished ones too (``limits.max_result_mb_per_key``: they stay a week, ``server.job_results_ttl_s``; a key
sending job after job of dense pages, ~1.5 MB of result each, would fill the disk over the days as surely)."""

from __future__ import annotations

from collections.abc import Callable

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


NEARLY_FULL = 0.75  # of limits.max_unfinished_jobs: past it, each caller keeps to its share of the places


def check_share(load: Load, waiting: int, payers: Callable[[], int], limits: LimitSettings) -> None:
    """Past NEARLY_FULL of the server's places for unfinished jobs, a caller holding its share of them (the places over
    the callers with jobs waiting and one more) is refused: five keys' 20 jobs each (their quota) took all 100 places,
    and every other caller got 503 while they lasted (an attack pass). ``payers``: how many callers have jobs waiting."""
    if waiting >= NEARLY_FULL * limits.max_unfinished_jobs and load.jobs >= limits.max_unfinished_jobs / (payers() + 1):
        raise Overloaded(
            f"The server's places for jobs are nearly all taken ({waiting} of {limits.max_unfinished_jobs}) and this key "
            f"holds {load.jobs}, its share now; wait for one to end.",
            retry_after=30,
        )
