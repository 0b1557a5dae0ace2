"""Idempotent submits: the ``Idempotency-Key`` of POST /jobs, kept in the jobs' store so that every replica sees it.

A request with a key reserves it first (a row ``receiving``, inserted before its body is read: the primary key
lets one request of a (caller, key) through, on any replica); when its job is made, the key keeps the request's
hash and the job's id. Another request with the same key from the same caller waits (bounded) until the first is
submitted, then answers that job if its own request is the same (same hash), or refuses (409) if it is not. A
request that made no job (refused, or its client gone) releases the key, so that a retry can use it. Keys expire a
day after they were reserved.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import IO, Any

from .errors import BadInput, NotFound, NotReady
from .job_store import JobStore
from .job_store_keys import RECEIVING, SUBMITTED, KeyRecord
from .results import JobStatus

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 200
KEY_PATTERN = r"^[ -~]*[!-~][ -~]*$"  # what check_key accepts, for the schema: printable ASCII, not only spaces
KEY_TTL_S = 24 * 3600.0  # a key answers its job for a day
STALE_S = 600.0  # a reservation still receiving after this long was left by a request that died with its server
POLL_S = 0.1


def _free(record: KeyRecord | None) -> bool:
    """Whether a new request may reserve the key: nobody holds it, or what holds it is past its day, or a reservation
    left receiving by a request that died with its server (``reserve`` deletes those first)."""
    now = time.time()
    return record is None or record.created < now - KEY_TTL_S or (record.state == RECEIVING and record.created < now - STALE_S)


class KeyConflict(NotReady):
    """The Idempotency-Key was used for another request, or its first request is still being received (HTTP 409)."""


def check_key(value: str) -> str:
    """The header's value, or :class:`BadInput`: 1 to 200 printable ASCII characters (not only spaces)."""
    if len(value) > MAX_KEY_CHARS:
        raise BadInput(f"{HEADER} is {len(value)} characters long; at most {MAX_KEY_CHARS} are allowed.")
    if not value.strip():
        raise BadInput(f"{HEADER} is empty; send a unique value (e.g. a UUID) or leave the header out.")
    if not all(" " <= char <= "~" for char in value):
        raise BadInput(f"{HEADER} may hold only printable ASCII characters (letters, digits, punctuation).")
    return value


def body_hash(files: Sequence[tuple[str, IO[bytes]]], params: dict[str, Any]) -> str:
    """SHA-256 of a request: its parameters, and each file's name and bytes in order (the files are read from where
    they are and put back there)."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    for name, stream in files:
        start = stream.tell()
        content = hashlib.sha256()
        while chunk := stream.read(1 << 20):
            content.update(chunk)
        stream.seek(start)
        digest.update(json.dumps([name, content.hexdigest()]).encode())
    return digest.hexdigest()


class Idempotency:
    """The keys of one jobs store. ``wait_s``: how long a request waits for the first one with its key."""

    def __init__(self, store: JobStore, wait_s: float):
        self.store = store
        self.wait_s = wait_s

    def reserve(self, caller: str, key: str) -> str | None:
        """Reserve ``key`` for a new request of ``caller``: its token (to complete or release it), or None when
        another request holds or used the key."""
        token = uuid.uuid4().hex
        now = time.time()
        return token if self.store.reserve_key(caller, key, token, now - KEY_TTL_S, now - STALE_S) else None

    def release(self, caller: str, key: str, token: str) -> None:
        """The request ``token`` made no job: the key is free again (a no-op once it made one)."""
        self.store.release_key(caller, key, token)

    def attempt(
        self,
        caller: str,
        key: str,
        token: str | None,
        request_hash: str,
        submit: Callable[[], JobStatus],
        status: Callable[[str], JobStatus],
        last: bool = True,
    ) -> tuple[JobStatus, bool] | None:
        """One look at the key, without waiting: (the job, whether this call made it), or None while the key's first
        request is still being received (ask again a little later; ``last``: :class:`KeyConflict` instead). With
        ``token`` (the key reserved for this request), or once the key is free, ``submit()`` makes the job and the key
        keeps it. Else the key's first request made it: its job when ``request_hash`` is the same, KeyConflict when
        not."""
        for _ in range(3):  # the key may be released between a look at it and a reservation: then look again
            record = None
            if token is None:  # (a look first, a read: those waiting for the first request write nothing)
                record = self.store.key_record(caller, key)
                token = self.reserve(caller, key) if _free(record) else None
                if token is None and _free(record):
                    continue
            if token is not None:
                try:
                    job = submit()
                except BaseException:
                    self.release(caller, key, token)
                    raise
                if not self.store.complete_key(caller, key, token, request_hash, job.id):
                    log.warning("an Idempotency-Key's reservation was taken over before its job %s was made", job.id)
                return job, True
            if record is None:
                continue
            if record.state != SUBMITTED or record.job is None:
                break
            if record.body_hash != request_hash:
                raise KeyConflict(
                    f"This {HEADER} was used for another request (other files or parameters) that made job "
                    f"{record.job}; send a new key for a new job, or the same request to get that job."
                )
            try:
                return status(record.job), False
            except NotFound:
                raise KeyConflict(
                    f"This {HEADER} made job {record.job}, which is gone (cancelled, or its result expired); "
                    "send a new key to submit again."
                ) from None
        if last:
            raise KeyConflict(
                f"A request with this {HEADER} is still being received or submitted; try again shortly to get its job."
            )
        return None

    def submit(
        self,
        caller: str,
        key: str,
        token: str | None,
        request_hash: str,
        submit: Callable[[], JobStatus],
        status: Callable[[str], JobStatus],
    ) -> tuple[JobStatus, bool]:
        """:meth:`attempt` until it answers, waiting in this thread for the key's first request at most ``wait_s``
        (then :class:`KeyConflict`). (POST /jobs waits between attempts without holding a thread.)"""
        deadline = time.monotonic() + self.wait_s
        while True:
            answer = self.attempt(caller, key, token, request_hash, submit, status, last=time.monotonic() >= deadline)
            if answer is not None:
                return answer
            time.sleep(POLL_S)
