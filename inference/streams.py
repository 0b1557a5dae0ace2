"""A streamed chat answer, as the service hands it to the UI (and later to streaming HTTP routes).

Iterating gives the answer so far, growing as tokens are generated; ``async for`` does the same without
holding an event loop. Closing it (``close()``, leaving a ``with`` block, an ``async for`` cancelled, the
task that reads it ending: ``close_with_task``, or the object being dropped) stops the generation within one
decoding step and frees the model.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

import anyio

from .cancel import waiters
from .tickets import Ticket
from .values import ChatOutput

_END: Any = object()

# Streams dropped without being closed are cancelled here, not in __del__ itself: the garbage collector may run
# __del__ in any thread, even one that holds the runner's or the ticket's lock.
_dropped: queue.SimpleQueue[Ticket] = queue.SimpleQueue()


def _reap() -> None:
    while True:
        _dropped.get().cancel()


threading.Thread(target=_reap, name="stream-reaper", daemon=True).start()


class TextStream:
    def __init__(self, ticket: Ticket, model: str, prompt: str):
        self.model = model
        self.prompt = prompt
        self.text = ""
        self._ticket = ticket

    # ---- sync -------------------------------------------------------------------------------------
    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        while True:
            piece = self._ticket.next_piece(timeout=1.0)  # StopIteration at the end
            if piece is not None:
                self.text += piece
                return self.text

    # ---- async ------------------------------------------------------------------------------------
    def __aiter__(self) -> TextStream:
        return self

    def _poll(self, timeout: float) -> Any:
        try:
            return self._ticket.next_piece(timeout)
        except StopIteration:
            return _END

    async def __anext__(self) -> str:
        try:
            while True:
                piece = await anyio.to_thread.run_sync(self._poll, 0.2, abandon_on_cancel=True, limiter=waiters())
                if piece is _END:
                    raise StopAsyncIteration
                if piece is not None:
                    self.text += piece
                    return self.text
        except anyio.get_cancelled_exc_class():
            self.close()
            raise

    # ---- end --------------------------------------------------------------------------------------
    @property
    def output(self) -> ChatOutput:
        """The finished answer (finish reason, token counts); waits for the end."""
        output = self._ticket.result()
        assert isinstance(output, ChatOutput)
        return output

    def close(self) -> None:
        """Stop the generation (nothing happens when it has finished)."""
        self._ticket.cancel()

    def close_with_task(self) -> TextStream:
        """Close this stream, too, when the asyncio task reading it ends, however it ends. A reader cancelled between
        two pieces (a Gradio event stopped while its task sends a piece out, before Gradio has stored the event's
        generator) leaves its generator waiting at a ``yield`` that nobody resumes or closes: the generation would go
        on until the garbage collector found that generator. Call it in the task that reads the stream."""
        task = asyncio.current_task()
        if task is not None:  # outside a task there is nothing to bind to
            task.add_done_callback(lambda _task: self.close())
        return self

    def __enter__(self) -> TextStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if self._ticket.state != "done":
            _dropped.put(self._ticket)  # SimpleQueue.put may be called from __del__
