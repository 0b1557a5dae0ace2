"""Jobs for long work: POST /jobs (202 + id), list GET /jobs, poll GET /jobs/{id}, fetch GET /jobs/{id}/result, DELETE
cancels."""

import asyncio
import json
import time
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from inference.errors import ChatVLMError, NotFound, Overloaded, RateLimited
from inference.results import BatchResult, JobList, JobState, JobStatus

from ..deps import ServiceDep
from ..params import OcrQuery, Priority, job_priority, ocr_params
from ..schemas.rest import errors
from ..security import caller

router = APIRouter(prefix="/jobs", tags=["jobs"])

CALLBACK_URL = (
    "http(s) URL POSTed to when the job ends: {id, state, pages_done, pages_total, result_url}, signed in the "
    "X-ChatVLM-Signature header (t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>' with the server's "
    "jobs.callback_secret); retried with backoff until it answers 2xx. Public addresses only, unless the server "
    "allows private ones."
)


def principal(request: Request):
    """Who asks, as the gatekeeper found (the service decides which jobs that is: its one owner rule)."""
    return request.scope.get("state", {}).get("principal")


@router.post("", status_code=202, response_model=JobStatus, responses=errors(400, 403, 404, 413, 429, 503))
def submit_job(
    request: Request,
    response: Response,
    service: ServiceDep,
    files: Annotated[list[UploadFile], File(description="Images or documents (PDF, TIFF), as for /batch/ocr")],
    params: Annotated[OcrQuery, Depends(ocr_params)],
    priority: Annotated[Priority, Depends(job_priority)],
    callback_url: Annotated[str | None, Form(max_length=2048, description=CALLBACK_URL)] = None,
) -> JobStatus:
    """Queue OCR of many files or long documents; answers at once with the job's id (poll GET /jobs/{id}). Over the
    key's quotas (``limits.max_jobs_per_key`` unfinished jobs, ``limits.max_pages_per_key`` pages still to read):
    429 with Retry-After."""
    items = [(f.filename or f"file{i + 1}", f.file) for i, f in enumerate(files)]
    status = service.submit_job(
        items,
        params.model,
        params.language,
        params.pages,
        params.force_ocr,
        principal(request),
        caller(request.scope),
        priority,
        callback_url,
    )
    response.headers["Location"] = f"/jobs/{status.id}"
    return status


@router.get("", response_model=JobList, responses=errors(400))
def list_jobs(
    request: Request,
    service: ServiceDep,
    state: Annotated[JobState | None, Query(description="only the jobs in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="jobs per page (1-100)")] = 20,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
) -> JobList:
    """The caller's jobs, newest first, a page at a time (an admin key: everyone's, each with its owner's key
    fingerprint); each as GET /jobs/{id} answers."""
    return service.job_listing(principal(request), state, limit, cursor)


@router.get("/{job_id}", response_model=JobStatus, responses=errors(404))
def job_status(job_id: str, request: Request, service: ServiceDep) -> JobStatus:
    """A job's state (queued, running, done, failed, cancelled) and its pages done out of the total."""
    return service.job(job_id, principal(request))


@router.get("/{job_id}/result", response_model=BatchResult, responses=errors(404, 409))
def job_result(job_id: str, request: Request, service: ServiceDep) -> BatchResult:
    """A finished job's result, as POST /batch/ocr answers (409 while it is not done)."""
    return service.job_result(job_id, principal(request))


@router.delete("/{job_id}", response_model=JobStatus, responses=errors(404))
def cancel_job(job_id: str, request: Request, service: ServiceDep) -> JobStatus:
    """Cancel a job (queued or running) and delete it with its result; answers its last state. Afterwards the job
    is gone (404)."""
    return service.cancel_job(job_id, principal(request))


# ---- issue 20: live events -----------------------------------------------------------------------------------------
ENDED = ("done", "failed", "cancelled")
EVENT_POLL_S = 0.4  # how often a stream asks the store for what is new (any replica answers: the store is shared)
KEEPALIVE_S = 15.0  # a comment line when nothing was sent for this long (proxies close silent connections)
STREAM_FACTOR = 4  # a stream lasts at most limits.request_timeout_s x this; the client reconnects with Last-Event-ID
STREAMS_PER_CALLER = 8  # streams one key (or client address) may hold open at once in one process
STREAMS_AT_ONCE = 256  # streams open in one process, every key's (each polls the store from the thread pool)
PAGES_PER_POLL = 100
MAX_EVENT_ID = 2**31 - 1  # (a larger one is a page no job has)
EVENT_SCHEMA = {  # one event (OpenAPI before 3.2: the schema of a text/event-stream is each event's)
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["state", "page", "end"]},
        "data": {"type": "string", "contentMediaType": "application/json", "description": "the event's JSON"},
        "id": {"type": "string", "description": "a page's: the job's pages_done just after it was written"},
        "retry": {"type": "integer"},
    },
}
_streams: Counter[str] = Counter()  # open streams by caller (this process's event loop only touches it)


