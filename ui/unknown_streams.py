"""Event streams of sessions Gradio has nothing for, answered without a traceback in the log.

Gradio answers a stream of a session it holds no events for (``GET /gradio_api/queue/data?session_hash=...``, and
``GET /gradio_api/call/<api>/<event_id>`` of an unknown event) by starting the stream, sending its "session not found"
message and then raising, so that every such request wrote two tracebacks (~16 KB) to the log: anyone could fill the
server's disk with them at a request's price (an attack pass). :class:`UnknownStreams`, around the mounted Gradio app,
sends the same message itself and ends the stream cleanly; a session or event Gradio holds goes to Gradio as before.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

_QUEUE_DATA = "/gradio_api/queue/data"
_CALL = re.compile(r"^/gradio_api/call/(?:v2/)?[^/]+/([^/]+)$")
# what Gradio's stream sends before it raises, in each route's own framing (gradio/routes.py, queue_data_helper)
NOT_FOUND = {
    "queue": "data: "
    + json.dumps(
        {"msg": "unexpected_error", "event_id": None, "message": "404: Not Found", "session_not_found": True, "success": False},
        separators=(",", ":"),
    )
    + "\n\n",
    "call": 'event: error\ndata: "404: Not Found"\n\n',
}


class UnknownStreams:
    """ASGI, around the mounted Gradio app: the event streams of sessions (and events) its queue does not hold, answered
    here as Gradio answers them, without raising."""

    def __init__(self, app: ASGIApp, queue: Any):
        self.app = app
        self.queue = queue  # (the Blocks' queue: its pending sessions and events)

    def __getattr__(self, name: str) -> Any:  # (the Gradio app's own attributes, as before: ``.blocks``...)
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = self.unknown(scope) if scope["type"] == "http" and scope.get("method") == "GET" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        headers = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": NOT_FOUND[kind].encode()})

    def unknown(self, scope: Scope) -> str | None:
        """The kind ("queue" or "call") of a stream of a session the queue does not hold (as Gradio finds the session), else None
        (Gradio answers: a stream it holds, or a request it refuses itself, such as one without a session)."""
        path = scope["path"]
        if path == _QUEUE_DATA:
            named = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True).get("session_hash")
            return "queue" if named and named[-1] not in self.queue.pending_messages_per_session else None  # (the last)
        found = _CALL.match(path)
        if found is None:
            return None
        event_id = found.group(1)
        event = self.queue.event_ids_to_events.get(event_id)
        session = event.session_hash if event is not None else None
        if session is None:
            pending = self.queue.pending_event_ids_session.items()
            session = next((s for s, ids in pending if event_id in ids), event_id)
        return "call" if session not in self.queue.pending_messages_per_session else None
