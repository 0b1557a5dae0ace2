"""Gradio's event queue, bounded for each client and in all.

Gradio queues every event a client joins (``/gradio_api/queue/join``, ``/gradio_api/call/<api_name>``), runs up to
:data:`UI_EVENTS_AT_ONCE` of each event at once, first come first served, and keeps each event's request (its body
parsed) until it has run; its direct calls (``/gradio_api/run/<api_name>``, ``/api/``; the MCP tools; the UI's
events that skip the queue) run at once. There is no bound per client and none in all by default, and a join is not
work the rate limit charges (an event's handler charges its caller when it runs): one key joining 150 ``ocr`` events
kept another key's call behind all of them (189 s), and 40 joins (or direct calls) carrying 25 MB each held 2 GB.

So each join and each direct call is checked before Gradio takes it (before the file inputs' checks and fetches,
``ui.files``). A client (whose rate-limit budget its events spend: the key, or the address when keys are off):

- holds at most :data:`EVENTS_PER_CLIENT` events in the queue, waiting or running (its share of an event's places,
  as of a model's queue: ``limits.CALLER_SHARE``; so others always find some free);
- and bodies of at most :data:`CLIENT_BODIES` of the largest a Gradio call may send (``limits.data_url_bytes``: a
  data: URL of a file of ``limits.max_file_bytes``), queued or called directly;

past either, 503 with ``Retry-After`` ("This client already has...", as a model's queue says it). Its direct calls
running at once are bounded apart (:data:`DIRECT_PER_CLIENT`), so that its events in the queue never keep out the
UI's own quick events. The queue holds at most :data:`WAITING_EVENTS` waiting events (a join past it is refused
503), and the bodies of :data:`ALL_BODIES` largest calls, which only a body over :data:`SMALL_BODY` is refused for
(503; a few clients' large bodies never keep the others' calls out). A body counts the bytes that came
(``api.body_limit`` counts them as they come). Following a job waits on it, as long as it takes: the follow events
share their own 16 places (:data:`FOLLOWING`), of which a client holds :data:`FOLLOWS_PER_CLIENT` (Gradio runs 40
events at once in all: two keys' followers kept a third's waiting, and unbounded, four keys' kept every event
waiting); a follower ends once its caller has gone (:func:`caller_left`). The waiting events of each type run in
turns between clients, not first come first served: the next place goes to the client with the fewest of that type
running (:meth:`QueueBounds.in_turns`). (tests/security/test_gradio_queue.py, tests/unit/ui/test_queue_bounds.py)"""

from __future__ import annotations

import functools
import inspect
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import gradio as gr
from fastapi import HTTPException

from inference.errors import note_refusal
from inference.limit_settings import CALLER_SHARE

from .widgets import caller_of

logger = logging.getLogger(__name__)

UI_EVENTS_AT_ONCE = 16  # UI events that run at once by default (Gradio: 1)
EVENTS_PER_CLIENT = int(UI_EVENTS_AT_ONCE * CALLER_SHARE)  # events a client holds in the queue, waiting or running
DIRECT_PER_CLIENT = 2 * EVENTS_PER_CLIENT  # direct calls a client has running at once (the UI's own are instant)
FOLLOWING = "following"  # the places of the events that follow a job (the Batch tab's Follow, /follow_job): each
FOLLOWS_PER_CLIENT = 4  # client holds a few (they wait on a job, as long as it takes: 16 of them would keep Gradio's
# 40 events at once from others)
WAITING_EVENTS = 256  # events waiting in the whole queue (21 clients at their share)
CLIENT_BODIES = 2  # the bytes of a client's bodies, in the largest a Gradio call may send
ALL_BODIES = 16 * CLIENT_BODIES  # every body's bytes: sixteen clients at their share
SMALL_BODY = 4 * 1024 * 1024  # a body this small (a photo as a data: URL, an MCP message) is never refused for the
# bytes others' bodies hold
RETRY_S = 5
BODY_BYTES = "body_bytes"  # the request's state entry where api.body_limit keeps the bytes of its body that came