def sse(event: str, data: dict, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _last_id(header: str | None, query: int | None) -> int:
    if query is not None:
        return query
    try:
        return min(max(0, int((header or "0").strip())), MAX_EVENT_ID)
    except ValueError:
        return 0


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={
        **errors(400, 404, 429, 503),
        200: {
            "content": {"text/event-stream": {"schema": EVENT_SCHEMA}},
            "description": "server-sent events: 'state' {state, pages_done, pages_total} when the state changes, 'page' "
            "{file, file_index, page, text, error, pages_done, pages_total} for each page as it is written (its id: "
            "the job's pages_done then), and a last 'end' {state, pages_done, pages_total, error, result_url}",
        },
    },
)
async def job_events(
    job_id: str,
    request: Request,
    service: ServiceDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", description="the id of the last page received")] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_EVENT_ID, description="as Last-Event-ID, for clients that cannot set headers")
    ] = None,
) -> StreamingResponse:
    """A job's progress as server-sent events, until it ends (then an ``end`` event, and the stream closes): the pages
    already read come first (only those after ``Last-Event-ID`` when given), then each page as it is written. A
    stream closes after ``limits.request_timeout_s`` x 4 even if the job goes on: reconnect with Last-Event-ID (an
    EventSource does). At most 8 open streams per key (more: 429), 256 per server process (more: 503)."""
    who = principal(request)
    status, _ = await run_in_threadpool(service.job_progress, job_id, who, 0, 0)  # 404 for another key's job
    if status is None:
        raise NotFound(f"No job '{job_id[:64]}': it never existed, it expired, or it is another key's.")
    holder = caller(request.scope) or "-"
    if _streams[holder] >= STREAMS_PER_CALLER:
        raise RateLimited(f"This key already follows {STREAMS_PER_CALLER} job streams; close one first.", retry_after=5)
    if _streams.total() >= STREAMS_AT_ONCE:
        raise Overloaded("This server follows as many job streams as it can now; poll GET /jobs/{id} or retry.", retry_after=10)
    limit_s = service.limits.request_timeout_s * STREAM_FACTOR
    stream = _events(service, job_id, who, _last_id(last_event_id, after), limit_s, holder)
    return StreamingResponse(
        stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


async def _events(service, job_id: str, who, last: int, limit_s: float, holder: str):
    _streams[holder] += 1
    try:
        deadline = time.monotonic() + limit_s
        said, state, status = time.monotonic(), None, None
        yield "retry: 2000\n\n"
        while True:
            try:
                status, pages = await run_in_threadpool(service.job_progress, job_id, who, last, PAGES_PER_POLL)
            except ChatVLMError:  # the store does not answer now: asked again at the next poll
                pages = []
            else:
                if status is None:  # deleted (cancelled) or expired
                    yield sse("end", {"state": "cancelled", "pages_done": None, "pages_total": None, "error": None})
                    return
                if status.state not in ENDED and status.state != state:
                    state = status.state
                    yield sse("state", {"state": state, "pages_done": status.pages_done, "pages_total": status.pages_total})
                for page in pages:
                    last = page.seq
                    yield sse("page", page.model_dump(exclude={"seq"}), page.seq)
                if pages:
                    said = time.monotonic()
                if len(pages) == PAGES_PER_POLL:
                    continue  # more are there now
                if status.state in ENDED:
                    keys = ("state", "pages_done", "pages_total", "error", "result_url")
                    yield sse("end", {key: getattr(status, key) for key in keys})
                    return
            if time.monotonic() > deadline:
                yield ": this stream's time is up (limits.request_timeout_s x 4); reconnect with Last-Event-ID\n\n"
                return
            if time.monotonic() - said > KEEPALIVE_S:
                said = time.monotonic()
                yield ": keep-alive\n\n"
            await asyncio.sleep(EVENT_POLL_S)
    finally:
        _streams[holder] -= 1
        if not _streams[holder]:
            del _streams[holder]
