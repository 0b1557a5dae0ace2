"""Jobs for long work: POST /jobs (202 + id), list GET /jobs, poll GET /jobs/{id}, fetch GET /jobs/{id}/result, DELETE
cancels."""

from collections.abc import Callable, Coroutine
from dataclasses import asdict
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, File, Header, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute

from inference.idempotency import HEADER, MAX_KEY_CHARS, body_hash, check_key
from inference.results import BatchResult, JobList, JobState, JobStatus

from ..deps import ServiceDep
from ..params import OcrQuery, Priority, job_priority, ocr_params
from ..schemas.rest import ErrorBody, errors
from ..security import caller

router = APIRouter(prefix="/jobs", tags=["jobs"])


def principal(request: Request):
    """Who asks, as the gatekeeper found (the service decides which jobs that is: its one owner rule)."""
    return request.scope.get("state", {}).get("principal")


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        max_length=MAX_KEY_CHARS,
        description="A unique value per job (e.g. a UUID; 1-200 printable ASCII characters): the same request again "
        "with it, from the same key within 24 h, answers 200 with the job it made instead of making another; another "
        "request with a used key is 409.",
        examples=["3f1c9a2e-5b7d-4e8a-9c0f-1a2b3c4d5e6f"],
    ),
]


def submit_job(
    request: Request,
    response: Response,
    service: ServiceDep,
    files: Annotated[list[UploadFile], File(description="Images or documents (PDF, TIFF), as for /batch/ocr")],
    params: Annotated[OcrQuery, Depends(ocr_params)],
    priority: Annotated[Priority, Depends(job_priority)],
    idempotency_key: IdempotencyKey = None,
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
        )

    if idempotency_key is None:
        status = submit()
    else:
        status, made = submit_once(request, service, idempotency_key, items, {**asdict(params), "priority": priority}, submit)
        if not made:
            response.status_code = 200
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


# ---- idempotent submits (Idempotency-Key on POST /jobs) ----------------------------------------------------------
RESERVED = "chatvlm.idempotency_token"  # the request's reservation of its key (a token), in its scope


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
            key, service = check_key(raw), request.app.state.service
            token = await run_in_threadpool(service.reserve_submit, who(request), key)
            request.scope[RESERVED] = token
            try:
                return await handler(request)
            finally:
                if token is not None:
                    with anyio.CancelScope(shield=True):
                        await run_in_threadpool(service.release_submit, who(request), key, token)

        return reserved_first


def submit_once(request, service, key: str, items, params: dict, submit: Callable[[], JobStatus]) -> tuple[JobStatus, bool]:
    """The job of this Idempotency-Key: made by ``submit()`` here, or by the key's first request (waited for)."""
    digest = body_hash(items, params)
    return service.submit_job_once(who(request), key, request.scope.get(RESERVED), digest, submit, principal(request))


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
