"""Response shapes of the REST edge that the core does not define: the error body, and per-route error docs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    detail: str = Field(description="one sentence that says what went wrong and, where it can, what to do")


WHY = {
    400: "Bad request: a missing or invalid parameter, or a file that is not a readable image",
    401: "No API key, or one that is not valid (only when the server has API keys)",
    403: "The key's role may not do this, or the request came from a page on another site",
    404: "Unknown model (the detail lists the valid ids), or unknown or expired job",
    409: "The job has not finished yet: its state is in the detail",
    413: "A file (or the whole request) is larger than the server's limit",
    429: "Too many requests for this key or address, or too many wrong keys from this address; Retry-After says when "
    "to try again",
    503: "The model cannot run here, the server is busy (Retry-After), the request took longer than the server's "
    "time limit, or the GPU ran out of memory",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that can answer these error statuses, each with the ``{"detail"}`` body."""
    return {code: {"model": ErrorBody, "description": WHY[code]} for code in codes}
