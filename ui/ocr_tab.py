"""OCR tab: one image in, its text out."""

from __future__ import annotations

import gradio as gr

from inference import InferenceService, call_cancellable

from .common import image_input, language_box, model_dropdown, user_errors
from .mcp_tools import hide_from_mcp


def build(service: InferenceService) -> None:
    with gr.Row():
        with gr.Column():
            image = image_input(height=420)
            model = model_dropdown(service, "ocr")
            language = language_box()
            run = gr.Button("Extract text", variant="primary")
        with gr.Column():
            text = gr.Textbox(label="Text", lines=18, buttons=["copy"], elem_id="ocr-text")
            details = gr.JSON(label="Details")
    boxes = gr.AnnotatedImage(label="Detected lines", elem_id="ocr-boxes")

    @user_errors
    async def ocr(image_path: str | None, model_id: str | None, hint: str | None):
        if not image_path:
            raise gr.Error("Upload an image first.")
        result = await call_cancellable(service.ocr, image_path, model_id, hint or None,
                                        filename=image_path.rsplit("/", 1)[-1])
        for warning in result.warnings:
            gr.Warning(warning)
        details = {
            "model": result.model,
            "processing_time": result.processing_time,
            "image_size": result.image_size,
            "language": result.language,
            "lines": len(result.lines),
            "warnings": result.warnings,
        }
        return result.text, details, (image_path, line_boxes(result.lines))

    run.click(hide_from_mcp(ocr), [image, model, language], [text, details, boxes], api_name="ocr")


def line_boxes(lines) -> list[tuple[tuple[int, int, int, int], str]]:
    """Each line's bounding rectangle and text, for gr.AnnotatedImage."""
    out = []
    for line in lines:
        xs, ys = [p[0] for p in line.box], [p[1] for p in line.box]
        out.append(((int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))), line.text))
    return out
