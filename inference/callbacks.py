"""Signed webhooks (``callback_url`` on ``POST /jobs``): when a job ends, its ``{"id", "state", "pages_done",
"pages_total", "result_url"}`` is POSTed to the URL its client gave, signed with ``jobs.callback_secret``:

    X-ChatVLM-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

The URL is checked at submit as image URLs are (http/https; every address its host resolves to public, unless
``jobs.callback_allow_private``), and again at each attempt, which connects to the address it checked (pinned: DNS
cannot move it in between) and follows no redirect. A job that ends gets ``callback_due`` in the transaction that
ends it; a :class:`Deliverer` (a thread in the single process, in each Celery worker when distributed) claims a due
callback atomically (its lease moves ``callback_due`` on, so one deliverer tries it at a time and a deliverer that
died leaves it to another), POSTs it, and records the attempt: a 2xx ends it, anything else (another status, a
timeout, no connection) is tried again after ``jobs.callback_backoff_s`` doubled at each retry, at most
``jobs.callback_retries`` times. Callers take turns (one attempt of a caller's at a time per deliverer, first attempts
before retries), so a caller whose receiver never answers delays only its own calls. Delivery is at least once: a
receiver should treat a repeated job id as one call.
Without ``jobs.callback_secret`` a callback_url is refused (an unsigned call could be forged by anyone).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import func, select, update

from .errors import BadInput
from .images import shown
from .job_store import DONE, JobRecord, JobStore
from .job_tables import jobs
from .pinned_fetch import MAX_ADDRESSES_TRIED, Deadline, PinnedTransport, Resolver, checked_addresses, system_resolver
from .settings import JobSettings

log = logging.getLogger("inference.callbacks")

HEADER = "X-ChatVLM-Signature"
TIMEOUT_S = 10.0  # one attempt, connection and answer
LEASE_S = 3 * TIMEOUT_S  # a claimed callback is another deliverer's again after this (its deliverer died)
POLL_S = 0.5  # how often a deliverer looks for due callbacks...
BUSY_POLL_S = 0.05  # ...and at most how often, looking again as attempts end
AT_ONCE = 4  # attempts one deliverer makes at once
TURNS = 64  # callers whose callbacks one look at the store considers
MAX_URL = 2048


def check_url(url: str, settings: JobSettings, resolver: Resolver | None = None) -> str:
    """``url`` as a callback URL may be (stripped); BadInput saying what is wrong with it otherwise."""
    url = url.strip()
    if not settings.callback_secret:
        raise BadInput(
            "callback_url needs a signing secret on the server (jobs.callback_secret / CHATVLM_CALLBACK_SECRET), "
            "and this server has none: it sends no callbacks. Poll GET /jobs/{id} or follow GET /jobs/{id}/events."
        )
    if len(url) > MAX_URL:
        raise BadInput(f"callback_url is longer than {MAX_URL} characters.")
    try:
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError):
        raise BadInput("callback_url is not a valid URL.") from None
    if target.scheme not in ("http", "https") or not host:
        raise BadInput("callback_url must be an http:// or https:// URL.")
    if target.userinfo:
        raise BadInput("callback_url must not hold a user name or password (the calls are signed: check the signature).")
    if not settings.callback_allow_private:
        try:
            checked_addresses(host, target.port or (443 if target.scheme == "https" else 80), resolver or system_resolver)
        except BadInput:
            raise BadInput(
                f"callback_url's host {shown(host)!r} is not a public address (or does not resolve): this server calls "
                "back only public addresses (jobs.callback_allow_private / CHATVLM_CALLBACK_ALLOW_PRIVATE=1 allows "
                "private networks)."
            ) from None
    return url


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-ChatVLM-Signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def body_of(job: JobRecord) -> bytes:
    result_url = f"/jobs/{job.id}/result" if job.state == DONE else None
    values = {"id": job.id, "state": job.state, "pages_done": job.pages_done, "pages_total": job.pages_total}
    return json.dumps({**values, "result_url": result_url}, separators=(",", ":")).encode()


def post(url: str, body: bytes, settings: JobSettings, resolver: Resolver | None = None) -> str:
    """One attempt: the HTTP status answered (as text), or why there was none ("timeout", "connection failed",
    "not a public address")."""
    target = httpx.URL(url)
    assert settings.callback_secret
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ChatVLMLLM-callback/1",
        HEADER: signature(settings.callback_secret, int(time.time()), body),
    }
    if settings.callback_allow_private:
        transports: list[httpx.HTTPTransport] = [httpx.HTTPTransport(trust_env=False)]
    else:
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            addresses = checked_addresses(target.raw_host.decode("ascii"), port, resolver or system_resolver)
        except BadInput:
            return "not a public address"
        transports = [PinnedTransport(address) for address in addresses[:MAX_ADDRESSES_TRIED]]
    for transport in transports:
        deadline = Deadline(TIMEOUT_S)  # (the whole attempt: its answer's head dripped a byte at a time too)
        try:
            with (
                deadline,
                httpx.Client(transport=transport, timeout=TIMEOUT_S, trust_env=False, follow_redirects=False) as client,
                client.stream("POST", target, content=body, headers=headers, extensions=deadline.extensions) as response,
            ):
                return str(response.status_code)  # its body is not read
        except httpx.ConnectError:
            if deadline.expired:
                return "timeout"
            continue  # the next checked address
        except httpx.TimeoutException:
            return "timeout"
        except httpx.HTTPError:
            return "timeout" if deadline.expired else "connection failed"
    return "connection failed"


def succeeded(outcome: str | None) -> bool:
    return bool(outcome and outcome.isdigit() and 200 <= int(outcome) < 300)


def _turns(now: float) -> Any:
    """Each caller's most urgent callback due at ``now`` (first attempts before retries, then the earliest due), as
    (job id, caller), the callers' in the same order: at most TURNS of them."""
    payer = func.coalesce(jobs.c.payer, jobs.c.owner, "")
    urgency = (func.coalesce(jobs.c.callback_attempts, 0), jobs.c.callback_due)
    ranked = (
        select(jobs.c.id, payer.label("payer"), *(u.label(f"u{i}") for i, u in enumerate(urgency)))
        .add_columns(func.row_number().over(partition_by=payer, order_by=urgency).label("turn"))
        .where(jobs.c.callback_due <= now)
        .subquery()
    )
    return select(ranked.c.id, ranked.c.payer).where(ranked.c.turn == 1).order_by(ranked.c.u0, ranked.c.u1).limit(TURNS)


