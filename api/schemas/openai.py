"""The OpenAI chat-completions protocol, as the official SDKs and the tools built on them send and read it:
requests (messages with text and ``image_url`` parts), answers, stream chunks, model lists and error bodies."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from inference import MAX_MESSAGES, MAX_STOPS, BadInput, ChatMessage

# ---- requests ------------------------------------------------------------------------------------------


class ImageUrl(BaseModel):
    url: str = Field(description="data:image/...;base64,... (always) or http(s) (when the server allows it)")
    detail: str | None = None


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ImagePart(BaseModel):
    type: Literal["image_url"]
    image_url: ImageUrl


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_call_id... are accepted and ignored

    role: Literal["system", "developer", "user", "assistant"]
    content: str | Annotated[list[TextPart | ImagePart], Field(max_length=MAX_PARTS)] | None = None

    def to_core(self) -> ChatMessage:
        role = "system" if self.role == "developer" else self.role
        if self.content is None or isinstance(self.content, str):
            return ChatMessage(role=role, content=self.content or "")
        text = "\n".join(part.text for part in self.content if isinstance(part, TextPart))
        urls = tuple(part.image_url.url for part in self.content if isinstance(part, ImagePart))
        return ChatMessage(role=role, content=text, images=urls)


MAX_PARTS = 64  # parts of one message (its images are limited further: limits.max_images)
Stop = Annotated[str, Field(max_length=256)]
SEED = 2**63  # torch's seeds are 64-bit


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # the SDKs send more options than a local server needs

    model: str | None = Field(None, description="a model id from GET /v1/models; the server's default when omitted")
    # (bounded lists: a body of a million items is refused at its length, not validated item by item: ~5 KB of memory
    # per item's error)
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1, description="the newer name of max_tokens")
    stop: Stop | Annotated[list[Stop], Field(max_length=MAX_STOPS)] | None = None
    seed: int | None = Field(None, ge=-SEED, lt=SEED)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1, le=1, description="one answer per request")

    def unsupported(self) -> str | None:
        """What this request asks that the server does not do (said in a 400), or None."""
        extra = self.model_extra or {}
        if extra.get("tools") or extra.get("functions"):
            return "tools and function calling are not supported by this server."
        if extra.get("logprobs"):
            return "logprobs are not supported by this server."
        return None

    def stop_sequences(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)

    def core_messages(self) -> list[ChatMessage]:
        messages = [message.to_core() for message in self.messages]
        if messages[-1].role != "user":
            raise BadInput("The last message must be the user's (the one to answer).")
        return messages


# ---- answers -------------------------------------------------------------------------------------------


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AnswerMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AnswerMessage
    finish_reason: str = Field(description="OpenAI's: stop or length (length also when the model looped and was cut)")
    warning: str | None = Field(None, description="extra: why the answer was cut (max_tokens, or a repetition)")


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: str | None = None
    warning: str | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "chatvlmllm"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
    hint: str | None = Field(None, description="when no model can chat here: why, and what an administrator can do")


# ---- errors --------------------------------------------------------------------------------------------


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIError(BaseModel):
    error: OpenAIErrorDetail


def openai_finish(reason: str) -> str:
    """OpenAI's finish reasons are stop and length: a repetition the server cut is reported as length (the answer
    did not end on its own; clients treat it as cut short) and the choice's ``warning`` says why."""
    return "length" if reason == "repetition" else reason


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())
