"""Any image-text-to-text model that transformers' Auto classes load and whose processor has a
chat template: Qwen3-VL 2B/4B/8B, Qwen2/2.5-VL and others, added by config alone.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

from PIL import Image
from pydantic import Field

from ..errors import ModelUnavailable
from ..images import fit_pixels, pad_to_aspect
from ..languages import NAMES, iso_code
from .base import ChatMessage, ChatParams, OcrOutput
from .hf import GenRequest, HfBackend, HfOptions

MAX_ASPECT = 100  # Qwen-VL processors refuse images thinner than 1:200
_FENCE = re.compile(r"^```[\w-]*\n(.*?)\n?```$", re.DOTALL)


class VlmOptions(HfOptions):
    ocr_prompt: str = Field(
        "Read all the text in this image. Reply with the text only, line by line, in reading order, "
        "with no comments.",
        description="instruction sent for /ocr",
    )
    language_prompt: str = Field(" The text is in {language}.", description="appended when a language hint is given")


def conversation(image: Image.Image, messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Chat-template messages; the image is attached to the first user turn and stays with the conversation."""
    turns, attached = [], False
    for message in messages:
        content: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
        if message.role == "user" and not attached:
            content.insert(0, {"type": "image", "image": image})
            attached = True
        turns.append({"role": message.role, "content": content})
    return turns


def strip_fence(text: str) -> str:
    """Models often wrap a transcription in a ``` fence: keep what is inside."""
    match = _FENCE.match(text.strip())
    return match.group(1) if match else text.strip()


class TransformersVlmBackend(HfBackend):
    tasks = frozenset({"ocr", "chat"})
    Options = VlmOptions

    def check_processor(self, processor: Any) -> None:
        if not getattr(processor, "chat_template", None):
            raise ModelUnavailable(
                f"Model '{self.spec.id}' ({self.spec.source}) has no chat template; "
                "the transformers VLM backend needs one (use a backend made for this model)."
            )

    def batch_inputs(self, requests: list[GenRequest]) -> Any:
        conversations = [conversation(fit_pixels(pad_to_aspect(r.image, MAX_ASPECT), self.options.max_pixels), r.messages)
                         for r in requests]
        padding: dict[str, Any] = {"padding": True}  # on the left (set at load)
        if self.options.fast_path:
            padding["pad_to_multiple_of"] = self.options.fast_path_prompt_multiple
        batch = self.processor.apply_chat_template(
            conversations, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt",
            sanitize_control_tokens=True,  # user text may not smuggle in <|image_pad|>
            processor_kwargs=padding,
        )
        return self.to_device(batch)

    def chat(self, image: Image.Image, messages: list[ChatMessage], params: ChatParams) -> str:
        return self.submit(image, messages, params)

    def chat_stream(self, image: Image.Image, messages: list[ChatMessage], params: ChatParams) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        inputs = self.inputs(image, messages)  # streaming answers one request alone, outside the batcher
        streamer = TextIteratorStreamer(self.processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
        failure: list[BaseException] = []

        def run() -> None:
            try:
                self.generate(inputs, params, streamer=streamer)
            except BaseException as exc:  # handed to the consumer below
                failure.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, name=f"generate-{self.spec.id}", daemon=True)
        worker.start()
        yield from streamer
        worker.join()
        if failure:
            raise failure[0]

    def ocr_prompt(self, language: str | None) -> str:
        prompt = self.options.ocr_prompt
        if language:
            prompt += self.options.language_prompt.format(language=NAMES.get(iso_code(language) or "", language))
        return prompt

    def warm_up_messages(self) -> list[ChatMessage]:
        return [ChatMessage(role="user", content=self.ocr_prompt(None))]

    def ocr(self, image: Image.Image, language: str | None) -> OcrOutput:
        message = ChatMessage(role="user", content=self.ocr_prompt(language))
        answer = self.chat(image, [message], ChatParams(temperature=0.0, max_tokens=self.options.ocr_max_tokens))
        return OcrOutput(text=strip_fence(answer))
