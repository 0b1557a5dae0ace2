"""The OCR engines: RapidOCR (embedded ONNX), Tesseract, and the embedded default that combines them.

Nothing is imported here, so that an unused engine's library is never imported."""
