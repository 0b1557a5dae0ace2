"""Backends by name, imported lazily so that an unused heavy library is never imported."""

from __future__ import annotations

import importlib

from .base import Backend

_BACKENDS = {
    "embedded": "inference.backends.ocr.embedded:EmbeddedOcrBackend",
    "rapidocr": "inference.backends.ocr.rapid:RapidOcrBackend",
    "tesseract": "inference.backends.ocr.tesseract:TesseractBackend",
    "transformers": "inference.backends.hf.vlm:TransformersVlmBackend",
    "got_ocr": "inference.backends.hf.got_ocr:GotOcrBackend",
    "openai": "inference.backends.remote.backend:RemoteOpenAIBackend",
}


def names() -> list[str]:
    return sorted(_BACKENDS)


def backend_class(name: str) -> type[Backend]:
    module_name, _, class_name = _BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)
