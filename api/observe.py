"""What an operator sees of each request: an ``X-Request-ID`` on every response (the client's, or a new one),
one access-log line that carries it, and the request metrics (``/metrics``)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Protocol

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inference.observe import printable

log = logging.getLogger("chatvlmllm.access")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# probes and a page's assets: not worth a log line each (unless they fail)
QUIET_PATHS = ("/health", "/ready", "/metrics", "/assets/", "/static", "/gradio_api/heartbeat", "/favicon")


class RequestMetrics(Protocol):
    def start_request(self, scope: Scope) -> None: ...

    def end_request(self, scope: Scope, status: int, seconds: float) -> None: ...


def request_id(headers: Headers) -> str:
    """The client's X-Request-ID when it is a sane token, else a new one."""
    given = headers.get("x-request-id", "")
    return given if _SAFE_ID.match(given) else uuid.uuid4().hex


class RequestLog:
    """ASGI middleware: X-Request-ID, the access log line, and the request metrics."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics | None = None):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(Headers(scope=scope))
        scope.setdefault("state", {})["request_id"] = rid
        started, status, logged = time.perf_counter(), 500, False
        if self.metrics is not None:
            self.metrics.start_request(scope)

        async def send_with_id(message: Message) -> None:
            nonlocal status, logged
            if message["type"] == "http.response.start":
                status, logged = message["status"], True
                MutableHeaders(scope=message)["X-Request-ID"] = rid
                self.log_line(scope, status, time.perf_counter() - started, rid)  # before the client has it all
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if not logged:  # the app failed or the client left before a response began
                self.log_line(scope, status, time.perf_counter() - started, rid)
            if self.metrics is not None:
                self.metrics.end_request(scope, status, time.perf_counter() - started)

    @staticmethod
    def log_line(scope: Scope, status: int, seconds: float, rid: str) -> None:
        """One access-log line per request (time to the response's start), with its request id."""
        path = scope["path"]
        if not path.startswith(QUIET_PATHS) or status >= 400:
            principal = scope.get("state", {}).get("principal")
            who = principal.name if principal is not None else "-"
            log.info("%s %s %d %.3fs request_id=%s by=%s", scope.get("method"), printable(path), status, seconds, rid, who)
