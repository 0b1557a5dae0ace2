"""Backends by name, imported lazily so that an unused heavy library is never imported."""

from __future__ import annotations

import importlib

from .base import Backend

_BACKENDS = {
    "embedded": "inference.backends.embedded:EmbeddedOcrBackend",
    "rapidocr": "inference.backends.rapid:RapidOcrBackend",
    "tesseract": "inference.backends.tesseract:TesseractBackend",
    "transformers": "inference.backends.vlm:TransformersVlmBackend",
    "got_ocr": "inference.backends.got_ocr:GotOcrBackend",
    "openai": "inference.backends.remote:RemoteOpenAIBackend",
}


def names() -> list[str]:
    return sorted(_BACKENDS)


def backend_class(name: str) -> type[Backend]:
    module_name, _, class_name = _BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)
