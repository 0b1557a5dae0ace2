"""Errors to HTTP, once: typed core errors -> status + {"detail": "..."}; nothing internal leaks."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from inference.errors import (
    ChatVLMError,
    ModelUnavailable,
    http_status,
    redact_paths,
    retry_after,
)

log = logging.getLogger(__name__)

def status_of(exc: ChatVLMError) -> int:
    return http_status(exc)


def error_response(path: str, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error as this route's clients read it: ``{"detail"}`` on the API guide's routes, OpenAI's
    ``{"error": {...}}`` under /v1 (so the OpenAI SDKs raise the right exception)."""
    message = redact_paths(message)
    if path.startswith("/v1/"):
        from .openai_schemas import error_body

        return JSONResponse(status_code=status, content=error_body(status, message), headers=headers)
    return JSONResponse(status_code=status, content={"detail": message}, headers=headers)


def describe_validation(exc: RequestValidationError) -> str:
    """'temperature: Input should be a valid number' for each problem, joined by '; ' (never the input itself,
    never an internal type name)."""
    parts = []
    for error in exc.errors()[:5]:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header", "form")]
        name = ".".join(loc)[:40] or "request"
        message = str(error.get("msg", "is invalid"))
        if error.get("type") == "missing":
            parts.append(f"'{name}' is required")
        elif "UploadFile" in message or "<class" in message:
            parts.append(f"'{name}' must be a file sent as a multipart/form-data file part")
        else:
            parts.append(f"{name}: {message[:120]}")
    return "; ".join(parts) or "The request is invalid."


def install(app: FastAPI) -> None:
    @app.exception_handler(ChatVLMError)
    async def core_error(request: Request, exc: ChatVLMError) -> JSONResponse:
        status = status_of(exc)
        if isinstance(exc, ModelUnavailable) and exc.log_detail:
            log.warning("%s %s: %s (%s)", request.method, request.url.path, exc, exc.log_detail)
        retry = retry_after(exc)
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return error_response(request.url.path, status, str(exc), headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request.url.path, 400, describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(request.url.path, exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(request.url.path, 500, "Internal server error. The server log has the details.")
