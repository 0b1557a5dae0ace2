"""A model served elsewhere over the OpenAI protocol: vLLM, SGLang, Ollama, llama.cpp's server, ``transformers
serve``, or another instance of this server. One registry entry can front several replicas (``replicas.py``):
a connection error, a timeout or a 5xx is retried once on another replica (before any text reached the
caller); when no replica answers, the request fails at once with a 503 that says so.

Requests always stream from the replica (``wire.py``), so a caller that leaves stops the remote generation
too; the runner gives this backend ``max_concurrency`` workers, each blocking on one HTTP request.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from ...errors import ModelUnavailable
from ...grounding import page_structure
from ...images import fit_pixels
from ...settings import ModelSpec
from ...values import ChatMessage, ChatOutput, ChatParams, ChatWork, OcrOutput, OcrWork, Output, Work
from ..base import Backend, Stop
from ..prompts import RETRY_REASONS, ocr_prompt, retry_note, strip_fence
from . import wire
from .options import RemoteOptions
from .replicas import Replica, Replicas

log = logging.getLogger(__name__)


class RemoteOpenAIBackend(Backend):
    tasks = frozenset({"ocr", "chat"})
    Options = RemoteOptions

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        self.pool = Replicas(self.options, spec.id)
        self.remote_model = self.options.model or spec.source or spec.id

    @property
    def replicas(self) -> list[Replica]:
        return self.pool.replicas

    @property
    def workers(self) -> int:
        return self.options.max_concurrency

    @property
    def max_images(self) -> int:
        return self.options.max_images

    # ---- lifetime --------------------------------------------------------------------------------
    def load(self) -> None:
        import httpx

        headers: dict[str, str] = {}
        if self.options.api_key_env:
            key = os.environ.get(self.options.api_key_env)
            if not key:
                raise ModelUnavailable(
                    f"Model '{self.spec.id}' needs the API key of its replicas in the environment "
                    f"variable {self.options.api_key_env}, which is not set."
                )
            headers = {"Authorization": f"Bearer {key}"}
        timeout = httpx.Timeout(self.options.timeout_s, connect=self.options.connect_timeout_s)
        self.pool.http = httpx.Client(
            timeout=timeout,
            headers=headers,
            limits=httpx.Limits(
                max_connections=self.options.max_concurrency, max_keepalive_connections=self.options.max_concurrency
            ),
        )
        if not any([self.pool.probe(replica) for replica in self.replicas]):
            self.unload()
            raise ModelUnavailable(
                f"Model '{self.spec.id}': none of its {len(self.replicas)} replica(s) answered; "
                "check that they run and that base_urls point at them.",
                log_detail=f"replicas: {', '.join(r.url for r in self.replicas)}",
            )

    def unload(self) -> None:
        if self.pool.http is not None:
            self.pool.http.close()
            self.pool.http = None

    # ---- compute ---------------------------------------------------------------------------------
    def run_batch(self, works: Sequence[Work], stops: Sequence[Stop]) -> list[Output]:
        return [self.answer(work, stop, emit=None) for work, stop in zip(works, stops, strict=True)]

    def stream(self, work: ChatWork, emit: Callable[[str], None], stop: Stop) -> ChatOutput:
        output = self.answer(work, stop, emit)
        assert isinstance(output, ChatOutput)
        return output

    def answer(self, work: Work, stop: Stop, emit: Callable[[str], None] | None) -> Output:
        """One request; an OCR answer that failed (it looped, or never ended) is asked again at each
        ``ocr_retry_temperatures`` in turn (olmOCR's retry)."""
        messages, params = self.conversation(work)
        output = self.ask(messages, params, stop, emit)
        if not isinstance(work, OcrWork):
            return output
        tried, spent = [], 0
        for temperature in self.options.ocr_retry_temperatures:
            if output.finish_reason not in RETRY_REASONS or stop():
                break
            spent += output.completion_tokens
            output = self.ask(messages, self.options.ocr_params(params.max_tokens, temperature), stop, emit)
            tried.append(temperature)
        text, blocks = page_structure(strip_fence(output.text), work.image.size)  # Markdown, or grounding blocks
        warnings = [retry_note(tried, output.finish_reason in RETRY_REASONS)] if tried else []
        return OcrOutput(text=text, blocks=blocks, warnings=warnings, completion_tokens=spent + output.completion_tokens)

    def ask(
        self, messages: list[dict[str, Any]], params: ChatParams, stop: Stop, emit: Callable[[str], None] | None
    ) -> ChatOutput:
        """One request: on the least busy replica, once more on another if that one fails before any text
        reached the caller."""
        body = wire.request_body(self.remote_model, messages, params)
        if self.options.chat_template_kwargs:
            body["chat_template_kwargs"] = self.options.chat_template_kwargs  # vLLM and SGLang pass it to the template
        tried: list[Replica] = []
        failure = "no replica is up"
        for _ in range(2):
            replica = self.pool.pick(tried)
            if replica is None:
                break
            tried.append(replica)
            sent: list[str] = []

            def relay(piece: str, sent: list[str] = sent) -> None:
                sent.append(piece)
                if emit is not None:
                    emit(piece)

            try:
                output = wire.complete(self.pool.http, replica.url, body, stop, relay, self.options.timeout_s, self.spec.id)
            except wire.ReplicaFailed as exc:
                self.pool.done(replica, ok=False)
                failure = str(exc)
                log.warning("model %s: replica %s failed: %s", self.spec.id, replica.url, exc)
                if sent and emit is not None:  # part of the answer is out: it cannot be asked again elsewhere
                    break
                continue
            except BaseException:
                self.pool.done(replica, ok=True)  # the request's fault (4xx) or a stop, not the replica's
                raise
            self.pool.done(replica, ok=True)
            return output
        raise ModelUnavailable(
            f"No replica of model '{self.spec.id}' answered ({failure}); try again shortly.",
            log_detail=f"tried {', '.join(r.url for r in tried) or 'none'}",
        )

    def prepare_image(self, image: Any) -> Any:
        return fit_pixels(image, self.options.max_pixels)  # (what wire.data_url sends)

    def conversation(self, work: Work) -> tuple[list[dict[str, Any]], ChatParams]:
        """The request as OpenAI messages (images inline as data: URLs)."""
        if isinstance(work, OcrWork):
            prompt = ocr_prompt(self.options.ocr_prompt, self.options.language_prompt, work.language)
            chat = [ChatMessage("user", prompt, images=(work.image,))]
            params = self.options.ocr_params(self.options.ocr_max_tokens)
        else:
            chat, params = work.messages, work.params
        return wire.messages(chat, self.options.max_pixels), params
