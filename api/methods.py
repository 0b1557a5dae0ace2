"""A wrong method on a REST path answers 405 with an ``Allow`` header, even though Gradio, mounted at ``/``,
would otherwise take the request (and answer 404); TRACE is refused everywhere."""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_response


class MethodGuard:
    def __init__(self, app: ASGIApp, api: FastAPI):
        self.app = app
        self.api = api
        self._routes: list | None = None

    def routes(self) -> list[tuple]:
        """(path regex, allowed methods) of each REST path, as the OpenAPI schema documents them (read once the
        app is assembled)."""
        if self._routes is None:
            self._routes = []
            for path, operations in self.api.openapi().get("paths", {}).items():
                pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part)
                                  for part in re.split(r"(\{[^/}]+\})", path))
                methods = {method.upper() for method in operations}
                if "GET" in methods:
                    methods.add("HEAD")
                self._routes.append((re.compile(f"^{pattern}$"), methods))
        return self._routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            for regex, methods in self.routes():
                if regex.match(path) and method not in methods and method != "OPTIONS":
                    await self.refuse(scope, receive, send, sorted(methods))
                    return
            if method in ("TRACE", "CONNECT"):
                await self.refuse(scope, receive, send, [])
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def refuse(scope: Scope, receive: Receive, send: Send, methods: list[str]) -> None:
        allow = ", ".join(methods) or "GET, POST"
        response = error_response(scope["path"], 405, f"Method {scope['method']} is not allowed here; use {allow}.",
                                  {"Allow": allow})
        await response(scope, receive, send)
