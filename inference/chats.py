"""Chat requests admitted and answered: cheap checks first (the request parsed once by ``inputs``), then room in
the model's queue, then the images decoded, then the work submitted through the manager; the answer whole
(:meth:`Chats.answer`) or as it is generated (:meth:`Chats.answer_stream`). The service's facade charges the
caller's rate limit and delegates here."""

from __future__ import annotations

import time
from collections.abc import Sequence

from .cancel import CancelToken, deadline_for
from .images import ImageSource
from .inputs import ChatRequest, Inputs
from .manager import ModelManager
from .results import ChatResult
from .settings import LimitSettings
from .streams import TextStream
from .tickets import Ticket
from .values import ChatMessage, ChatOutput, ChatParams


class Chats:
    def __init__(self, inputs: Inputs, manager: ModelManager, limits: LimitSettings):
        self.inputs = inputs
        self.manager = manager
        self.limits = limits

    def _admit(
        self,
        image: ImageSource,
        prompt: str,
        model: str | None,
        temperature: float | None,
        max_tokens: int | None,
        history: Sequence[ChatMessage],
        filename: str,
        cancel: CancelToken | None,
        streaming: bool = False,
    ) -> tuple[ChatRequest, Ticket]:
        """A chat about one image, admitted: cheap checks, then room in the queue, then the image decoded."""
        deadline = deadline_for(cancel, self.limits.request_timeout_s)
        request = self.inputs.chat(prompt, model, temperature, max_tokens, history)
        self.manager.check_room(request.model, 1)  # a busy server refuses before decoding
        work = self.inputs.chat_work(request, image, filename)
        return request, self.manager.submit(request.model, [work], deadline, streaming, cancel)[0]

    def _admit_conversation(
        self,
        messages: Sequence[ChatMessage],
        model: str | None,
        params: ChatParams,
        cancel: CancelToken | None,
        streaming: bool = False,
    ) -> tuple[ChatRequest, Ticket]:
        """A conversation whose images come as URLs with their messages, admitted (its images read and decoded)."""
        deadline = deadline_for(cancel, self.limits.request_timeout_s)
        request = self.inputs.conversation(messages, model, params)
        self.manager.check_room(request.model, 1)
        work = self.inputs.conversation_work(request)
        return request, self.manager.submit(request.model, [work], deadline, streaming, cancel)[0]

    def answer(
        self,
        image: ImageSource,
        prompt: str,
        model: str | None,
        temperature: float | None,
        max_tokens: int | None,
        history: Sequence[ChatMessage],
        filename: str,
        cancel: CancelToken | None,
    ) -> ChatResult:
        started = time.perf_counter()
        request, ticket = self._admit(image, prompt, model, temperature, max_tokens, history, filename, cancel)
        output = ticket.result()
        assert isinstance(output, ChatOutput)
        return ChatResult(
            response=output.text,
            model=request.model.id,
            prompt=request.prompt,
            processing_time=round(time.perf_counter() - started, 4),
            finish_reason=output.finish_reason,
            warnings=output.warnings,
        )

    def answer_stream(
        self,
        image: ImageSource,
        prompt: str,
        model: str | None,
        temperature: float | None,
        max_tokens: int | None,
        history: Sequence[ChatMessage],
        filename: str,
        cancel: CancelToken | None,
    ) -> TextStream:
        request, ticket = self._admit(image, prompt, model, temperature, max_tokens, history, filename, cancel, True)
        return TextStream(ticket, request.model.id, request.prompt)

    def complete(
        self, messages: Sequence[ChatMessage], model: str | None, params: ChatParams, cancel: CancelToken | None
    ) -> tuple[str, ChatOutput]:
        request, ticket = self._admit_conversation(messages, model, params, cancel)
        output = ticket.result()
        assert isinstance(output, ChatOutput)
        return request.model.id, output

    def complete_stream(
        self, messages: Sequence[ChatMessage], model: str | None, params: ChatParams, cancel: CancelToken | None
    ) -> TextStream:
        request, ticket = self._admit_conversation(messages, model, params, cancel, True)
        return TextStream(ticket, request.model.id, request.prompt)
