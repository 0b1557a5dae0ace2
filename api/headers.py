"""Headers on every answer (REST, the Gradio page and API, the files Gradio serves) that keep a browser from being
turned against the server's users:

- ``X-Content-Type-Options: nosniff``: a file someone uploaded is shown as the type it was served as, never guessed
  into a page that runs its scripts (an HTML file sent as ``x.png`` stays an image).
- ``Content-Security-Policy: frame-ancestors ...``: only this server's own pages, the origins in
  ``auth.allowed_origins`` and ``server.frame_ancestors`` (on a Hugging Face Space, huggingface.co, whose page shows
  the Space in a frame) may show it in a frame, so another site cannot lay the UI under its own buttons
  (clickjacking).
- ``Cache-Control: private`` on an answer to a request that carried a key or a sign-in: a shared cache (a proxy) never
  keeps it for others (Gradio serves files with ``Last-Modified`` and ``ETag``, which invite a proxy to keep them).

A header the app set itself is left as it is."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .security import SESSION_COOKIE, bearer_key, cookie


def frame_ancestors(origins: list[str]) -> str:
    """The frame-ancestors directive: this server and ``origins``."""
    return "frame-ancestors " + " ".join(dict.fromkeys(["'self'", *origins]))


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP answer."""

    def __init__(self, app: ASGIApp, framers: list[str]):
        self.app = app
        self.headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": frame_ancestors(framers)}
        self.private = {**self.headers, "Cache-Control": "private"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        asked = Headers(scope=scope)
        keyed = bearer_key(asked) is not None or cookie(asked, SESSION_COOKIE) is not None
        added = self.private if keyed else self.headers

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)
