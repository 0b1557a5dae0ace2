"""Errors to HTTP, once: typed core errors -> status + {"detail": "..."}; nothing internal leaks."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from inference.errors import (
    BadInput,
    ChatVLMError,
    ConfigError,
    ModelUnavailable,
    Overloaded,
    PayloadTooLarge,
    UnknownModel,
)

log = logging.getLogger(__name__)

STATUS = [  # most specific first
    (PayloadTooLarge, 413),
    (BadInput, 400),
    (UnknownModel, 404),
    (ModelUnavailable, 503),
    (Overloaded, 503),
    (ConfigError, 500),
]


def status_of(exc: ChatVLMError) -> int:
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 500)


def _detail(status: int, detail: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail})


def describe_validation(exc: RequestValidationError) -> str:
    """'temperature: Input should be a valid number' for each problem, joined by '; '."""
    parts = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header", "form")]
        name = ".".join(loc) or "request"
        if error.get("type") == "missing":
            parts.append(f"'{name}' is required")
        else:
            parts.append(f"{name}: {error.get('msg', 'is invalid')}")
    return "; ".join(parts) or "The request is invalid."


def install(app: FastAPI) -> None:
    @app.exception_handler(ChatVLMError)
    async def core_error(request: Request, exc: ChatVLMError) -> JSONResponse:
        return _detail(status_of(exc), str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _detail(400, describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _detail(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return _detail(500, "Internal server error. The server log has the details.")
