"""GOT-OCR 2.0 through transformers' native class (stepfun-ai/GOT-OCR-2.0-hf).

It has no chat template: the processor builds its own OCR prompt. ``output: formatted``
asks for markdown/LaTeX, ``plain`` for text. It runs with eager attention only.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ...values import ChatMessage, ChatWork, OcrWork
from .generate import HfBackend
from .setup import HfOptions


class GotOptions(HfOptions):
    attention: Literal["eager"] = Field("eager", description="GOT-OCR 2.0 supports eager attention only")
    output: Literal["plain", "formatted"] = Field("plain", description="formatted = markdown / LaTeX")
    ocr_max_tokens: int = Field(4096, ge=1, description="new tokens at most for one OCR answer")


class GotOcrBackend(HfBackend):
    tasks = frozenset({"ocr"})
    Options = GotOptions

    def batch_inputs(self, requests: list[ChatWork]) -> Any:
        images = [r.images[0] for r in requests]
        return self.to_device(self.processor(images, return_tensors="pt", format=self.options.output == "formatted"))

    def generate_extra(self) -> dict[str, Any]:
        return {"tokenizer": self.processor.tokenizer, "stop_strings": "<|im_end|>"}

    def ocr_request(self, work: OcrWork) -> ChatWork:
        return ChatWork(
            [ChatMessage(role="user", content="", images=(work.image,))],
            self.options.ocr_params(self.options.ocr_max_tokens),
        )
