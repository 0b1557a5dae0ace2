"""The request and result values every layer shares: the service builds them once, backends read them,
the REST schemas and the UI render them. Nothing here imports anything above the kernel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from .languages import Language

FinishReason = Literal["stop", "length", "cancelled"]


@dataclass(frozen=True)
class ChatMessage:
    role: str  # "user" or "assistant"
    content: str


@dataclass(frozen=True)
class ChatParams:
    temperature: float
    max_tokens: int


class OcrLine(BaseModel):
    text: str
    box: list[list[float]] = Field(description="four [x, y] corners in image pixels, clockwise from top-left")
    confidence: float
    engine: str = Field("", description="which engine read this line")


@dataclass
class OcrOutput:
    text: str
    lines: list[OcrLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what the user should know, e.g. a missing language pack
    completion_tokens: int = 0  # tokens a vision-language model generated for it (0 for the OCR engines)


@dataclass
class ChatOutput:
    text: str
    finish_reason: FinishReason = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class OcrWork:
    """Read the text of one decoded image."""

    image: Any  # PIL image, upright RGB
    language: Language | None = None


@dataclass
class ChatWork:
    """Answer the last user message of a conversation about one decoded image."""

    image: Any  # PIL image, upright RGB
    messages: list[ChatMessage]
    params: ChatParams


Work = OcrWork | ChatWork
Output = OcrOutput | ChatOutput
