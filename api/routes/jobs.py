"""Jobs for long work: POST /jobs (202 + id), list GET /jobs, poll GET /jobs/{id}, fetch GET /jobs/{id}/result, DELETE
cancels."""

import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, File, Form, Header, Path, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute

from inference.results import BatchResult, JobList, JobState, JobStatus

from ..deps import ServiceDep
from ..params import OcrQuery, Priority, job_priority, ocr_params
from ..result_response import ResultResponse
from ..schemas.rest import ErrorBody, errors
from ..security import caller

router = APIRouter(prefix="/jobs", tags=["jobs"])
JOB_ID = "5f0c2a9e8b7d4c3a9e1f2b3c4d5e6f70"  # the schema's example id
JobId = Annotated[str, Path(description="the job's id, as POST /jobs answered it", examples=[JOB_ID])]
HEADER = "Idempotency-Key"  # what the service checks (inference/idempotency.py check_key), said in the schema:
MAX_KEY_CHARS, KEY_PATTERN = 200, r"^[ -~]*[!-~][ -~]*$"  # 1-200 printable ASCII characters, not only spaces

CALLBACK_URL = (
    "http(s) URL POSTed to when the job ends: {id, state, pages_done, pages_total, result_url}, signed in the "
    "X-ChatVLM-Signature header (t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>' with the server's "
    "jobs.callback_secret); retried with backoff until it answers 2xx. Public addresses only, unless the server "
    "allows private ones."
)


def principal(request: Request):
    """Who asks, as the gatekeeper found (the service decides which jobs that is: its one owner rule)."""
    return request.scope.get("state", {}).get("principal")


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=MAX_KEY_CHARS,
        pattern=KEY_PATTERN,
        description="A unique value per job (e.g. a UUID; 1-200 printable ASCII characters): the same request again "
        "with it, from the same key within 24 h, answers 200 with the job it made instead of making another; another "
        "request with a used key is 409.",
        examples=["3f1c9a2e-5b7d-4e8a-9c0f-1a2b3c4d5e6f"],
    ),
]


async def submit_job(
    request: Request,
    response: Response,
    service: ServiceDep,
    files: Annotated[list[UploadFile], File(description="Images or documents (PDF, TIFF), as for /batch/ocr")],
    params: Annotated[OcrQuery, Depends(ocr_params)],
    priority: Annotated[Priority, Depends(job_priority)],
    idempotency_key: IdempotencyKey = None,
    callback_url: Annotated[str | None, Form(max_length=2048, description=CALLBACK_URL)] = None,
) -> JobStatus:
    """Queue OCR of many files or long documents; answers at once with the job's id (poll GET /jobs/{id}). Over the
    key's quotas (``limits.max_jobs_per_key`` unfinished jobs, ``limits.max_pages_per_key`` pages still to read):
    429 with Retry-After. With an ``Idempotency-Key`` header, the same request again (same key, same caller, within
    24 h) answers 200 with the job the first one made, even while the first is still being received; another
    request with a used key is 409."""
    items = [(f.filename or f"file{i + 1}", f.file) for i, f in enumerate(files)]

    def submit() -> JobStatus:
        return service.submit_job(
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

    if idempotency_key is None:
        status = await run_in_threadpool(submit)
    else:
        params_given = {**asdict(params), "priority": priority, "callback_url": callback_url}
        status, made = await submit_once(request, service, idempotency_key, items, params_given, submit)
        if not made:
            response.status_code = 200
    response.headers["Location"] = f"/jobs/{status.id}"
    return status


@router.get("", response_model=JobList, responses=errors(400))
def list_jobs(
    request: Request,
    service: ServiceDep,
    state: Annotated[JobState | None, Query(description="only the jobs in this state", examples=["running"])] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="jobs per page (1-100)", examples=[20])] = 20,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page", examples=[f"1764662400.0-{JOB_ID}"])
    ] = None,
) -> JobList:
    """The caller's jobs, newest first, a page at a time (an admin key: everyone's, each with its owner's key
    fingerprint); each as GET /jobs/{id} answers."""
    return service.job_listing(principal(request), state, limit, cursor)


@router.get("/{job_id}", response_model=JobStatus, responses=errors(404))
def job_status(job_id: JobId, request: Request, service: ServiceDep) -> JobStatus:
    """A job's state (queued, running, done, failed, cancelled) and its pages done out of the total."""
    return service.job(job_id, principal(request))


