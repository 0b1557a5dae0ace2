"""How a vision-language model is asked to read an image, and its transcription taken out of its answer: the
OCR prompt and its language suffix (the transformers and the remote backends alike), the sampling of its OCR answers
and their retry when one fails (``OcrSampling``: olmOCR reads a failed page again hotter), and the clean-ups each
model's registry entry lists (``ocr_cleanup``) that take the wrapping off an answer, applied in the order given."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ..languages import Language
from ..values import ChatParams

OCR_PROMPT = "Read all the text in this image. Reply with the text only, line by line, in reading order, with no comments."
LANGUAGE_PROMPT = " The text is in {language}."  # {language}: the hint's English name(s), from inference.languages


def ocr_prompt(prompt: str, language_prompt: str, language: Language | None) -> str:
    """The instruction sent for /ocr: ``prompt``, and when a language hint is given, ``language_prompt`` with the
    hint's name(s) ('Russian', 'English and Russian'). An empty prompt (a model that reads the image alone) stays
    empty; an empty ``language_prompt`` sends no hint."""
    if language is None or not prompt:
        return prompt
    return prompt + language_prompt.format(language=language.name)


RETRY_REASONS = ("length", "repetition")  # an OCR answer that ended so failed: it looped, or never ended


class OcrSampling(BaseModel):
    """How a page model samples its OCR answers (options of the transformers and openai backends)."""

    ocr_temperature: float = Field(0.0, ge=0.0, le=2.0, description="sampling temperature of an OCR answer (0: greedy)")
    ocr_top_p: float | None = Field(None, gt=0.0, le=1.0, description="nucleus sampling of an OCR answer (when sampling)")
    ocr_retry_temperatures: list[Annotated[float, Field(ge=0.0, le=2.0)]] = Field(
        [],
        max_length=10,
        description="a page whose answer failed (it looped, or reached ocr_max_tokens) is read again at each of these "
        "temperatures in turn until an answer ends on its own; the last answer is kept (olmOCR's retry)",
    )
    chat_template_kwargs: dict[str, Any] = Field(
        {}, description="variables for the model's chat template, e.g. {enable_thinking: false}"
    )

    def ocr_params(self, max_tokens: int, temperature: float | None = None) -> ChatParams:
        """The sampling of an OCR answer (at ``temperature`` when given: a retry)."""
        temperature = self.ocr_temperature if temperature is None else temperature
        return ChatParams(temperature=temperature, max_tokens=max_tokens, top_p=self.ocr_top_p if temperature > 0 else None)


def retry_note(temperatures: Sequence[float], failed: bool) -> str:
    """What a reader of a page read again should know."""
    tried = ", ".join(f"{t:g}" for t in temperatures)
    outcome = "none of the answers ended on its own; the last is kept" if failed else "the last answer is kept"
    return (
        "The model's first answer failed (it repeated itself or reached its limit): the page was read again at "
        f"temperature {tried}; {outcome}."
    )


Cleanup = Literal["front_matter", "doctags", "markers", "fence"]

_FENCE = re.compile(r"^```[\w-]*\n(.*?)\n?```$", re.DOTALL)
_MARKER = re.compile(r"<\|[^|<>\s]{1,48}\|>")
_FRONT_MATTER = re.compile(r"^---\n(?:[A-Za-z_][\w-]*:[^\n]*\n)+---(?:\n|$)")
_LOCATION = re.compile(r"<loc_\d+>")
_LINE_BREAK = re.compile(
    r"<nl>|</(?:text|title|paragraph|section_header_level_\d+|list_item|caption|footnote|"
    r"page_header|page_footer|formula|code|otsl|doctag)>"
)
_TAG = re.compile(r"</?[a-z][a-z0-9_]*>")


def strip_fence(text: str) -> str:
    """Models often wrap a transcription in a ``` fence: keep what is inside."""
    match = _FENCE.match(text.strip())
    return match.group(1) if match else text.strip()


def strip_markers(text: str) -> str:
    """Chat-template markers such as ``<|im_end|>`` or ``<|ref|>`` that a model writes as text."""
    return _MARKER.sub("", text)


def strip_front_matter(text: str) -> str:
    """olmOCR's YAML front matter (``primary_language``, ``is_rotation_valid``...) before the page's text."""
    return _FRONT_MATTER.sub("", text.lstrip(), count=1)


def strip_doctags(text: str) -> str:
    """DocTags (SmolDocling, Granite-Docling): locations dropped, one line per element, tags removed."""
    text = _LINE_BREAK.sub("\n", _LOCATION.sub("", text))
    text = _TAG.sub(" ", text)
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


STEPS: dict[str, Callable[[str], str]] = {
    "front_matter": strip_front_matter,
    "doctags": strip_doctags,
    "markers": strip_markers,
    "fence": strip_fence,
}


def clean(text: str, steps: Sequence[str]) -> str:
    for step in steps:
        text = STEPS[step](text)
    return text.strip()
