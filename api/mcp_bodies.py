"""The MCP endpoint (``/gradio_api/mcp/``) parses a JSON-RPC body with ``json.loads``: one nested deeper than Python's
parser goes raised ``RecursionError`` there (a 500 and a traceback in the log for a 10 KB request of 5,000 ``[``),
and one that is not text in the encoding it seems to be raised ``UnicodeDecodeError`` (a 500 too), where every other
JSON route answers 400. This guard parses the body first (at most the 4 MiB the MCP transport reads:
:mod:`api.body_limit`; off the event loop), as the endpoint does, and answers one it cannot parse, nested deeper
than :data:`MAX_DEPTH`, or with a lone surrogate (the endpoint's answer could not be written: an empty 200) with
JSON-RPC's parse error (400, code -32700), as the endpoint answers other bad JSON; the others go on to it as they
came. Our tools' calls nest 4 deep."""

from __future__ import annotations

import json
import re
from typing import Any

import anyio
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import MCP, jsonrpc_body

MAX_DEPTH = 64
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")  # \ud800-\udfff: as a JSON escape, or in UTF-8


def deeper_than(document: Any, limit: int) -> bool:
    """Whether a parsed JSON document nests its arrays and objects more than ``limit`` deep (without recursion)."""
    stack = [(document, 1)] if isinstance(document, dict | list) else []
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        items = value.values() if isinstance(value, dict) else value
        stack.extend((item, depth + 1) for item in items if isinstance(item, dict | list))
    return False


def unparsable(body: bytes) -> str | None:
    """Why the endpoint could not parse this body (None: it can), as JSON-RPC's parse error says it."""
    try:
        document = json.loads(body)  # (what the endpoint runs: UTF-8, -16 or -32, as the bytes show)
    except RecursionError:
        return f"the JSON nests deeper than {MAX_DEPTH} levels"
    except ValueError as exc:  # (not JSON; not text in its encoding)
        return str(exc)[:200]
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and deeper_than(document, MAX_DEPTH):  # (fewer: not as deep)
        return f"the JSON nests deeper than {MAX_DEPTH} levels"
    if _SURROGATE.search(body) or json.detect_encoding(body) != "utf-8":  # (a lone one cannot be answered)
        try:
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return "the JSON has a lone surrogate (\\ud800-\\udfff) where text must be Unicode"
    return None


def parse_error(why: str) -> dict[str, Any]:
    return jsonrpc_body(400, f"Parse error: {why}", -32700)


class McpBodyGuard:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or not MCP.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before its body came
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        del chunks
        why = await anyio.to_thread.run_sync(unparsable, body)
        if why is not None:
            await JSONResponse(parse_error(why), status_code=400)(scope, receive, send)
            return
        whole: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        del body  # (held once, by the message the endpoint reads)

        async def replay() -> Message:
            return whole.pop() if whole else await receive()

        await self.app(scope, replay, send)