@router.get("/{job_id}/result", response_model=BatchResult, responses=errors(404, 409, 429, 503))
def job_result(job_id: JobId, request: Request, service: ServiceDep) -> ResultResponse:
    """A finished job's result, as POST /batch/ocr answers (409 while it is not done); written out as it is read from
    the store, a few pages at a time (a long job's is never held whole; read too slowly, it is stopped)."""
    return ResultResponse(service.job_result_json(job_id, principal(request)), job_id[:64])


@router.delete("/{job_id}", response_model=JobStatus, responses=errors(404))
def cancel_job(job_id: JobId, request: Request, service: ServiceDep) -> JobStatus:
    """Cancel a job (queued or running) and delete it with its result; answers its last state. Afterwards the job
    is gone (404)."""
    return service.cancel_job(job_id, principal(request))


# ---- idempotent submits (Idempotency-Key on POST /jobs) ----------------------------------------------------------
RESERVED = "chatvlm.idempotency_token"  # the request's reservation of its key (a token), in its scope
WAIT_POLL_S = 0.1  # how often a request looks whether its key's first request has made its job at first...
WAIT_POLL_MAX_S = 1.0  # ...then less and less often, down to this
MAX_WAITING = 4  # a caller's requests waiting for their keys' first requests at once (more: 409 at once)
_waiting: dict[str, int] = {}  # (per process: the event loop's, so no lock)


def who(request: Request) -> str:
    """Whose Idempotency-Keys these are: the caller the quotas use (a key's fingerprint, or the client's address)."""
    return caller(request.scope) or "anonymous"


class ReservedFirst(APIRoute):
    """POST /jobs with an Idempotency-Key reserves the key before its body is received (a slow upload holds it),
    and releases it if the request made no job."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def reserved_first(request: Request) -> Response:
            raw = request.headers.get(HEADER)
            if raw is None:
                return await handler(request)
            key, service = raw, request.app.state.service
            token = await run_in_threadpool(service.reserve_submit, who(request), key)  # checks the key (400)
            request.scope[RESERVED] = token
            try:
                return await handler(request)
            finally:
                if token is not None:
                    with anyio.CancelScope(shield=True):
                        await run_in_threadpool(service.release_submit, who(request), key, token)

        return reserved_first


async def submit_once(
    request: Request, service, key: str, items, params: dict, submit: Callable[[], JobStatus]
) -> tuple[JobStatus, bool]:
    """The job of this Idempotency-Key: made by ``submit()`` here, or by the key's first request, waited for (at most
    ``limits.request_timeout_s``) between looks at the store (reads, more and more spaced), without holding a thread;
    a caller's requests past MAX_WAITING waiting at once get their answer now (409 while the first is received)."""
    digest = await run_in_threadpool(service.job_request_hash, items, params)
    token, who_asks, deadline = request.scope.get(RESERVED), who(request), time.monotonic() + service.limits.request_timeout_s
    waits = token is None  # (another request holds the key, or made its job)
    crowded = waits and _waiting.get(who_asks, 0) >= MAX_WAITING  # (240 waiters took a core: an attack pass)
    if waits:
        _waiting[who_asks] = _waiting.get(who_asks, 0) + 1
    try:
        pause = WAIT_POLL_S
        while True:
            last = crowded or time.monotonic() >= deadline
            answer = await run_in_threadpool(
                service.submit_job_once, who_asks, key, token, digest, submit, principal(request), last
            )
            if answer is not None:
                return answer
            await anyio.sleep(pause)
            pause = min(WAIT_POLL_MAX_S, pause * 1.5)
    finally:
        if waits:
            _waiting[who_asks] -= 1
            if not _waiting[who_asks]:
                del _waiting[who_asks]


router.add_api_route(
    "",
    submit_job,
    methods=["POST"],
    status_code=202,
    response_model=JobStatus,
    responses={
        **errors(400, 403, 404, 413, 429, 503),
        200: {"model": JobStatus, "description": "The job an earlier request with the same Idempotency-Key made"},
        409: {
            "model": ErrorBody,
            "description": "The Idempotency-Key was used for another request, or its first request is still being received",
        },
    },
    route_class_override=ReservedFirst,
)


