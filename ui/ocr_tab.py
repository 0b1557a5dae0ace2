"""OCR tab: one image in, its text out."""

from __future__ import annotations

import gradio as gr

from inference import InferenceService

from .common import image_input, language_box, model_dropdown, user_errors


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

    @user_errors
    def ocr(image_path: str | None, model_id: str | None, hint: str | None) -> tuple[str, dict]:
        if not image_path:
            raise gr.Error("Upload an image first.")
        result = service.ocr(image_path, model_id, hint or None, filename=image_path.rsplit("/", 1)[-1])
        return result.text, {
            "model": result.model,
            "processing_time": result.processing_time,
            "image_size": result.image_size,
            "language": result.language,
            "lines": len(result.lines),
        }

    run.click(ocr, [image, model, language], [text, details], api_name="ocr")
