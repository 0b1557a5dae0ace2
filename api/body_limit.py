"""Request bodies are refused as they come in, not after they have landed on disk.

Each route has the largest body it can need (``limits``: one file for ``/ocr`` and ``/chat``, a batch for
``/batch/ocr``, ``/jobs`` and Gradio's uploads, ``max_images`` base64 images for ``/v1/chat/completions``, the
4 MiB the MCP transport reads for its messages, one base64 file for Gradio's other calls (JSON, parsed in memory:
their files come as uploads), a little for everything else), plus ``SLACK`` for the multipart framing and form
fields. A ``Content-Length`` over it gets 413 at once, before a byte of the body is read; a body sent without one
(chunked) is counted as it streams in and gets 413 as soon as it passes the limit, so at most the limit is ever
spooled to a temporary file. The count so far is kept in the request's state (``body_bytes``).
(Gradio's upload route also refuses each file over ``limits.max_file_bytes`` as it streams; this bounds the request.)
A chat body's JSON text besides its images' data: URLs (:mod:`api.json_text`) is bounded as it comes in too (413),
and its bodies past :data:`LARGE_BODY` are read a few at a time (429 past a client's own, 503 past all).
A JSON body with more than :data:`MAX_JSON_ITEMS` items (an MCP message: :data:`MCP_ITEMS`, of them
:data:`MCP_CONTAINERS` objects and lists) is refused as it comes in too (400): parsing costs memory and time per
item, not per byte. So are a multipart body's fields, and its files on the REST routes (:mod:`api.form_parts`): the
parsers keep them in memory until the handler runs. A file route's body (spooled to the temporary folder, or Gradio's
upload folder) is refused with 503 and ``Retry-After`` when the disk it lands on would keep less than
``limits.min_free_disk_mb`` free: a client sending files as fast as it can fills the disk before their lifetime
ends, and the server then fails at everything it writes (jobs, logs, its database).
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import tempfile

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inference.callers import address_caller
from inference.errors import SHORT_OF_DISK
from inference.limit_settings import JSON_SLACK
from inference.settings import LimitSettings

from .errors import MCP, error_response
from .form_parts import FormParts, boundary_of
from .json_text import MAX_STRINGS, JsonText, text_allowance

SLACK = JSON_SLACK  # multipart boundaries and headers, form fields, JSON around the images
# A JSON body's separators and containers (',', '{', '['), counted as it streams in: parsed, each item costs ~100
# bytes of memory, and a /v1 body of 28 MiB of '{}' took 766 MB before its validation refused it. Real bodies have
# a few thousand (their images are base64 strings, their prompts at most limits.max_prompt_chars each).
MAX_JSON_ITEMS = 200_000
MCP_ITEMS = 10_000  # an MCP message's: a tool call has a few dozen (parsed twice, once on the event loop: ~3 us each)
MCP_CONTAINERS = 2_000  # an MCP message's objects and lists ('{', '['): each costs more (a tool call has ~10)
SMALL = 64 * 1024  # the sign-in form
RETRY = {"Retry-After": "5"}
MCP_BODY = 4 * 1024 * 1024  # the MCP transport refuses a longer message (mcp.server.transport_security's default)
# A /v1 body of many images (up to ~200 MiB of base64) takes ~4 times its size while it is parsed and its images
# decoded: 12 sent at once took 7.4 GB. Bodies past LARGE_BODY are taken a few at a time, a client's two at most.
LARGE_BODY = 32 * 1024 * 1024
LARGE_BODIES, LARGE_BODIES_EACH = 4, 2
CHAT_JSON = re.compile(r"^/v1/chat/completions/?$")  # images as data: URLs in JSON: its text is counted apart
ON_DISK = re.compile(r"^/(?:ocr|chat|batch/ocr|jobs)/?$|^/+gradio_api/+upload/*$")  # multipart bodies, spooled to disk

log = logging.getLogger(__name__)


def route_limits(limits: LimitSettings) -> list[tuple[re.Pattern, int, str]]:
    """(path pattern, largest body, what sets it) in order; the last entry matches every path."""
    one_file = limits.max_file_bytes + SLACK
    batch = limits.max_file_bytes * limits.max_batch_files + SLACK
    data_url = limits.data_url_bytes  # a Gradio call's JSON (its files come as uploads, or one as a data: URL)
    images = math.ceil(limits.max_images * limits.max_file_bytes * 4 / 3) + SLACK  # base64 data: URLs in JSON
    files = "limits.max_file_bytes per file, limits.max_batch_files files"
    return [
        (re.compile(r"^/(ocr|chat)/?$"), one_file, "one file of limits.max_file_bytes"),
        (re.compile(r"^/(batch/ocr|jobs)/?$"), batch, files),
        (re.compile(r"^/v1/chat/completions/?$"), images, "limits.max_images images of limits.max_file_bytes"),
        (re.compile(r"^/login/?$"), SMALL, "a sign-in form"),
        (re.compile(r"^/+gradio_api/+upload/*$"), batch, files),  # several files at once, streamed to disk
        # MCP's messages: what its transport reads at most (its tools take data: URLs, ocr_images several)
        (MCP, MCP_BODY, "an MCP message"),
        (re.compile(r"^/+gradio_api/"), data_url, "one file of limits.max_file_bytes as a data: URL"),
        (re.compile(r""), SLACK, "this route takes no file"),  # the other routes take no body worth the name
    ]


def too_many_items(most: int, containers: int) -> str:
    also = f" or {containers:,} objects and lists" if containers < most else ""
    return (
        f"The request's JSON has more than {most:,} items (objects, lists and their elements){also}; no request this "
        "route answers needs that many."
    )


def too_much_text(allowance: int) -> str:
    return (
        f"The request's JSON holds more than {allowance / 1024:,.0f} KiB of text besides its images' data: URLs; a "
        "conversation holds 8 x limits.max_prompt_chars characters at most."
    )


def too_large(limit: int, why: str) -> str:
    return f"The request body is larger than this route takes: {limit / 1024 / 1024:.1f} MiB at most ({why})."


class TooLarge(HTTPException):
    def __init__(self, limit: int, why: str):
        super().__init__(413, too_large(limit, why))


class BodyLimit:
    """ASGI middleware: 413 for a body over its route's limit, from ``Content-Length`` or as the bytes arrive."""

    def __init__(self, app: ASGIApp, limits: LimitSettings):
        self.app = app
        self.limits = route_limits(limits)
        self.min_free = limits.min_free_disk_mb * 1024 * 1024
        self.max_files = limits.max_batch_files
        self.text_allowance = text_allowance(limits.max_prompt_chars)
        self.large: dict[str, int] = {}  # large bodies being read or answered, by client (the event loop's alone)

    def short_of_disk(self, path: str, coming: int) -> bool:
        """Whether a body of ``coming`` bytes to ``path`` would leave less than the free space kept on its disk."""
        if not self.min_free or not ON_DISK.match(path):
            return False
        from gradio.utils import get_upload_folder

        folder = get_upload_folder() if "upload" in path else tempfile.gettempdir()
        try:
            free = shutil.disk_usage(folder).free
        except OSError:  # (a folder not made yet: Gradio makes its own at its first upload)
            free = shutil.disk_usage(tempfile.gettempdir()).free
        if free >= coming + self.min_free:
            return False
        log.warning(
            "refused a %d-byte body to %s: %d MB free, limits.min_free_disk_mb keeps %d",
            coming,
            path,
            free // 2**20,
            self.min_free // 2**20,
        )
        return True

    def limit(self, path: str) -> tuple[int, str]:
        return next((size, why) for pattern, size, why in self.limits if pattern.match(path))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, why = self.limit(scope["path"])
        headers = Headers(scope=scope)
        length = headers.get("content-length", "")
        if length.strip().isdigit() and int(length) > limit:
            await self.refuse(scope, receive, send, limit, why)
            return
        if scope["method"] in ("POST", "PUT") and self.short_of_disk(
            scope["path"], int(length) if length.strip().isdigit() else limit
        ):
            await self.refuse(scope, receive, send, limit, why, 503, SHORT_OF_DISK, {"Retry-After": "60"})
            return
        is_json = not headers.get("content-type", "").lower().startswith("multipart/")  # (Gradio parses JSON whatever
        # the Content-Type says: a body without one is counted too)
        boundary = None if is_json else boundary_of(headers.get("content-type", ""))
        uploads = "upload" in scope["path"]  # (Gradio's upload route writes its files to disk as they come)
        parts = FormParts(boundary, None if uploads else self.max_files) if boundary else None
        received, items, containers, quotes, over, started, large = 0, 0, 0, 0, None, False, None
        text = JsonText() if is_json and CHAT_JSON.match(scope["path"]) else None
        mcp = MCP.match(scope["path"]) is not None
        most, most_containers = (MCP_ITEMS, MCP_CONTAINERS) if mcp else (MAX_JSON_ITEMS, MAX_JSON_ITEMS)
        state = scope.setdefault("state", {})

        async def counted() -> Message:
            nonlocal received, items, containers, quotes, over, large
            if over is not None:
                raise TooLarge(limit, why)
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                received += len(body)
                state["body_bytes"] = received  # (what a Gradio event's body holds: ui.queue_bounds.BODY_BYTES)
                if is_json:
                    opened = body.count(b"{") + body.count(b"[")  # (this chunk's)
                    containers += opened
                    items += body.count(b",") + opened
                if text is not None:
                    quotes += body.count(b'"')  # (strings: each costs the count below a little Python)
                    if quotes <= 2 * MAX_STRINGS:
                        text.feed(body)
                refusal = parts.feed(body) if parts is not None else None  # (a multipart body's parts: api.form_parts)
                if received > limit:
                    over = (413, too_large(limit, why))
                elif items > most or containers > most_containers:
                    over = (400, too_many_items(most, most_containers))
                elif text is not None and quotes > 2 * MAX_STRINGS:
                    over = (400, f"The request's JSON has more than {MAX_STRINGS:,} strings; a conversation needs fewer.")
                elif text is not None and not text.utf8:
                    over = (400, "The request's JSON must be UTF-8 (as JSON is, RFC 8259), not UTF-16 or UTF-32.")
                elif text is not None and text.text > self.text_allowance:
                    over = (413, too_much_text(self.text_allowance))
                elif text is not None and large is None and received > LARGE_BODY:
                    large = self.client(scope)
                    over = self.take_large(large)
                    large = None if over is not None else large
                elif refusal is not None:
                    over = (400, refusal)
                if over is not None:
                    raise TooLarge(limit, why)  # the app's body parsing stops here, whatever it does with the error
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if over is not None and not started:
                return  # the app's own answer to the cut body (a 400, a 413 of its own...) gives way to ours
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if over is None:
                raise
        finally:
            if large is not None:
                self.large[large] -= 1
                if not self.large[large]:
                    del self.large[large]
        if over is not None and not started:
            await self.refuse(scope, receive, send, limit, why, *over)

    @staticmethod
    def client(scope: Scope) -> str:
        """Who sends the body: the key the gatekeeper found (it ran before the body is read), or the address."""
        principal = scope.get("state", {}).get("principal")
        return principal.name if principal is not None else address_caller((scope.get("client") or ("?", 0))[0])

    def take_large(self, client: str) -> tuple[int, str, dict[str, str]] | None:
        """A place for a large body of ``client``'s; the refusal when there is none (429 past its own, 503 past all)."""
        if self.large.get(client, 0) >= LARGE_BODIES_EACH:
            return (429, f"At most {LARGE_BODIES_EACH} requests over {LARGE_BODY >> 20} MiB at once per client.", RETRY)
        if sum(self.large.values()) >= LARGE_BODIES:
            return (503, f"The server is reading {LARGE_BODIES} requests over {LARGE_BODY >> 20} MiB; try again.", RETRY)
        self.large[client] = self.large.get(client, 0) + 1
        return None

    @staticmethod
    async def refuse(
        scope: Scope,
        receive: Receive,
        send: Send,
        limit: int,
        why: str,
        status: int = 413,
        detail: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        headers = {"Connection": "close", **(headers or {})}
        response = error_response(scope["path"], status, detail or too_large(limit, why), headers)
        await response(scope, receive, send)
