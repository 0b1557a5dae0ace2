"""Gradio's sessions, each its caller's (with API keys on).

A Gradio client names its session itself (``session_hash``, random, sent in bodies and in URLs: ``/gradio_api/queue/
data?session_hash=...``), and Gradio ties nothing to who sent it: another key that learnt a session's hash (a proxy's
log keeps URLs) read that session's results from its event stream, and could run events on its state (an attack
pass). So the first key to use a session owns it (:meth:`SessionOwners.claim`), and every other key is refused (403)
at each place a session is named: the events it joins or calls (``/queue/join``, ``/call``, ``/run``, ``/api``:
checked where Gradio has parsed the body, :meth:`SessionOwners.install`) and the routes that name it in their path,
query or a small body (its event stream, heartbeat, deep link, media streams, cancel: :class:`SessionGuard`, around
the mounted Gradio app). With keys off, anyone may do anything: nothing is checked.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qs

import gradio as gr
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inference.errors import note_refusal

from .widgets import caller_of

OTHERS = "This Gradio session belongs to another API key: start your own (a new page, or a new gradio_client Client)."
SESSIONS = 200_000  # sessions and events remembered (~40 MB at most; past it, the least recently used of the caller
# that has the most is forgotten: keys flooding together forget their own, never an idle key's few)...
PER_CALLER = 5_000  # ...and of them, a caller's (its own least recently used forgotten first: one key naming new
# sessions by the thousand forgets its own, never another key's, which it could then claim)
LONGEST = 128  # characters of a session's name (Gradio's are 11; a longer one is refused: each is kept in memory)
CANCEL_BODY = 64 * 1024  # a cancel's body, read to find its session (Gradio's is ~100 bytes; a longer one is refused)

# routes that name a session (or an event: its id is claimed by the caller that queued it) in their path; Gradio's
# /call/<api>/<id> reads a session's stream when <id> is no event of its own
_IN_PATH = re.compile(r"^/gradio_api/(?:heartbeat|stream)/([^/]+)")
_EVENT_IN_PATH = re.compile(r"^/gradio_api/call/(?:v2/)?[^/]+/([^/]+)")  # (GET only: POST /call/v2/<api> is a call)
_IN_QUERY = ("/gradio_api/queue/data", "/gradio_api/deep_link")
_CANCEL = "/gradio_api/cancel"
_FILE = re.compile(r"^/gradio_api/file[=/](.*)$", re.S)  # Gradio's file route (/file/: older clients)


class SessionOwners:
    """Which caller (a key's fingerprint) owns each session; ``enabled`` with API keys on."""

    def __init__(self, enabled: bool, size: int = SESSIONS, per_caller: int = PER_CALLER):
        self.enabled = enabled
        self._owners: OrderedDict[str, str] = OrderedDict()
        self._of: dict[str, OrderedDict[str, None]] = {}  # each caller's sessions, least recently used first
        self._size, self._per_caller = size, per_caller
        self._lock = threading.Lock()

    def claim(self, session: Any, caller: str | None) -> bool:
        """Whether ``caller`` may use ``session`` (or an event's id): the first caller to name it owns it."""
        if not self.enabled or session is None or session == "":
            return True
        if not isinstance(session, str) or len(session) > LONGEST:
            return False
        with self._lock:
            owner = self._owners.setdefault(session, caller or "")
            self._owners.move_to_end(session)
            mine = self._of.setdefault(owner, OrderedDict())
            mine[session] = None
            mine.move_to_end(session)
            if len(mine) > self._per_caller:
                self._forget(next(iter(mine)))
            if len(self._owners) > self._size:  # (the oldest of the caller that has the most: callers are keys, few)
                self._forget(next(iter(max(self._of.values(), key=len))))
        return owner == (caller or "")

    def _forget(self, session: str) -> None:
        owner = self._owners.pop(session)
        mine = self._of[owner]
        del mine[session]
        if not mine:
            del self._of[owner]

    def install(self, blocks: gr.Blocks) -> None:
        """The events a client joins or calls: their session claimed where Gradio has parsed the body."""
        queue, process = blocks._queue, blocks.process_api
        push, signature = queue.push, inspect.signature(process)

        async def owned_push(*args: Any, **kwargs: Any) -> Any:
            body = kwargs["body"] if "body" in kwargs else args[0]  # push(body, request, username)
            request = kwargs["request"] if "request" in kwargs else args[1]
            caller = caller_of(request)
            if not self.claim(getattr(body, "session_hash", None), caller):
                raise HTTPException(status_code=403, detail=OTHERS)
            pushed = await push(*args, **kwargs)  # (success, event_id, state)
            if isinstance(pushed, tuple) and len(pushed) > 1 and pushed[0]:
                self.claim(pushed[1], caller)  # its event's id is the caller's too (GET /call/<api>/<event_id>)
            return pushed

        @functools.wraps(process)
        async def owned_process_api(*args: Any, **kwargs: Any) -> Any:
            call = signature.bind_partial(*args, **kwargs).arguments
            if not self.claim(call.get("session_hash"), caller_of(call.get("request"))):
                note_refusal(403)  # (the Gradio API answers with it: api.gradio_calls)
                raise gr.Error(OTHERS, print_exception=False)
            return await process(*args, **kwargs)

        queue.push = owned_push
        blocks.process_api = owned_process_api  # type: ignore[method-assign]


class SessionGuard:
    """ASGI: the Gradio routes that name a session in their path, query or a cancel's body, refused (403) to any other
    caller than its owner; and Gradio's file route refuses another key's upload as it refuses a file it does not have
    (``uploads``: who sent each, :class:`ui.uploads.Uploads`; any key that knew the path got it: an attack pass)."""

    def __init__(self, app: ASGIApp, owners: SessionOwners, uploads: Any = None):
        self.app = app
        self.owners = owners
        self.uploads = uploads

    def __getattr__(self, name: str) -> Any:  # (the Gradio app's own attributes, as before: ``.blocks``...)
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.owners.enabled:
            await self.app(scope, receive, send)
            return
        path, caller = scope["path"], caller_of_scope(scope)
        served = _FILE.match(path)
        if served is not None and not self._theirs(served.group(1), caller):
            await refuse(send, 403, f"File not allowed: {served.group(1)[:200]}.")  # (Gradio's words for a file it lacks)
            return
        found = _IN_PATH.match(path) or (_EVENT_IN_PATH.match(path) if scope.get("method") == "GET" else None)
        named: list[Any] = [found.group(1)] if found else []
        if path.rstrip("/") in _IN_QUERY:  # (every value: a route reads the last of a repeated one)
            named = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("session_hash", [])
        if path.rstrip("/") == _CANCEL and scope.get("method") == "POST":
            body, receive = await read_small(receive, CANCEL_BODY)
            if body is None:
                await refuse(send, 413, "A cancel's body is ~100 bytes; this one is too large.")
                return
            try:
                named = [json.loads(body).get("session_hash")] if body else []
            except (ValueError, AttributeError):
                named = []  # (not a cancel Gradio reads: it answers that itself)
        if not all(self.owners.claim(session, caller) for session in named):
            await refuse(send)
            return
        await self.app(scope, receive, send)

    def _theirs(self, path: str, caller: str | None) -> bool:
        """Whether ``caller`` may be served the file at ``path``: anything but another caller's upload."""
        try:
            owners = getattr(self.uploads, "owners", {}).get(os.path.realpath(path)) if path else None
        except ValueError:  # (a NUL in the path: no file has that name; Gradio answers 403 as well)
            return False
        return not owners or caller in owners


def caller_of_scope(scope: Scope) -> str | None:
    principal = scope.get("state", {}).get("principal")
    return principal.name if principal is not None else None


async def read_small(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """A request's body (None past ``limit`` bytes: no more is read), and a ``receive`` that gives it again."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False) and size <= limit
    body = b"".join(chunks)
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return (body if size <= limit else None), again


async def refuse(send: Send, status: int = 403, why: str = OTHERS) -> None:
    detail = json.dumps({"detail": why}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(detail)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": detail})