# ---- examples in the OpenAPI schema (every jobs endpoint: its request and its answers) ---------------------------
RUNNING_JOB = {
    "id": JOB_ID,
    "state": "running",
    "model": "embedded",
    "files": 2,
    "pages_done": 3,
    "pages_total": 12,
    "error": None,
    "created_at": 1764662400.0,
    "started_at": 1764662401.2,
    "ended_at": None,
    "expires_at": None,
    "result_url": None,
    "priority": "normal",
    "owner": None,
}
QUEUED_JOB = {**RUNNING_JOB, "state": "queued", "pages_done": 0, "pages_total": None, "started_at": None}
DONE_JOB = {
    **RUNNING_JOB,
    "state": "done",
    "pages_done": 12,
    "ended_at": 1764662437.9,
    "expires_at": 1765267237.9,
    "result_url": f"/jobs/{JOB_ID}/result",
}
CANCELLED_JOB = {**RUNNING_JOB, "state": "cancelled", "ended_at": 1764662410.5}
RESULT = {
    "results": [
        {
            "filename": "report.pdf",
            "text": "Annual report 2025\n\nRevenue grew by 12%.",
            "processing_time": 35.1,
            "status": "success",
            "error": None,
            "image_size": [1654, 2339],
            "pages": [
                {
                    "page": 1,
                    "text": "Annual report 2025",
                    "lines": [],
                    "processing_time": 2.9,
                    "source": "ocr",
                    "image_size": [1654, 2339],
                    "warnings": [],
                    "error": None,
                }
            ],
        },
        {
            "filename": "broken.pdf",
            "text": "",
            "processing_time": 0.01,
            "status": "error",
            "error": "'broken.pdf' is not a readable PDF (corrupt or truncated).",
            "image_size": None,
            "pages": None,
        },
    ],
    "total": 2,
    "successful": 1,
    "failed": 1,
    "model": "embedded",
    "processing_time": 37.5,
}
SUBMIT_FORM = {
    "files": ["report.pdf", "scan.png"],
    "model": "embedded",
    "language": "en",
    "pages": "1-10",
    "priority": "normal",
    "callback_url": "https://hooks.example.com/chatvlm",
}


def _json(example: object, description: str | None = None) -> dict:
    answer: dict = {"content": {"application/json": {"example": example}}}
    return {**answer, "description": description} if description else answer


def _error(detail: str) -> dict:
    return _json({"detail": detail})


EXAMPLES: dict[tuple[str, str], dict] = {
    ("POST", "/jobs"): {
        "openapi_extra": {"requestBody": {"content": {"multipart/form-data": {"example": SUBMIT_FORM}}}},
        "responses": {
            202: _json(QUEUED_JOB),
            200: _json(QUEUED_JOB),
            409: _error(
                f"This Idempotency-Key was used for another request (other files or parameters) that made job {JOB_ID}; "
                "send a new key for a new job, or the same request to get that job."
            ),
            429: _error(
                "This key has 20 unfinished jobs, its quota (limits.max_jobs_per_key); wait for one to end or cancel one."
            ),
        },
    },
    ("GET", "/jobs"): {"responses": {200: _json({"jobs": [RUNNING_JOB, DONE_JOB], "next_cursor": f"1764662400.0-{JOB_ID}"})}},
    ("GET", "/jobs/{job_id}"): {
        "responses": {
            200: _json(RUNNING_JOB),
            404: _error(f"No job '{JOB_ID}': it never existed, it expired, or it is another key's."),
        }
    },
    ("GET", "/jobs/{job_id}/result"): {
        "responses": {
            200: _json(RESULT),
            409: _error(f"Job {JOB_ID} is running; its result is there once it is done (3 of 12 pages read so far)."),
        }
    },
    ("DELETE", "/jobs/{job_id}"): {"responses": {200: _json(CANCELLED_JOB)}},
}


def _add_examples() -> None:
    """Each jobs route's examples, merged into what its decorator declared (its models and error bodies stay)."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        for method in route.methods:
            extra = EXAMPLES.get((method, route.path))
            if extra is None:
                continue
            for code, answer in extra.get("responses", {}).items():
                route.responses[code] = {**route.responses.get(code, {}), **answer}
            route.openapi_extra = {**(route.openapi_extra or {}), **extra.get("openapi_extra", {})}


_add_examples()
