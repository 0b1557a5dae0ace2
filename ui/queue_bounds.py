"""Gradio's event queue, bounded for each client and in all.

Gradio queues every event a client joins (``/gradio_api/queue/join``, ``/gradio_api/call/<api_name>``), runs up to
:data:`ui.UI_EVENTS_AT_ONCE` of each event at once, first come first served, and keeps each event's request (its
body parsed) until it has run; its direct calls (``/gradio_api/run/<api_name>``, ``/api/``; the MCP tools) run at
once. There is no bound per client and none in all by default, and a join is not work the rate limit charges (an
event's handler charges its caller when it runs): one key joining 150 ``ocr`` events kept another key's call behind
all of them (189 s), and 40 joins (or direct calls) carrying 25 MB each held 2 GB while they waited.

So each join and each direct call is checked before Gradio takes it: a client (whose rate-limit budget its events
spend: the key, or the address when keys are off) holds at most :data:`EVENTS_PER_CLIENT` of them, queued, running
or called directly (3/4 of an event's places, so that others always find some free), whose bodies come to at most
:data:`CLIENT_BODIES` of the largest a Gradio call may send (a data: URL of a file of ``limits.max_file_bytes``: 4/3
of it, and the JSON around it); past either it is refused 429 with ``Retry-After``. The queue holds at most
:data:`WAITING_EVENTS` waiting events (a join past it is refused), and :data:`ALL_BODIES` such bodies' bytes in all,
which only a body over :data:`SMALL_BODY` is refused for (a few clients' large bodies never keep the others' calls
out); past either, 503 ("busy", ``Retry-After``). Following a job waits on it, not on a model: its events run at once
(no limit of 16), so that two clients' followers do not keep a third's waiting. A body counts the bytes that came
(``api.body_limit`` counts them as they come). (tests/security/test_gradio_queue.py)"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gradio as gr
from fastapi import HTTPException

from inference.errors import note_refusal

from .widgets import caller_of

EVENTS_PER_CLIENT = 12  # events a client holds in the queue at once, waiting or running (UI_EVENTS_AT_ONCE is 16)
WAITING_EVENTS = 256  # events waiting in the whole queue (22 clients at their share)
CLIENT_BODIES = 2  # the bytes of a client's events' bodies, in the largest a Gradio call may send
ALL_BODIES = 32  # every event's bodies, likewise: sixteen clients at their share
SMALL_BODY = 4 * 1024 * 1024  # a body this small (an MCP message, a photo as a data: URL) is never refused for the
# bytes others' events hold
RETRY_S = 5


def body_size(request: Any, largest: int) -> int:
    """The bytes of an event's request body: as many as came (the body limit counts them), else as its
    ``Content-Length`` says, else the largest a Gradio call may send."""
    http = getattr(request, "request", None) if isinstance(request, gr.Request) else request
    received = (getattr(http, "scope", None) or {}).get("state", {}).get("body_bytes")
    if isinstance(received, int):
        return received
    length = str(getattr(http, "headers", {}).get("content-length", ""))
    return int(length) if length.strip().isdigit() else largest


class QueueBounds:
    """The bounds of one Gradio app's events; :meth:`install` puts them in front of its queue and its direct calls."""

    def __init__(self, blocks: gr.Blocks, max_file_bytes: int):
        self.blocks, self.queue = blocks, blocks._queue
        self.largest = max_file_bytes * 4 // 3 + 1024 * 1024  # a data: URL of the largest file, and the JSON around it
        self.client_bytes = CLIENT_BODIES * self.largest
        self.all_bytes = ALL_BODIES * self.largest
        self.unqueued: list[tuple[str | None, int]] = []  # joins being queued (Gradio may await before it holds
        # them) and direct calls running

    def held(self) -> list[tuple[str | None, int]]:
        """(client, body bytes) of each event the queue holds, waiting or running, of each join under way and of
        each direct call running."""
        events = list(self.queue.event_ids_to_events.values())
        return [(caller_of(event.request), body_size(event.request, self.largest)) for event in events] + self.unqueued

    def check(self, client: str | None, size: int, joining: bool = False) -> tuple[int, str] | None:
        """Why a join (``joining``) or a direct call would take the client or the queue past a bound, as (status,
        detail); None if not. (A direct call takes no place in the queue: the waiting events do not refuse it.)"""
        held = self.held()
        mine = [bytes_ for name, bytes_ in held if name == client]
        if client is not None and len(mine) >= EVENTS_PER_CLIENT:
            return 429, (
                f"This client already has {len(mine)} events in the queue (waiting or running): at most "
                f"{EVENTS_PER_CLIENT} at once. Wait for an answer before sending more."
            )
        if client is not None and sum(mine) + size > self.client_bytes:
            return 429, (
                f"This client's events in the queue already carry {sum(mine) / 2**20:.1f} MiB; with this one "
                f"({size / 2**20:.1f} MiB) they would pass {self.client_bytes / 2**20:.1f} MiB. Send files as "
                "uploads (gradio_client does), or wait for an answer first."
            )
        if joining and len(self.queue) >= WAITING_EVENTS:
            return 503, "The server is busy: its queue is full. Try again in a few seconds."
        everyone = sum(bytes_ for _, bytes_ in held)
        if size > SMALL_BODY and everyone + size > self.all_bytes:
            return 503, (
                f"The server is busy: its events in the queue carry {everyone / 2**20:.0f} MiB of request bodies (at "
                f"most {self.all_bytes / 2**20:.0f} MiB). Send the file as an upload, or try again in a few seconds."
            )
        return None

    def install(self) -> None:
        push, process = self.queue.push, self.blocks.process_api
        signature = inspect.signature(process)

        async def bounded_push(body: Any, request: Any, username: str | None) -> Any:
            client, size = caller_of(request), body_size(request, self.largest)
            refusal = self.check(client, size, joining=True)
            if refusal is not None:
                raise HTTPException(status_code=refusal[0], detail=refusal[1], headers={"Retry-After": str(RETRY_S)})
            with self.holding(client, size):
                return await push(body=body, request=request, username=username)

        @functools.wraps(process)
        async def bounded_process_api(*args: Any, **kwargs: Any) -> Any:
            call = signature.bind_partial(*args, **kwargs).arguments
            if call.get("event_id") is not None:  # a queued event's run: the queue holds it, counted above
                return await process(*args, **kwargs)
            request = call.get("request")  # a direct call: /run, /api, MCP, the UI's events that skip the queue
            client, size = caller_of(request), body_size(request, self.largest)
            refusal = self.check(client, size)
            if refusal is not None:
                note_refusal(refusal[0], RETRY_S)  # (the Gradio API answers with it: api.gradio_calls)
                raise gr.Error(refusal[1], print_exception=False)
            with self.holding(client, size):
                return await process(*args, **kwargs)

        self.queue.push = bounded_push
        self.blocks.process_api = bounded_process_api  # type: ignore[method-assign]

    @contextmanager
    def holding(self, client: str | None, size: int) -> Iterator[None]:
        """While inside: a join under way, or a direct call running."""
        entry = (client, size)
        self.unqueued.append(entry)
        try:
            yield
        finally:
            self.unqueued.remove(entry)
