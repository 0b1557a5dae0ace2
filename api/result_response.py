"""GET /jobs/{id}/result's answer: a job's result written out as it is read from the store, holding one of the few
places of results written at once (``inference.service_jobs``) until it ends. Starlette's StreamingResponse let a
client keep that place for as long as it liked (an attack pass): eight answers taken a few bytes each and then not
read (four client addresses, or keys) held every place for good, every other caller 503; dropped unread, their places
came back only at the next full garbage collection (a key's two were still held after minutes). Here the place comes
back as the answer ends, however it ends, and an answer whose client takes it slower than :data:`MIN_RATE` (after
:data:`GRACE_S` of waiting on it) is stopped, its connection closed: one warning line, no traceback. So is one whose
job went while it was written out (deleted or expired: a 12 KB traceback each before)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Send

from inference.errors import ChatVLMError

GRACE_S = 30.0  # seconds an answer may wait on its client before MIN_RATE counts (a stalled client: this long)
MIN_RATE = 64 * 1024  # bytes a second its client must take on average, counted while the server waits on it

log = logging.getLogger("api.result_response")


class ResultResponse(StreamingResponse):
    """A job's result as JSON, from its pieces (``service.job_result_json``): closed as the answer ends, stopped when
    its client reads too slowly or the result goes meanwhile (the connection closed: its status was already sent)."""

    def __init__(self, pieces: Iterator[str], job_id: str) -> None:
        super().__init__(pieces, media_type="application/json")
        self.pieces, self.job_id = pieces, job_id

    async def stream_response(self, send: Send) -> None:
        sent, waited = 0, 0.0  # bytes handed to the client's connection; seconds spent waiting for it to take them
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            async for piece in self.body_iterator:
                body = piece.encode(self.charset) if isinstance(piece, str) else bytes(piece)
                allowed = GRACE_S + sent / MIN_RATE - waited
                began = anyio.current_time()
                with anyio.move_on_after(max(allowed, 0.0)) as timer:
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                if timer.cancelled_caught:
                    log.warning("job %s: its result stopped after %d bytes, its client reading too slowly", self.job_id, sent)
                    return  # (uvicorn closes the connection: the answer is not complete)
                waited += anyio.current_time() - began
                sent += len(body)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except ChatVLMError as exc:  # (the job deleted or expired meanwhile: ResultGone)
            log.warning("job %s: its result stopped after %d bytes: %s", self.job_id, sent, exc)
        finally:
            close = getattr(self.pieces, "close", None)
            if close is not None:
                close()  # its place given back now (not when the garbage collector finds it)
