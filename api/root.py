"""Content negotiation on ``/``: browsers get the Gradio UI, API clients get the JSON info.

The Gradio app is mounted at ``/`` and owns that path, so this is an ASGI
middleware rather than a route: a GET or HEAD of exactly ``/`` whose Accept
header does not ask for HTML (curl and requests send ``*/*``) is answered with
the API information; everything else passes through untouched.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


def wants_html(accept: str) -> bool:
    return "text/html" in accept.lower()


class RootInfoMiddleware:
    def __init__(self, app: ASGIApp, info: Callable[[], dict]):
        self.app = app
        self.info = info

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] in ("GET", "HEAD"):
            headers = dict(scope.get("headers") or [])
            accept = headers.get(b"accept", b"").decode("latin-1")
            if not wants_html(accept):
                await JSONResponse(self.info(), headers={"Vary": "Accept"})(scope, receive, send)
                return
        await self.app(scope, receive, send)