async def caller_left(request: gr.Request | None) -> bool:
    """Whether the caller of the event running now has gone (for a handler that waits long: following a job). Gradio
    marks a queued event dead when the stream its answer goes out on closes (the browser tab closed or reloaded, the
    API client gone) but lets its handler run on, holding its place in the queue; a direct call's connection closes."""
    from gradio.context import LocalContext

    blocks, event_id = LocalContext.blocks.get(None), LocalContext.event_id.get(None)
    queue = getattr(blocks, "_queue", None)
    if queue is not None and event_id is not None:
        for running in list(queue.active_jobs):
            for event in list(running or ()):
                if getattr(event, "_id", None) == event_id:
                    return not event.alive
        if event_id in queue.event_ids_to_events:  # (queued: its request is the join's, answered long ago)
            return False
    http = getattr(request, "request", None)  # (a direct call: its own connection)
    is_disconnected = getattr(http, "is_disconnected", None)
    return bool(await is_disconnected()) if callable(is_disconnected) else False


def body_size(request: Any, largest: int) -> int:
    """The bytes of an event's request body: as many as came, else as its ``Content-Length`` says, else the largest a
    Gradio call may send."""
    http = getattr(request, "request", None) if isinstance(request, gr.Request) else request
    received = (getattr(http, "scope", None) or {}).get("state", {}).get(BODY_BYTES)
    if isinstance(received, int):
        return received
    length = str(getattr(http, "headers", {}).get("content-length", ""))
    return int(length) if length.strip().isdigit() else largest


