"""A model served elsewhere over the OpenAI protocol: vLLM, SGLang, Ollama, llama.cpp's server, ``transformers
serve``, or another instance of this server. One registry entry can front several replicas:

- each request goes to the healthy replica with the fewest requests in flight;
- a connection error, a timeout or a 5xx is retried once on another replica (before any text reached the
  caller); a replica that fails ``failures_to_eject`` times in a row is taken out for ``eject_s`` seconds, and
  probed (``GET /models``) before it is used again;
- when no replica answers, the request fails at once with a 503 that says so.

Requests always stream from the replica (so a caller that leaves stops the remote generation too); the runner
gives this backend ``max_concurrency`` workers, each blocking on one HTTP request.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...errors import BadInput, ModelUnavailable
from ...images import fit_pixels
from ...settings import ModelSpec
from ...values import ChatMessage, ChatOutput, ChatParams, ChatWork, OcrOutput, OcrWork, Output, Work
from ..base import Backend, Stop
from ..prompts import strip_fence

log = logging.getLogger(__name__)


class RemoteOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_urls: list[str] = Field(min_length=1, description="OpenAI base URLs ending in /v1, one per replica")
    model: str | None = Field(None, description="the model's name on the replicas (default: the entry's source, "
                                                "else its id)")
    api_key_env: str | None = Field(None, description="environment variable holding the replicas' API key")
    timeout_s: float = Field(120.0, gt=0, description="longest wait for the next piece of an answer")
    connect_timeout_s: float = Field(3.0, gt=0)
    max_concurrency: int = Field(32, ge=1, description="requests in flight to all replicas together")
    max_images: int = Field(4, ge=1)
    max_pixels: int = Field(4_000_000, ge=32 * 32, description="images are scaled down to this before sending")
    page_longest_side: int = Field(1540, ge=256, description="longest side, in px, a PDF page is rendered at")
    failures_to_eject: int = Field(3, ge=1, description="consecutive failures that take a replica out")
    eject_s: float = Field(30.0, gt=0, description="how long a failing replica stays out before it is probed")
    ocr_prompt: str = ("Read all the text in this image. Reply with the text only, line by line, in reading order, "
                       "with no comments.")
    language_prompt: str = " The text is in {language}."
    ocr_max_tokens: int = Field(2048, ge=1)

    @field_validator("base_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http(s) URL (e.g. http://vllm:8000/v1)")
        return [url.rstrip("/") for url in urls]


@dataclass
class Replica:
    url: str
    in_flight: int = 0
    failures: int = 0
    down_until: float = 0.0


class ReplicaFailed(Exception):
    """A replica did not answer properly (connection, timeout, 5xx): worth trying another one."""


def data_url(image: Any, max_pixels: int) -> str:
    buffer = io.BytesIO()
    fit_pixels(image, max_pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


class RemoteOpenAIBackend(Backend):
    tasks = frozenset({"ocr", "chat"})
    Options = RemoteOptions

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        self.replicas = [Replica(url) for url in self.options.base_urls]
        self.remote_model = self.options.model or spec.source or spec.id
        self._lock = threading.Lock()
        self._http: Any = None
        self._headers: dict[str, str] = {}

    @property
    def workers(self) -> int:
        return self.options.max_concurrency

    @property
    def max_images(self) -> int:
        return self.options.max_images

    # ---- lifetime --------------------------------------------------------------------------------
    def load(self) -> None:
        import httpx

        if self.options.api_key_env:
            key = os.environ.get(self.options.api_key_env)
            if not key:
                raise ModelUnavailable(f"Model '{self.spec.id}' needs the API key of its replicas in the environment "
                                       f"variable {self.options.api_key_env}, which is not set.")
            self._headers = {"Authorization": f"Bearer {key}"}
        timeout = httpx.Timeout(self.options.timeout_s, connect=self.options.connect_timeout_s)
        self._http = httpx.Client(timeout=timeout, headers=self._headers, limits=httpx.Limits(
            max_connections=self.options.max_concurrency, max_keepalive_connections=self.options.max_concurrency))
        if not any([self.probe(replica) for replica in self.replicas]):
            self._http.close()
            raise ModelUnavailable(f"Model '{self.spec.id}': none of its {len(self.replicas)} replica(s) answered; "
                                   "check that they run and that base_urls point at them.",
                                   log_detail=f"replicas: {', '.join(r.url for r in self.replicas)}")

    def unload(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    # ---- replicas --------------------------------------------------------------------------------
    def probe(self, replica: Replica) -> bool:
        """Health check: the replica lists its models. Marks it up or down; True when up."""
        try:
            response = self._http.get(f"{replica.url}/models", timeout=self.options.connect_timeout_s + 2)
            healthy = response.status_code == 200
        except Exception:
            healthy = False
        with self._lock:
            replica.failures = 0 if healthy else self.options.failures_to_eject
            replica.down_until = 0.0 if healthy else time.monotonic() + self.options.eject_s
        if not healthy:
            log.warning("model %s: replica %s does not answer; out for %.0f s", self.spec.id, replica.url,
                        self.options.eject_s)
        return healthy

    def pick(self, exclude: Sequence[Replica]) -> Replica | None:
        """The replica with the fewest requests in flight among those up; else one whose time out is over and
        that answers a probe; None when none does."""
        now = time.monotonic()
        with self._lock:
            up = [r for r in self.replicas if r not in exclude and r.failures < self.options.failures_to_eject]
            if up:
                chosen = min(up, key=lambda r: r.in_flight)
                chosen.in_flight += 1
                return chosen
            returning = [r for r in self.replicas if r not in exclude and r.down_until <= now]
        for replica in returning:
            if self.probe(replica):
                with self._lock:
                    replica.in_flight += 1
                return replica
        return None

    def done(self, replica: Replica, ok: bool) -> None:
        with self._lock:
            replica.in_flight -= 1
            if ok:
                replica.failures = 0
                return
            replica.failures += 1
            if replica.failures >= self.options.failures_to_eject:
                replica.down_until = time.monotonic() + self.options.eject_s
                log.warning("model %s: replica %s failed %d times in a row; out for %.0f s", self.spec.id, replica.url,
                            replica.failures, self.options.eject_s)

    # ---- compute ---------------------------------------------------------------------------------
    def run_batch(self, works: Sequence[Work], stops: Sequence[Stop]) -> list[Output]:
        return [self.answer(work, stop, emit=None) for work, stop in zip(works, stops, strict=True)]

    def stream(self, work: ChatWork, emit: Callable[[str], None], stop: Stop) -> ChatOutput:
        output = self.answer(work, stop, emit)
        assert isinstance(output, ChatOutput)
        return output

    def answer(self, work: Work, stop: Stop, emit: Callable[[str], None] | None) -> Output:
        """One request: on the least busy replica, once more on another if that one fails before any text
        reached the caller."""
        messages, params = self.conversation(work)
        tried: list[Replica] = []
        failure = "no replica is up"
        for _ in range(2):
            replica = self.pick(tried)
            if replica is None:
                break
            tried.append(replica)
            sent: list[str] = []

            def relay(piece: str, sent: list[str] = sent) -> None:
                sent.append(piece)
                if emit is not None:
                    emit(piece)

            try:
                output = self.complete(replica, messages, params, stop, relay)
            except ReplicaFailed as exc:
                self.done(replica, ok=False)
                failure = str(exc)
                log.warning("model %s: replica %s failed: %s", self.spec.id, replica.url, exc)
                if sent and emit is not None:  # part of the answer is out: it cannot be asked again elsewhere
                    break
                continue
            except BaseException:
                self.done(replica, ok=True)  # the request's fault (4xx) or a stop, not the replica's
                raise
            self.done(replica, ok=True)
            if isinstance(work, OcrWork):
                return OcrOutput(text=strip_fence(output.text), completion_tokens=output.completion_tokens)
            return output
        raise ModelUnavailable(f"No replica of model '{self.spec.id}' answered ({failure}); try again shortly.",
                               log_detail=f"tried {', '.join(r.url for r in tried) or 'none'}")

    def conversation(self, work: Work) -> tuple[list[dict[str, Any]], ChatParams]:
        """The request as OpenAI messages (images inline as data: URLs)."""
        if isinstance(work, OcrWork):
            prompt = self.options.ocr_prompt
            if work.language is not None:
                prompt += self.options.language_prompt.format(language=work.language.name)
            chat = [ChatMessage("user", prompt, images=(work.image,))]
            params = ChatParams(temperature=0.0, max_tokens=self.options.ocr_max_tokens)
        else:
            chat, params = work.messages, work.params
        messages = []
        for message in chat:
            parts: list[dict[str, Any]] = [{"type": "image_url", "image_url": {"url": data_url(image, self.options.max_pixels)}}
                                           for image in message.images]
            if message.images:
                messages.append({"role": message.role, "content": [*parts, {"type": "text", "text": message.content}]})
            else:
                messages.append({"role": message.role, "content": message.content})
        return messages, params

    def complete(self, replica: Replica, messages: list[dict[str, Any]], params: ChatParams, stop: Stop,
                 relay: Callable[[str], None]) -> ChatOutput:
        """Stream one answer from a replica, handing each piece to ``relay``; stops (closing the connection,
        which makes the replica stop generating) as soon as ``stop()`` turns true."""
        import httpx

        body: dict[str, Any] = {"model": self.remote_model, "messages": messages, "max_tokens": params.max_tokens,
                                "temperature": params.temperature, "stream": True,
                                "stream_options": {"include_usage": True}}
        if params.top_p is not None:
            body["top_p"] = params.top_p
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        text, finish, usage = "", "stop", {}
        try:
            with self._http.stream("POST", f"{replica.url}/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    self.refused(response)
                for event in self.events(response.iter_lines()):
                    if stop():
                        return ChatOutput(text=text, finish_reason="cancelled")
                    if "error" in event:
                        raise ReplicaFailed(str(event["error"].get("message", "error in the stream"))[:200])
                    usage = event.get("usage") or usage
                    for choice in event.get("choices") or []:
                        piece = (choice.get("delta") or {}).get("content") or ""
                        if piece:
                            text += piece
                            relay(piece)
                        finish = choice.get("finish_reason") or finish
        except httpx.TimeoutException:
            raise ReplicaFailed(f"no answer within {self.options.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise ReplicaFailed(f"connection failed: {type(exc).__name__}") from None
        return ChatOutput(text=text.strip(), finish_reason=finish if finish in ("stop", "length") else "stop",
                          prompt_tokens=int(usage.get("prompt_tokens", 0)),
                          completion_tokens=int(usage.get("completion_tokens", 0)))

    def refused(self, response: Any) -> None:
        """A replica's error answer: the request's fault (4xx) is the caller's error; anything else is the
        replica's (retried elsewhere)."""
        response.read()
        try:
            message = response.json().get("error", {}).get("message") or response.json().get("detail")
        except (ValueError, AttributeError):
            message = None
        message = str(message or response.text)[:300]
        if response.status_code >= 500:
            raise ReplicaFailed(f"HTTP {response.status_code}: {message}")
        if response.status_code in (401, 403):
            raise ModelUnavailable(f"Model '{self.spec.id}': its replica refused this server's key "
                                   f"({response.status_code}); an administrator must set api_key_env.")
        if response.status_code == 429:
            raise ReplicaFailed("the replica is rate limiting this server")
        raise BadInput(f"Model '{self.spec.id}' refused the request: {message}")

    @staticmethod
    def events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
        """The JSON events of a server-sent-event stream, up to ``[DONE]``."""
        for line in lines:
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                yield json.loads(data)
            except ValueError:
                raise ReplicaFailed("the replica sent an event that is not JSON") from None
