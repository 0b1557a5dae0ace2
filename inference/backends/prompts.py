"""The transcription in an OCR model's answer: each model wraps it its own way, and its registry entry lists the
clean-ups (``ocr_cleanup``) that take the wrapping off, applied in the order given."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

Cleanup = Literal["front_matter", "doctags", "markers", "fence"]

_FENCE = re.compile(r"^```[\w-]*\n(.*?)\n?```$", re.DOTALL)
_MARKER = re.compile(r"<\|[^|<>\s]{1,48}\|>")
_FRONT_MATTER = re.compile(r"^---\n(?:[A-Za-z_][\w-]*:[^\n]*\n)+---(?:\n|$)")
_LOCATION = re.compile(r"<loc_\d+>")
_LINE_BREAK = re.compile(r"<nl>|</(?:text|title|paragraph|section_header_level_\d+|list_item|caption|footnote|"
                         r"page_header|page_footer|formula|code|otsl|doctag)>")
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
    "front_matter": strip_front_matter, "doctags": strip_doctags, "markers": strip_markers, "fence": strip_fence,
}


def clean(text: str, steps: Sequence[str]) -> str:
    for step in steps:
        text = STEPS[step](text)
    return text.strip()
