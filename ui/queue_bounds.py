"""Gradio's event queue, bounded for each client and in all.

Gradio queues every event a client joins (``/gradio_api/queue/join``, ``/gradio_api/call/<api_name>``), runs up to
:data:`ui.UI_EVENTS_AT_ONCE` of each event at once, first come first served, and keeps each event's request (its
body parsed) until it has run. It has no bound per client and none in all by default, and a join is not work the
rate limit charges (an event's handler charges its caller when it runs): one key joining 150 ``ocr`` events kept
another key's call behind all of them (189 s), and 40 joins carrying 25 MB each held 2 GB while they waited.

So each join is checked before Gradio queues it: a client (whose rate-limit budget its events spend: the key, or
the address when keys are off) holds at most :data:`EVENTS_PER_CLIENT` events, waiting or running (3/4 of an
event's places, so that others always find some free), whose bodies come to at most
:data:`CLIENT_FILES` files of ``limits.max_file_bytes`` (a data: URL is 4/3 of its file); past either its join is
refused 429 with ``Retry-After``. The queue holds at most :data:`WAITING_EVENTS` waiting events and bodies of
:data:`ALL_FILES` files in all; past either, every join is refused 503 ("busy", ``Retry-After``).
(tests/security/test_gradio_queue.py)"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from .widgets import caller_of

EVENTS_PER_CLIENT = 12  # events a client holds in the queue at once, waiting or running (UI_EVENTS_AT_ONCE is 16)
WAITING_EVENTS = 64  # events waiting in the whole queue
CLIENT_FILES = 3  # a client's events' bodies, in files of limits.max_file_bytes (two data: URLs of the largest)
ALL_FILES = 12  # every event's bodies, likewise
RETRY_S = 5


def body_size(request: Any, largest: int) -> int:
    """The bytes of an event's request body as its ``Content-Length`` says (the body limit held it to that); a body
    sent without one counts as the largest a Gradio call may send."""
    length = getattr(request, "headers", {}).get("content-length", "")
    return int(length) if length.strip().isdigit() else largest


class QueueBounds:
    """The bounds of one Gradio queue; :meth:`install` puts them in front of its ``push``."""

    def __init__(self, queue: Any, max_file_bytes: int):
        self.queue = queue
        self.largest = max_file_bytes * 4 // 3 + 1024 * 1024  # a data: URL of the largest file, and the JSON around it
        self.client_bytes = CLIENT_FILES * max_file_bytes
        self.all_bytes = ALL_FILES * max_file_bytes
        self.joining: list[tuple[str | None, int]] = []  # joins being queued (Gradio may await before it holds them)

    def held(self) -> list[tuple[str | None, int]]:
        """(client, body bytes) of each event the queue holds, waiting or running, and of each join under way."""
        events = list(self.queue.event_ids_to_events.values())
        return [(caller_of(event.request), body_size(event.request, self.largest)) for event in events] + self.joining

    def check(self, client: str | None, size: int) -> None:
        """Refuses (HTTPException) a join that would take the client or the queue past a bound."""
        held = self.held()
        mine = [bytes_ for name, bytes_ in held if name == client]
        if client is not None and len(mine) >= EVENTS_PER_CLIENT:
            self.refuse(
                429,
                f"This client already has {len(mine)} events in the queue (waiting or running): at most "
                f"{EVENTS_PER_CLIENT} at once. Wait for an answer before sending more.",
            )
        if client is not None and sum(mine) + size > self.client_bytes:
            self.refuse(
                429,
                f"This client's events in the queue already carry {sum(mine) / 2**20:.1f} MiB; with this one "
                f"({size / 2**20:.1f} MiB) they would pass {self.client_bytes / 2**20:.0f} MiB. Send files as "
                "uploads (gradio_client does), or wait for an answer first.",
            )
        if len(self.queue) >= WAITING_EVENTS or sum(bytes_ for _, bytes_ in held) + size > self.all_bytes:
            self.refuse(503, "The server is busy: its queue is full. Try again in a few seconds.")

    @staticmethod
    def refuse(status: int, detail: str) -> None:
        raise HTTPException(status_code=status, detail=detail, headers={"Retry-After": str(RETRY_S)})

    def install(self) -> None:
        push = self.queue.push

        async def bounded_push(body: Any, request: Any, username: str | None) -> Any:
            client, size = caller_of(request), body_size(request, self.largest)
            self.check(client, size)
            joining = (client, size)
            self.joining.append(joining)
            try:
                return await push(body=body, request=request, username=username)
            finally:
                self.joining.remove(joining)

        self.queue.push = bounded_push
