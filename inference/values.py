"""The request and result values every layer shares: the service builds them once, backends read them,
the REST schemas and the UI render them. Nothing here imports anything above the kernel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .blocks import Block, OcrLine
from .languages import Language

__all__ = ["OcrLine"]  # it lives with the blocks (page geometry); imported from here by most of the code

FinishReason = Literal["stop", "length", "repetition", "cancelled"]
# The words of an OCR engine's warning for lines in a script it cannot read (routing looks for them)
UNREAD_SCRIPT = "seem to be in a script"


def unread_script_warning(lines: int, reader: str = "this server") -> str:
    """What an OCR engine tells the user when ``lines`` of a page seem to be in a script that ``reader`` cannot read
    ("this server": no installed engine; "this model": the engine alone)."""
    return f"{lines} line(s) {UNREAD_SCRIPT} {reader} cannot read; their text is missing or a guess."


MAX_MESSAGES = 256  # messages in one conversation (each costs its template's tokens, even when empty)
MAX_STOPS = 4  # stop sequences of one request (OpenAI's limit)


@dataclass(frozen=True)
class ChatMessage:
    role: str  # "system", "user" or "assistant"
    content: str
    images: tuple[Any, ...] = ()  # PIL images (upright RGB) that come with this message, before its text


@dataclass(frozen=True)
class ChatParams:
    temperature: float
    max_tokens: int
    top_p: float | None = None  # nucleus sampling (only when sampling)
    stop: tuple[str, ...] = ()  # the answer ends before the first of these
    seed: int | None = None  # sampling seed, for repeatable answers

    @property
    def batch_key(self) -> tuple:
        """Requests batched together share these (a batch is one generate call with one set of settings)."""
        return self.temperature > 0, self.temperature, self.top_p, self.stop, self.seed


@dataclass
class OcrOutput:
    text: str
    lines: list[OcrLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what the user should know, e.g. a missing language pack
    completion_tokens: int = 0  # tokens a vision-language model generated for it (0 for the OCR engines)
    blocks: list[Block] = field(default_factory=list)  # the page's structure in reading order, when the engine finds it
    confidence: float | None = None  # 0-1, how sure the engine is of this page (see PageResult.confidence)
    confidence_source: str | None = None  # how that was measured: "logprob" for a VLM's answer


@dataclass
class ChatOutput:
    text: str
    finish_reason: FinishReason = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    warnings: list[str] = field(default_factory=list)  # why the answer was cut, when it was


def cut_warning(reason: str, tokens: int, limit: str) -> str | None:
    """What a reader of an answer cut short should know (``limit``: the setting that capped it); None when the
    model ended it itself."""
    if reason == "length":
        return f"The answer may be incomplete: the model stopped at its limit of {tokens} new tokens ({limit})."
    if reason == "repetition":
        return (
            "The model started repeating itself, so it was stopped and the repeated text was cut (one copy "
            "kept); the answer may be incomplete."
        )
    return None


@dataclass
class OcrWork:
    """Read the text of one decoded image; with ``render``, of the image it gives when the work's turn at the model
    comes (a large image is not held decoded while it waits in the queue: ``ready``)."""

    image: Any  # PIL image, upright RGB (None until ``ready`` when ``render`` is given)
    language: Language | None = None
    render: Callable[[], Any] | None = field(default=None, repr=False)

    def ready(self) -> OcrWork:
        """The work with its image (rendered now, once, when it was left to its turn); called by the model's runner.
        ``render`` stays: a page read by one model and sent on to another waits there undecoded too (model=auto)."""
        if self.image is None and self.render is not None:
            self.image = self.render()
        return self


@dataclass
class ChatWork:
    """Answer the last message of a conversation; its images come with its messages."""

    messages: list[ChatMessage]
    params: ChatParams

    @property
    def images(self) -> list[Any]:
        return [image for message in self.messages for image in message.images]

    def ready(self) -> ChatWork:
        return self  # (its images were prepared when it was admitted)


Work = OcrWork | ChatWork
Output = OcrOutput | ChatOutput


def with_image(messages: list[ChatMessage], image: Any) -> list[ChatMessage]:
    """The conversation with ``image`` attached to its first user turn (where a chat about one image keeps it)."""
    first = next((i for i, m in enumerate(messages) if m.role == "user"), None)
    if image is None or first is None:
        return list(messages)
    return [replace(m, images=(image, *m.images)) if i == first else m for i, m in enumerate(messages)]
