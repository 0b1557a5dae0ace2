"""Jobs for long work: POST /jobs (202 + id), list GET /jobs, poll GET /jobs/{id}, fetch GET /jobs/{id}/result, DELETE
cancels."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile

from inference.results import BatchResult, JobList, JobState, JobStatus

from ..deps import ServiceDep
from ..params import OcrQuery, Priority, job_priority, ocr_params
from ..schemas.rest import errors
from ..security import caller

router = APIRouter(prefix="/jobs", tags=["jobs"])


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
