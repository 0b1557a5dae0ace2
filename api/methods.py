"""A wrong method on a REST path answers 405 with an ``Allow`` header, even though Gradio, mounted at ``/``,
would otherwise take the request (and answer 404); TRACE is refused everywhere. HEAD is answered wherever GET is
(as ``Allow`` says and HTTP asks): the GET's status and headers without its body, under GET's access rules; OPTIONS
is answered with the methods a path takes (a CORS preflight is left to the CORS middleware)."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response
from .gradio_calls import GradioCallGuard


class MethodGuard:
    def __init__(self, app: ASGIApp, api: FastAPI):
        self.app = GradioCallGuard(app)  # and a Gradio API call with a body it cannot use: 400/404, not a bare 500
        self.api = api
        self._routes: list | None = None

    def routes(self) -> list[tuple]:
        """(path regex, allowed methods) of each REST path the OpenAPI schema documents, and of the documentation's
        pages (read once the app is assembled, from its routes as FastAPI walks them for the schema: the same paths
        and methods without building the schema, ~0.15 s of CPU at a server's first request)."""
        if self._routes is None:
            documented: dict[str, set[str]] = {}
            for route in iter_route_contexts(self.api.routes):
                if isinstance(route.original_route, APIRoute) and route.include_in_schema:
                    documented.setdefault(route.path_format, set()).update(route.methods or ())
            self._routes = []
            for path, methods in documented.items():
                pattern = "".join(
                    "[^/]+" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^/}]+\})", path)
                )
                if "GET" in methods:
                    methods.add("HEAD")
                self._routes.append((re.compile(f"^{pattern}$"), methods))
            for route in self.api.routes:  # the documentation's own pages (/docs, /redoc), outside the schema
                page = isinstance(route, Route) and not route.include_in_schema and "GET" in (route.methods or ())
                if page and not any(regex.match(route.path) for regex, _ in self._routes):
                    self._routes.append((route.path_regex, {*route.methods, "HEAD"}))
        return self._routes

    def answers_get(self, path: str) -> bool:
        """Whether a REST path answers GET (then HEAD is answered too)."""
        return any(regex.match(path) and "GET" in methods for regex, methods in self.routes())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            if method == "HEAD" and self.answers_get(path):
                await self.app({**scope, "method": "GET"}, receive, without_body(send))
                return
            for regex, methods in self.routes():
                if not regex.match(path) or method in methods:
                    continue
                if method != "OPTIONS":
                    await self.refuse(scope, receive, send, sorted(methods))
                elif preflight(scope):  # a browser's CORS preflight: the CORS middleware's (when origins are allowed)
                    break
                else:
                    await Response(status_code=204, headers={"Allow": ", ".join(sorted({*methods, "OPTIONS"}))})(
                        scope, receive, send
                    )
                return
            if method in ("TRACE", "CONNECT"):
                await self.refuse(scope, receive, send, [])
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def refuse(scope: Scope, receive: Receive, send: Send, methods: list[str]) -> None:
        allow = ", ".join(methods) or "GET, POST"
        response = error_response(
            scope["path"], 405, f"Method {scope['method']} is not allowed here; use {allow}.", {"Allow": allow}
        )
        await response(scope, receive, send)


def preflight(scope: Scope) -> bool:
    """Whether a request is a CORS preflight (an OPTIONS naming the method it asks for)."""
    return any(name == b"access-control-request-method" for name, _ in scope.get("headers", ()))


def without_body(send: Send) -> Send:
    """``send`` for a HEAD answered as GET: the status and headers (Content-Length included), no body bytes."""

    async def headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return headers_only
