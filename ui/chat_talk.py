"""The Chat tab's conversation, kept on the server for each browser session (a ``gr.State``): what was asked, what
was answered, and the questions waiting their turn. Every event renders the chatbot from it, so that no event can
bring back a stale copy of the conversation, and nothing typed is lost:

- a question shows at once (with "Loading the model…" or "Thinking…" until the first words come);
- a question sent while an answer comes waits its turn (shown in the conversation) and is answered next;
- Stop ends the answer being written (marked as stopped) and gives the waiting questions back to the message box;
- a new image or a new conversation drops the old one and stops its answer: its next words go nowhere.

One answering loop per session (:meth:`Talk.drain`) answers the waiting questions in turn; events that find it
running only add to the line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio

from inference import MAX_MESSAGES, ChatMessage, call_cancellable
from inference.markdown_text import safe_markdown

from .errors import message_for

WAITING, ANSWERING, DONE, STOPPED, FAILED = "waiting", "answering", "done", "stopped", "failed"
LOADING = "*Loading the model… (the first answer takes longer)*"
THINKING = "*Thinking…*"
QUEUED = "*Waiting for the answer above to end…*"
STOPPED_MARK = "*(stopped)*"
_STOPPED = object()  # what :func:`until` returns when the stop came first
WAITING_AT_MOST = 8  # questions waiting their turn in one conversation (one more goes back to the box, with why)


@dataclass(eq=False)
class Exchange:
    """One question and its answer (``answer`` grows as it streams in). ``image``, ``model``, ``temperature`` and
    ``max_tokens`` are what was chosen when it was asked."""

    question: str
    image: str
    model: str | None
    temperature: Any = None
    max_tokens: Any = None
    answer: str = ""
    state: str = WAITING
    error: str = ""
    note: str = ""  # why the answer was cut (the model looped)
    show_image: bool = False
    loading: bool = False  # the model was not loaded when the answer began
    stop: anyio.Event | None = None
    _safe: tuple[str, str] = ("", "")  # the answer last shown, and its Markdown as shown (``safe_markdown``)

    def shown(self, next_up: bool = False) -> list[dict[str, Any]]:
        """The question and its answer as the chatbot shows them (``next_up``: a waiting question that no answer
        is ahead of, about to begin). The answer is shown as Markdown, without the raw HTML a model can be made to
        write (``safe_markdown``)."""
        if self._safe[0] != self.answer:  # (every exchange is shown again at each new piece of an answer)
            self._safe = (self.answer, safe_markdown(self.answer))
        answer = self._safe[1]
        asked: Any = [{"path": self.image}, self.question] if self.show_image else self.question
        if self.state == WAITING and not next_up:
            said = QUEUED
        elif self.state == WAITING:
            said = LOADING if self.loading else THINKING
        elif self.state == ANSWERING:
            said = answer or (LOADING if self.loading else THINKING)
        elif self.state == STOPPED:
            said = f"{answer}\n\n{STOPPED_MARK}" if answer else STOPPED_MARK
        elif self.state == FAILED:
            said = f"⚠️ {self.error}"
        else:
            said = answer if answer.strip() else "*(no answer: the model said nothing)*"
        return [{"role": "user", "content": asked}, {"role": "assistant", "content": said}]


@dataclass(eq=False)
class Talk:
    """A session's conversation (the chatbot shows :meth:`shown`). ``gr.State(Talk)`` makes one per session; Gradio
    deep-copies it then, and every event of the session gets that same object."""

    exchanges: list[Exchange] = field(default_factory=list)
    running: bool = False  # an answering loop is at work

    def __deepcopy__(self, memo: dict) -> Talk:  # a fresh session's copy (nothing to copy but empty lists)
        return Talk(exchanges=[Exchange(**vars(e)) for e in self.exchanges], running=False)

    def shown(self) -> list[dict[str, Any]]:
        ahead = any(e.state == ANSWERING for e in self.exchanges)
        messages = []
        for exchange in self.exchanges:
            messages += exchange.shown(next_up=not ahead)
            ahead = ahead or exchange.state == WAITING
        return messages

    def busy(self) -> bool:
        """An answer is coming or a question waits: Stop is the action, not Send."""
        return any(e.state in (WAITING, ANSWERING) for e in self.exchanges)

    def waiting(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.state == WAITING]

    def refused(self, question: str, max_chars: int) -> str | None:
        """Why ``question`` cannot join the line (None: it can). Asking costs nothing until an answer begins, and each
        event shows the whole conversation: unbounded, 20 questions of 5 MB made a line of 100 MB, shown in full by
        the 20th answer (an attack pass). So a question is at most a prompt's length, a few wait at once, and a
        conversation is at most as long as a model is sent (``MAX_MESSAGES``)."""
        if len(question) > max_chars:
            return f"The question is longer than {max_chars} characters: shorten it."
        if len(self.waiting()) >= WAITING_AT_MOST:
            return f"{WAITING_AT_MOST} questions are waiting already: wait for their answers (or Stop), then ask."
        if 2 * (len(self.exchanges) + 1) > MAX_MESSAGES:
            return "This conversation is as long as a conversation can be: start a new one (New conversation)."
        return None

    def ask(
        self, question: str, image: str, model: str | None, temperature: Any, max_tokens: Any, loading: bool = False
    ) -> Exchange:
        """Add a question to the line (``loading``: its model is not loaded yet); the first of a conversation shows
        the image with it."""
        exchange = Exchange(question, image, model, temperature, max_tokens, show_image=not self.exchanges, loading=loading)
        self.exchanges.append(exchange)
        return exchange

    def again(self) -> Exchange | None:
        """The last question asked once more (its answer replaced); None when there is none, or one is coming."""
        if not self.exchanges or self.busy():
            return None
        last = self.exchanges[-1]
        last.answer, last.error, last.state = "", "", WAITING
        return last

    def stop(self) -> list[str]:
        """Stop the answer being written; the waiting questions leave the line and are returned (for the box)."""
        waiting = self.waiting()
        self.exchanges = [e for e in self.exchanges if e.state != WAITING]
        for exchange in self.exchanges:
            if exchange.state == ANSWERING and exchange.stop is not None:
                exchange.stop.set()
        return [e.question for e in waiting]

    def clear(self) -> bool:
        """Start a new conversation (stopping the answer of the old one); whether there was one."""
        had = bool(self.exchanges)
        self.stop()
        self.exchanges = []
        return had

    def past(self, exchange: Exchange) -> list[ChatMessage]:
        """The conversation before ``exchange``, as the model takes it: the questions answered (a stopped answer's
        words count; a failed one is left out with its question)."""
        turns: list[ChatMessage] = []
        for earlier in self.exchanges:
            if earlier is exchange:
                break
            if earlier.state in (DONE, STOPPED) and earlier.answer.strip():
                turns += [
                    ChatMessage(role="user", content=earlier.question),
                    ChatMessage(role="assistant", content=earlier.answer),
                ]
        return turns

    async def answer(
        self,
        chat_stream: Callable[..., Any],
        caller: str | None,
        temperature_of: Callable[[Any], Any],
        tokens_of: Callable[[Any], Any],
        exchange: Exchange,
    ) -> AsyncIterator[None]:
        """Ask ``exchange``'s question with ``chat_stream`` (the service's); the answer grows in it (yields each time),
        or it is marked stopped or failed (with the error's sentence)."""
        assert exchange.stop is not None
        try:
            stream = await until(
                exchange.stop,
                partial(
                    call_cancellable,
                    chat_stream,
                    exchange.image,
                    exchange.question,
                    exchange.model,
                    temperature_of(exchange.temperature),
                    tokens_of(exchange.max_tokens),
                    history=self.past(exchange),
                    caller=caller,
                ),
            )
            if stopped(stream):
                exchange.state = STOPPED
                return
            with stream.close_with_task():  # a page that left ends the event's task, maybe outside this generator
                while True:
                    try:
                        piece = await until(exchange.stop, stream.__anext__)
                    except StopAsyncIteration:
                        break
                    if stopped(piece):
                        exchange.state = STOPPED
                        return
                    exchange.answer = piece
                    yield
                output = await anyio.to_thread.run_sync(lambda: stream.output)  # finished: no wait
            if output.finish_reason == "repetition":  # the model looped: one copy of what repeated is kept
                exchange.answer, exchange.note = output.text, " ".join(output.warnings)
        except Exception as exc:
            exchange.state, exchange.error = FAILED, message_for(exc, "UI handler chat")

    async def drain(
        self, answer: Callable[[Exchange], AsyncIterator[None]], loaded: Callable[[str | None], bool]
    ) -> AsyncIterator[bool]:
        """Answer the waiting questions in turn, each with ``answer(exchange)`` (which yields as its answer grows);
        yields each time the conversation changed, then False once no question waits. Does nothing (yields nothing)
        when another loop is at work: it will come to the new question."""
        if self.running:
            return
        self.running = True
        try:
            while waiting := self.waiting():
                exchange = waiting[0]
                exchange.state, exchange.stop = ANSWERING, anyio.Event()
                exchange.loading = not loaded(exchange.model)
                yield True
                async for _ in answer(exchange):
                    if exchange not in self.exchanges:  # a new conversation: its words go nowhere
                        break
                    yield True
                if exchange.state == ANSWERING:  # ended without a mark: the answer is complete
                    exchange.state = DONE
                yield True
        finally:
            self.running = False
        yield False


async def until(stop: anyio.Event, call: Callable[[], Awaitable[Any]]) -> Any:
    """``await call()``, unless ``stop`` is set first (the call is then cancelled and this returns the stop mark,
    see :func:`stopped`). The call's exception (StopAsyncIteration included) is raised here."""
    outcome: list[Any] = []
    async with anyio.create_task_group() as group:

        async def run() -> None:
            try:
                outcome.append((True, await call()))
            except Exception as exc:  # raised below, not wrapped in the task group's ExceptionGroup
                outcome.append((False, exc))
            group.cancel_scope.cancel()

        async def watch() -> None:
            await stop.wait()
            group.cancel_scope.cancel()

        group.start_soon(run)
        group.start_soon(watch)
    if not outcome:
        return _STOPPED
    done, value = outcome[0]
    if not done:
        raise value
    return value


def stopped(value: Any) -> bool:
    return value is _STOPPED


def new_talk() -> Talk:
    """A session's first (empty) conversation: ``gr.State(new_talk)`` (a dataclass itself would be serialised)."""
    return Talk()
