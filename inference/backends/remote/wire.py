"""The OpenAI chat-completions wire format, as this server speaks it to a replica: the request (messages with
images inline as data: URLs, sampling settings, always streamed), the server-sent events of the answer, and what
an error answer means (the request's fault, the key's, or the replica's: :class:`ReplicaFailed`, worth trying
another one)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from ...errors import BadInput, ModelUnavailable
from ...images import fit_pixels
from ...values import ChatMessage, ChatOutput, ChatParams
from ..base import Stop


class ReplicaFailed(Exception):
    """A replica did not answer properly (connection, timeout, 5xx): worth trying another one."""


def data_url(image: Any, max_pixels: int) -> str:
    buffer = io.BytesIO()
    fit_pixels(image, max_pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def messages(chat: list[ChatMessage], max_pixels: int) -> list[dict[str, Any]]:
    """A conversation as OpenAI messages (each message's images before its text, inline as data: URLs)."""
    out = []
    for message in chat:
        parts: list[dict[str, Any]] = [
            {"type": "image_url", "image_url": {"url": data_url(image, max_pixels)}} for image in message.images
        ]
        if message.images:
            out.append({"role": message.role, "content": [*parts, {"type": "text", "text": message.content}]})
        else:
            out.append({"role": message.role, "content": message.content})
    return out


def request_body(model: str, messages: list[dict[str, Any]], params: ChatParams) -> dict[str, Any]:
    """A streamed chat-completions request (with usage in its last event)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if params.top_p is not None:
        body["top_p"] = params.top_p
    if params.stop:
        body["stop"] = list(params.stop)
    if params.seed is not None:
        body["seed"] = params.seed
    return body


def complete(
    http: Any, url: str, body: dict[str, Any], stop: Stop, relay: Callable[[str], None], timeout_s: float, model_id: str
) -> ChatOutput:
    """Stream one answer from the replica at ``url``, handing each piece to ``relay``; stops (closing the
    connection, which makes the replica stop generating) as soon as ``stop()`` turns true."""
    import httpx

    text, finish, usage = "", "stop", {}
    try:
        with http.stream("POST", f"{url}/chat/completions", json=body) as response:
            if response.status_code >= 400:
                refused(response, model_id)
            for event in events(response.iter_lines()):
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
        raise ReplicaFailed(f"no answer within {timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise ReplicaFailed(f"connection failed: {type(exc).__name__}") from None
    return ChatOutput(
        text=text.strip(),
        finish_reason=finish if finish in ("stop", "length") else "stop",
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
    )


def refused(response: Any, model_id: str) -> NoReturn:
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
        raise ModelUnavailable(
            f"Model '{model_id}': its replica refused this server's key "
            f"({response.status_code}); an administrator must set api_key_env."
        )
    if response.status_code == 429:
        raise ReplicaFailed("the replica is rate limiting this server")
    raise BadInput(f"Model '{model_id}' refused the request: {message}")


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
