"""Any image-text-to-text model that transformers' Auto classes load and whose processor has a
chat template: Qwen3-VL 2B/4B/8B, Qwen2/2.5-VL (olmOCR), LightOnOCR, PaddleOCR-VL, SmolVLM2 and others, added by
config alone. Per-model options say how /ocr asks (``ocr_prompt``, empty for models that read an image without
one), how large a page the model wants (``longest_side``, ``max_pixels``) and what wraps its answer (``ocr_cleanup``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image
from pydantic import Field

from ...errors import ModelUnavailable
from ...images import fit_longest_side, fit_pixels, pad_to_aspect
from ...languages import Language
from ...values import ChatMessage, ChatWork, OcrWork
from ..prompts import LANGUAGE_PROMPT, OCR_PROMPT, Cleanup, clean, ocr_prompt
from .generate import HfBackend
from .setup import HfOptions

MAX_ASPECT = 100  # Qwen-VL processors refuse images thinner than 1:200


class VlmOptions(HfOptions):
    ocr_prompt: str = Field(
        OCR_PROMPT, description="instruction sent for /ocr; empty: the image alone (models trained without a prompt)"
    )
    language_prompt: str = Field(LANGUAGE_PROMPT, description="appended when a language hint is given; empty: hints are not sent")
    longest_side: int | None = Field(
        None,
        ge=32,
        description="larger images are scaled down to this longest side first (the page size the model was trained on)",
    )
    ocr_cleanup: list[Cleanup] = Field(
        ["fence"],
        description="what is taken off an OCR answer, in order: front_matter (olmOCR's YAML), doctags, "
        "markers (<|...|>), fence (a ``` block)",
    )


def conversation(messages: list[ChatMessage], prepare: Callable[[Image.Image], Image.Image]) -> list[dict[str, Any]]:
    """Chat-template messages: each message's images (prepared for the model) before its text."""
    turns = []
    for message in messages:
        content: list[dict[str, Any]] = [{"type": "image", "image": prepare(image)} for image in message.images]
        if message.content or not content:  # an image alone is sent without an empty text part
            content.append({"type": "text", "text": message.content})
        turns.append({"role": message.role, "content": content})
    return turns


class TransformersVlmBackend(HfBackend):
    tasks = frozenset({"ocr", "chat"})
    Options = VlmOptions

    def check_processor(self, processor: Any) -> None:
        if not getattr(processor, "chat_template", None):
            raise ModelUnavailable(
                f"Model '{self.spec.id}' has no chat template; "
                "the transformers VLM backend needs one (use a backend made for this model)."
            )

    def prepare_image(self, image: Image.Image) -> Image.Image:
        image = pad_to_aspect(image, MAX_ASPECT)
        if self.options.longest_side is not None:
            image = fit_longest_side(image, self.options.longest_side)
        return fit_pixels(image, self.options.max_pixels)

    def batch_inputs(self, requests: list[ChatWork]) -> Any:
        conversations = [conversation(r.messages, self.prepare_image) for r in requests]
        padding: dict[str, Any] = {"padding": True}  # on the left (set at load)
        if self.options.fast_path:
            padding["pad_to_multiple_of"] = self.options.fast_path_prompt_multiple
        batch = self.processor.apply_chat_template(
            conversations,
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
            sanitize_control_tokens=True,  # user text may not smuggle in <|image_pad|>
            processor_kwargs=padding,
            **self.options.chat_template_kwargs,  # the template's own variables (enable_thinking...)
        )
        return self.to_device(batch)

    def ocr_prompt(self, language: Language | None) -> str:
        return ocr_prompt(self.options.ocr_prompt, self.options.language_prompt, language)

    def ocr_request(self, work: OcrWork) -> ChatWork:
        message = ChatMessage(role="user", content=self.ocr_prompt(work.language), images=(work.image,))
        return ChatWork([message], self.options.ocr_params(self.options.ocr_max_tokens))

    def ocr_text(self, answer: str) -> str:
        return clean(answer, self.options.ocr_cleanup)
