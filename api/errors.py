"""Errors to HTTP, once, for both REST protocols: a typed core error's status and Retry-After come from the kernel's
one table (``inference.errors.http_status`` / ``retry_after``), its sentence is redacted once here, and the body is
the route's protocol: ``{"detail": "..."}`` on the API guide's routes, OpenAI's ``{"error": {...}}`` under /v1
(also inside a stream). Nothing internal leaks."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from inference import for_role
from inference.errors import (
    ChatVLMError,
    ModelUnavailable,
    http_status,
    redact_paths,
    retry_after,
)
from inference.observe import printable

log = logging.getLogger(__name__)

# OpenAI's error type and code for a status, so that the SDKs raise the exception that goes with it
OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}
OPENAI_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded", 503: "service_unavailable"}


def role_of(scope: Any) -> str | None:
    """The role of the caller the gatekeeper found for this request (``admin`` for everyone when keys are off)."""
    principal = scope.get("state", {}).get("principal")
    return getattr(principal, "role", None)


def told(scope: Any, text: str) -> str:
    """``text`` as this request's caller may act on it: with keys on, a user key reads what an administrator can do
    where the text gives the operator's how-to (``inference.audience``)."""
    return for_role(text, role_of(scope)) or ""


def status_of(exc: ChatVLMError) -> int:
    return http_status(exc)


def rest_body(message: str) -> dict[str, Any]:
    """The API guide's error body."""
    return {"detail": redact_paths(message)}


def openai_body(status: int, message: str) -> dict[str, Any]:
    """OpenAI's error body for a status."""
    kind = OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": redact_paths(message), "type": kind, "param": None, "code": OPENAI_CODES.get(status)}}


def openai_error(exc: ChatVLMError) -> dict[str, Any]:
    """A core error as OpenAI's body (an error that ends a stream is sent as one more event in it)."""
    return openai_body(status_of(exc), str(exc))


MCP = re.compile(r"^/+gradio_api/+mcp(?:/|$)")  # the MCP endpoint's paths


def jsonrpc_body(status: int, message: str, code: int | None = None) -> dict[str, Any]:
    """An error as an MCP client reads it: JSON-RPC's (``code``; by default a refusal is an invalid request, -32600,
    and a failure of the server an internal error, -32603)."""
    code = code if code is not None else (-32603 if status >= 500 else -32600)
    return {"jsonrpc": "2.0", "id": "server-error", "error": {"code": code, "message": message}}


def error_response(path: str, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error as this route's clients read it: ``{"detail"}`` on the API guide's routes, OpenAI's
    ``{"error": {...}}`` under /v1 (so the OpenAI SDKs raise the right exception), JSON-RPC's for MCP."""
    if path.startswith("/v1/"):
        body = openai_body(status, message)
    else:
        jsonrpc = MCP.match(path) and not path.rstrip("/").endswith("/schema")  # (the tools' schema: plain JSON)
        body = jsonrpc_body(status, message) if jsonrpc else rest_body(message)
    return JSONResponse(status_code=status, content=body, headers=headers)


def describe_validation(exc: RequestValidationError) -> str:
    """'temperature: Input should be a valid number' for each problem, joined by '; ' (never the input itself,
    never an internal type name)."""
    parts = []
    for error in exc.errors()[:5]:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header", "form")]
        name = ".".join(loc)[:40] or "request"
        message = str(error.get("msg", "is invalid"))
        if error.get("type") == "json_invalid":
            why = str((error.get("ctx") or {}).get("error", ""))[:60]
            parts.append(f"the body is not valid JSON ({why + ' ' if why else ''}at character {loc[0] if loc else 0})")
        elif tuple(error.get("loc", ())) == ("body",) and error.get("type") in ("missing", "model_attributes_type"):
            parts.append("the body must be a JSON object (Content-Type: application/json)")
        elif error.get("type") == "missing":
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
            log.warning("%s %s: %s (%s)", request.method, printable(request.url.path), printable(str(exc), 300), exc.log_detail)
        retry = retry_after(exc)
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return error_response(request.url.path, status, told(request.scope, str(exc)), headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request.url.path, 400, describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(request.url.path, exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, printable(request.url.path), exc_info=exc)
        return error_response(request.url.path, 500, "Internal server error. The server log has the details.")
