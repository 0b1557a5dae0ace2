"""The small contract every backend implements.

A backend is constructed cheaply from its registry entry; weights are loaded in
``load()``, never in ``__init__``. Capabilities are class attributes, and each
backend declares its config ``options`` as a pydantic model so that the registry
can validate them at start-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from PIL import Image
from pydantic import BaseModel, ConfigDict

from ..settings import ModelSpec


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass
class OcrLine:
    text: str
    box: list[list[float]]  # four [x, y] corners, clockwise from top-left, in image pixels
    confidence: float
    engine: str = ""  # which engine read this line


@dataclass
class OcrOutput:
    text: str
    lines: list[OcrLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what the user should know, e.g. a missing language pack


@dataclass
class ChatParams:
    temperature: float
    max_tokens: int


@dataclass
class ChatMessage:
    role: str  # "user" or "assistant"
    content: str


class Backend:
    """Base class. Subclasses set ``tasks`` and implement what those tasks need."""

    tasks: ClassVar[frozenset[str]] = frozenset()
    requires_source: ClassVar[bool] = False  # weights come from the entry's `source`
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.options: Any = self.Options.model_validate(spec.options)

    @classmethod
    def unavailable_reason(cls, spec: ModelSpec) -> str | None:
        """None when this backend can run here; else what is missing and how to get it."""
        return None

    @property
    def parallelism(self) -> int:
        """How many requests this backend can usefully run at once."""
        return 1

    def load(self) -> None:
        raise NotImplementedError

    def unload(self) -> None:
        raise NotImplementedError

    def ocr(self, image: Image.Image, language: str | None) -> OcrOutput:
        raise NotImplementedError(f"{type(self).__name__} does not do OCR")

    def chat(self, image: Image.Image, messages: list[ChatMessage], params: ChatParams) -> str:
        raise NotImplementedError(f"{type(self).__name__} cannot chat")

    def chat_stream(self, image: Image.Image, messages: list[ChatMessage], params: ChatParams) -> Iterator[str]:
        """Text pieces as they are generated; backends that cannot stream give the whole answer at once."""
        yield self.chat(image, messages, params)
