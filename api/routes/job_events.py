"""GET /jobs/{id}/events: a job's pages as server-sent events while it is read (any replica: the store is shared)."""

import asyncio
import json
import time
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from inference.errors import ChatVLMError, NotFound, Overloaded, RateLimited

from ..deps import ServiceDep
from ..schemas.rest import errors
from ..security import caller
from .jobs import principal

router = APIRouter(prefix="/jobs", tags=["jobs"])

# ---- live events -----------------------------------------------------------------------------------------
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


STREAM_EXAMPLE = (
    'event: state\ndata: {"state": "running", "pages_done": 0, "pages_total": 2}\n\n'
    'id: 1\nevent: page\ndata: {"file": "report.pdf", "file_index": 0, "page": 1, "text": "Annual report", "error": null, '
    '"pages_done": 1, "pages_total": 2}\n\n'
    'id: 2\nevent: page\ndata: {"file": "report.pdf", "file_index": 0, "page": 2, "text": "Revenue grew", "error": null, '
    '"pages_done": 2, "pages_total": 2}\n\n'
    'event: end\ndata: {"state": "done", "pages_done": 2, "pages_total": 2, "error": null, '
    '"result_url": "/jobs/5f0c2a9e8b7d4c3a9e1f2b3c4d5e6f70/result"}\n\n'
)


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
            "content": {"text/event-stream": {"schema": EVENT_SCHEMA, "example": STREAM_EXAMPLE}},
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
    slot = _Slot(caller(request.scope) or "-")  # (taken at once, no await before: streams opened together count)
    limit_s = service.limits.request_timeout_s * STREAM_FACTOR
    stream = _events(service, job_id, who, _last_id(last_event_id, after), limit_s, slot)
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(slot.release),  # (a stream never started: its client left before the first byte)
    )


class _Slot:
    """One open stream of a caller, counted from its check (200 streams opened at once by one client, each checked
    before any was counted by its generator, held 33 where 8 are the most): 429 past the caller's share, 503 past the
    process's; given back once, when the stream ends or never starts."""

    def __init__(self, holder: str):
        if _streams[holder] >= STREAMS_PER_CALLER:
            raise RateLimited(f"This key already follows {STREAMS_PER_CALLER} job streams; close one first.", retry_after=5)
        if _streams.total() >= STREAMS_AT_ONCE:
            busy = "This server follows as many job streams as it can now; poll GET /jobs/{id} or retry."
            raise Overloaded(busy, retry_after=10)
        self.holder, self.held = holder, True
        _streams[holder] += 1

    def release(self) -> None:
        if self.held:
            self.held = False
            _streams[self.holder] -= 1
            if not _streams[self.holder]:
                del _streams[self.holder]


async def _events(service, job_id: str, who, last: int, limit_s: float, slot: _Slot):
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
        slot.release()
