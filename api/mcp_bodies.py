"""The MCP endpoint (``/gradio_api/mcp/``) parses a JSON-RPC body nested deeper than Python's parser goes with a
``RecursionError``: a 500 and a traceback in the log for a 10 KB request (5,000 ``[``), where every other JSON route
answers 400. This guard reads such a body (at most the 4 MiB the MCP transport reads: :mod:`api.body_limit`), and
answers one nested deeper than :data:`MAX_DEPTH` with the JSON-RPC parse error (400, code -32700) the endpoint gives
other bodies it cannot parse; the others go on to it as they came. Our tools' calls nest 4 deep. The depth is
counted off the event loop, in C-speed passes over the text (in UTF-8, -16 or -32, as the endpoint's parser reads)."""

from __future__ import annotations

import json
import re

import anyio
import numpy as np
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_DEPTH = 64
MCP = re.compile(r"^/+gradio_api/+mcp(?:/|$)")
_STRING = re.compile(rb'"[^"]*"')  # (once escapes are gone)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENS = np.zeros(256, dtype=np.int8)
_OPENS[[ord("["), ord("{")]] = 1
_OPENS[[ord("]"), ord("}")]] = -1


def json_depth(body: bytes) -> int:
    """How deep a JSON document nests its arrays and objects (brackets inside strings do not count)."""
    try:
        encoding = json.detect_encoding(body)
        if encoding != "utf-8":  # (json.loads reads UTF-16 and -32 bodies too)
            body = body.decode(encoding).encode("utf-8")
    except (UnicodeError, LookupError):
        return 0  # not text: the endpoint's parser says so
    plain = body.replace(b"\\\\", b"").replace(b'\\"', b"")  # escapes read left to right: what is left of '"' ends strings
    brackets = _STRING.sub(b"", plain).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return int(np.cumsum(_OPENS[np.frombuffer(brackets, dtype=np.uint8)], dtype=np.int32).max())


PARSE_ERROR = {
    "jsonrpc": "2.0",
    "id": "server-error",
    "error": {"code": -32700, "message": f"Parse error: the JSON nests deeper than {MAX_DEPTH} levels."},
}


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
        if await anyio.to_thread.run_sync(json_depth, body) > MAX_DEPTH:
            await JSONResponse(PARSE_ERROR, status_code=400)(scope, receive, send)
            return
        whole: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        del body  # (held once, by the message the endpoint reads)

        async def replay() -> Message:
            return whole.pop() if whole else await receive()

        await self.app(scope, replay, send)