class Deliverer:
    """Delivers the due callbacks of a store (see the module doc); :meth:`start` runs it in a thread."""

    def __init__(self, store: JobStore, settings: JobSettings, resolver: Resolver | None = None):
        self.store = store
        self.settings = settings
        self.resolver = resolver
        self._pool = ThreadPoolExecutor(AT_ONCE, thread_name_prefix="callback")
        self._busy = threading.Semaphore(AT_ONCE)
        self._lock = threading.Lock()
        self._calling: set[str] = set()  # the callers (payers) one of whose callbacks is being attempted here
        self._stop = threading.Event()
        self._wake = threading.Event()  # (an attempt ended: look again now)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="callbacks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        """A look every POLL_S, and again as soon as an attempt ends (at most every BUSY_POLL_S): a caller's calls go
        one at a time, as fast as its receiver answers them (one a look held a key to 2 a second)."""
        while not self._stop.is_set():
            self._wake.wait(POLL_S)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.deliver_due()
            except Exception as exc:  # the database away for a while: tried again at the next poll
                log.warning("callbacks: %s", type(exc).__name__)
            self._stop.wait(BUSY_POLL_S)

    def deliver_due(self) -> int:
        """Claim the callbacks due now (as many as there are free hands) and start their attempts; how many. Callers
        take turns: each caller's (``payer``'s) most urgent due callback, first attempts before retries, and at most
        one attempt of a caller's at a time here (one key's callbacks to a host that never answers held every hand
        for 10 s an attempt, retries included: another key's call came 98 s late; an attack pass). Without a callback
        secret none (a replica set up without one, sharing the jobs' database, cannot sign them)."""
        if not self.settings.callback_secret:
            return 0
        started = 0
        now = time.time()
        with self.store.engine.connect() as db:
            due = list(db.execute(_turns(now)))
        for job_id, payer in due:
            with self._lock:
                if payer in self._calling:
                    continue
            if not self._busy.acquire(blocking=False):
                break
            job = self._claim(job_id, now)
            if job is None:
                self._busy.release()
                continue
            with self._lock:
                self._calling.add(payer)
            self._pool.submit(self._attempt, job, payer)
            started += 1
        return started

    def _claim(self, job_id: str, now: float) -> JobRecord | None:
        with self.store._write() as db:  # the store's writer (SQLite: one at a time)
            claimed = db.execute(
                update(jobs).where(jobs.c.id == job_id, jobs.c.callback_due <= now).values(callback_due=now + LEASE_S)
            ).rowcount
            row = db.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first() if claimed else None
        return JobRecord(**row) if row else None

    def _attempt(self, job: JobRecord, payer: str) -> None:
        try:
            assert job.callback_url
            outcome = post(job.callback_url, body_of(job), self.settings, self.resolver)
            attempts = (job.callback_attempts or 0) + 1
            again = not succeeded(outcome) and attempts <= self.settings.callback_retries
            due = time.time() + self.settings.callback_backoff_s * 2 ** (attempts - 1) if again else None
            with self.store._write() as db:
                db.execute(
                    update(jobs)
                    .where(jobs.c.id == job.id)
                    .values(callback_attempts=attempts, callback_last=outcome[:256], callback_due=due)
                )
            host = httpx.URL(job.callback_url).host
            level = logging.INFO if succeeded(outcome) else logging.WARNING
            log.log(
                level,
                "job %s: callback to %s, attempt %d: %s%s",
                job.id,
                host,
                attempts,
                outcome,
                "" if due or succeeded(outcome) else " (given up)",
            )
        except Exception:
            log.exception("job %s: callback attempt failed", job.id)
        finally:
            with self._lock:
                self._calling.discard(payer)
            self._busy.release()
            self._wake.set()