class QueueBounds:
    """The bounds of one Gradio app's events; :meth:`install` puts them in front of its queue and its direct calls
    (install them after every other wrapper of ``process_api``: they then run first)."""

    def __init__(self, blocks: gr.Blocks, largest: int, waiting_events: int = WAITING_EVENTS):
        self.blocks, self.queue, self.largest, self.waiting_events = blocks, blocks._queue, largest, waiting_events
        self.client_bytes = CLIENT_BODIES * largest
        self.all_bytes = ALL_BODIES * largest
        self.unqueued: list[tuple[str | None, int, bool, str | None]] = []  # (client, bytes, in the queue, its
        # concurrency id): joins being queued (Gradio may await before it holds them) and direct calls running

    def held(self) -> list[tuple[str | None, int, bool, str | None]]:
        """(client, body bytes, whether it is in the queue, its concurrency id) of each event the queue holds,
        waiting or running, of each join under way and of each direct call running."""
        events = list(self.queue.event_ids_to_events.values())
        queued = [
            (caller_of(event.request), body_size(event.request, self.largest), True, event.concurrency_id) for event in events
        ]
        return queued + self.unqueued

    def check(
        self, client: str | None, size: int, joining: bool = False, concurrency: str | None = None
    ) -> tuple[int, str] | None:
        """Why a join (``joining``, for an event of ``concurrency``) or a direct call would take the client or the
        queue past a bound, as (status, detail); None if not."""
        held = self.held()
        mine = [(bytes_, queued, of) for name, bytes_, queued, of in held if name == client]
        in_queue, carried = sum(queued for _, queued, _ in mine), sum(bytes_ for bytes_, _, _ in mine)
        follows = sum(queued and of == FOLLOWING for _, queued, of in mine)
        if joining and concurrency == FOLLOWING and client is not None and follows >= FOLLOWS_PER_CLIENT:
            return 503, (
                f"This client already follows {follows} jobs: at most {FOLLOWS_PER_CLIENT} at once (a follow lasts "
                f"as long as its job). Try again in about {RETRY_S} s, or when a job ends."
            )
        if joining and client is not None and in_queue >= EVENTS_PER_CLIENT:
            return 503, (
                f"This client already has {in_queue} events in the queue (waiting or running): one client may hold "
                f"{EVENTS_PER_CLIENT} of its places, the others are kept for other clients. Try again in about "
                f"{RETRY_S} s, or wait for an answer first."
            )
        if not joining and client is not None and len(mine) - in_queue >= DIRECT_PER_CLIENT:
            return 503, (
                f"This client already has {len(mine) - in_queue} calls running: at most {DIRECT_PER_CLIENT} at once. "
                f"Try again in about {RETRY_S} s, or wait for an answer first."
            )
        if client is not None and carried + size > self.client_bytes:
            return 503, (
                f"This client's calls already carry {carried / 2**20:.1f} MiB; with this one ({size / 2**20:.1f} MiB) "
                f"they would pass {self.client_bytes / 2**20:.1f} MiB. Send files as uploads (gradio_client does), or "
                "wait for an answer first."
            )
        if joining and len(self.queue) >= self.waiting_events:
            return 503, "The server is busy: its queue is full. Try again in a few seconds."
        everyone = sum(bytes_ for _, bytes_, _, _ in held)
        if size > SMALL_BODY and everyone + size > self.all_bytes:
            return 503, (
                f"The server is busy: the calls it holds carry {everyone / 2**20:.0f} MiB of request bodies (at most "
                f"{self.all_bytes / 2**20:.0f} MiB). Send the file as an upload, or try again in a few seconds."
            )
        return None

    def install(self) -> None:
        push, process = self.queue.push, self.blocks.process_api
        signature = inspect.signature(process)

        async def bounded_push(*args: Any, **kwargs: Any) -> Any:
            body = kwargs["body"] if "body" in kwargs else args[0]  # push(body, request, username)
            request = kwargs["request"] if "request" in kwargs else args[1]
            client, size = caller_of(request), body_size(request, self.largest)
            fn = self.blocks.fns.get(body.fn_index) if isinstance(body.fn_index, int) else None
            concurrency = getattr(fn, "concurrency_id", None)
            refusal = self.check(client, size, joining=True, concurrency=concurrency)
            if refusal is not None:
                raise HTTPException(status_code=refusal[0], detail=refusal[1], headers={"Retry-After": str(RETRY_S)})
            with self.holding(client, size, queued=True, concurrency=concurrency):
                return await push(*args, **kwargs)

        @functools.wraps(process)
        async def bounded_process_api(*args: Any, **kwargs: Any) -> Any:
            call = signature.bind_partial(*args, **kwargs).arguments
            if call.get("event_id") in self.queue.event_ids_to_events:  # a queued event's run: counted as queued
                return await process(*args, **kwargs)
            request = call.get("request")  # a direct call: /run, /api, MCP, the UI's events that skip the queue
            client, size = caller_of(request), body_size(request, self.largest)
            refusal = self.check(client, size)
            if refusal is not None:
                note_refusal(refusal[0], RETRY_S)  # (the Gradio API answers with it: api.gradio_calls)
                raise gr.Error(refusal[1], print_exception=False)
            with self.holding(client, size, queued=False):
                return await process(*args, **kwargs)

        self.queue.push = bounded_push
        self.blocks.process_api = bounded_process_api  # type: ignore[method-assign]
        self.queue.get_events = self.in_turns(self.queue.get_events)

    def in_turns(self, select: Callable[[], Any]) -> Callable[[], Any]:
        """Gradio's choice of the next event to run (``select``, called under the queue's lock), with the waiting
        events of each event type taken in turns between clients: first the earliest event of the client with the
        fewest of that type running, not the earliest of all (a client's 12 long events kept another's next behind
        them; its follows, waiting on jobs, do not hold back its other events)."""
        queue, said = self.queue, []

        def next_in_turn() -> Any:
            moved: list[tuple[list[Any], Any, int]] = []
            try:
                take_turns(moved)
            except Exception:  # (never let it stop Gradio's loop that runs every event: first come first served then)
                if not said:  # (it is called many times a second while events wait: said once)
                    said.append(True)
                    logger.exception("The UI's queue could not take its events in turns")
            try:
                return select()
            finally:
                for waiting, event, place in moved:  # (an event not taken goes back to its place: its arrival)
                    if waiting and waiting[0] is event:
                        waiting.insert(place, waiting.pop(0))

        def take_turns(moved: list[tuple[list[Any], Any, int]]) -> None:
            running: Counter[tuple[str, str | None]] | None = None  # (counted when some type's events wait for a place)
            for name, kind in queue.event_queue_per_concurrency_id.items():
                waiting, limit = kind.queue, kind.concurrency_limit
                if len(waiting) > 1 and (limit is None or kind.current_concurrency < limit):
                    if running is None:
                        running = Counter(
                            (e.concurrency_id, caller_of(e.request)) for events in queue.active_jobs if events for e in events
                        )
                    clients = [caller_of(event.request) for event in waiting]
                    first = min(range(len(waiting)), key=lambda i: (running[(name, clients[i])], i))
                    if first:
                        waiting.insert(0, waiting.pop(first))
                        moved.append((waiting, waiting[0], first))

        return next_in_turn

    @contextmanager
    def holding(self, client: str | None, size: int, queued: bool, concurrency: str | None = None) -> Iterator[None]:
        """While inside: a join under way (``queued``), or a direct call running."""
        entry = (client, size, queued, concurrency)
        self.unqueued.append(entry)
        try:
            yield
        finally:
            self.unqueued.remove(entry)
