"""OCR tab: one image in, its text out at once; the lines found are drawn after, on a small copy."""

from __future__ import annotations

import json
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image, ImageDraw

from inference import InferenceService, call_cancellable
from inference.results import OcrResult

from . import examples
from .endpoints import endpoint, hide_from_mcp
from .errors import keep_on_error, refusal
from .widgets import DOCUMENT_TYPES, caller_of, file_path, image_input, language_hint, language_picker, model_dropdown

OVERLAY_MAX_SIDE = 1200  # the drawing is made on a copy at most this large...
OVERLAY_MAX_HEIGHT = 1600  # ...and at most this tall (a long receipt stays a readable strip)


def describe(result: OcrResult) -> str:
    """Model, time, size, language, lines (or pages) and warnings, as a line a person reads."""
    width, height = result.image_size
    parts = [f"**Model** {result.model}", f"**Time** {result.processing_time:.2f} s"]
    if result.pages is not None:
        from_layer = sum(p.source == "text-layer" for p in result.pages)
        parts.append(f"**Pages** {len(result.pages)}" + (f" ({from_layer} from the PDF's text)" if from_layer else ""))
    else:
        parts += [f"**Image** {width}×{height} px", f"**Lines** {len(result.lines)}"]
    parts.append(f"**Language** {result.language or 'auto'}")
    text = " · ".join(parts)
    failed = [p for p in result.pages or [] if p.error]
    if failed:
        text += "\n\n" + "\n".join(f"- ⚠️ page {p.page}: {p.error}" for p in failed)
    if result.warnings:
        text += "\n\n" + "\n".join(f"- ⚠️ {warning}" for warning in result.warnings)
    return text


def write_downloads(result: OcrResult, name: str) -> list[str]:
    """The result as .txt (the text), .md (the text under a heading) and .json (everything, boxes included)."""
    stem = Path(name).stem or "ocr"
    folder = Path(tempfile.mkdtemp(prefix="chatvlm-ocr-"))
    (folder / f"{stem}.txt").write_text(result.text + "\n", encoding="utf-8")
    (folder / f"{stem}.md").write_text(f"# {stem}\n\n" + result.text.replace("\n", "  \n") + "\n", encoding="utf-8")
    (folder / f"{stem}.json").write_text(json.dumps(result.model_dump(), ensure_ascii=False, indent=2), encoding="utf-8")
    return [str(folder / f"{stem}.{ext}") for ext in ("txt", "md", "json")]


def draw_lines(image_path: str, lines: list[dict[str, Any]]) -> Image.Image:
    """The lines' boxes drawn once onto a downscaled copy of the image."""
    with Image.open(image_path) as original:
        from PIL import ImageOps

        image = ImageOps.exif_transpose(original).convert("RGB")
    scale = min(1.0, OVERLAY_MAX_SIDE / max(image.size), OVERLAY_MAX_HEIGHT / image.height)
    if scale < 1.0:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    draw = ImageDraw.Draw(image)
    width = max(1, round(2 * max(image.size) / 1000))
    for line in lines:
        points = [(x * scale, y * scale) for x, y in line["box"]]
        draw.polygon(points, outline=(220, 38, 38), width=width)
    return image


def build(service: InferenceService) -> None:
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            image = image_input(height=300, elem_id="ocr-image")
            with gr.Accordion("Or a document: PDF, multi-page TIFF", open=False, elem_id="ocr-document-box"):
                document = gr.File(file_types=DOCUMENT_TYPES, label="Document", elem_id="ocr-document")
                with gr.Row():
                    pages = gr.Textbox(label="Pages", placeholder="all, or e.g. 1-3,5", max_lines=1, elem_id="ocr-pages")
                    force = gr.Checkbox(False, label="OCR every page (ignore the PDF's own text)", elem_id="ocr-force")
            model, _ = model_dropdown(service, "ocr", elem_id="ocr-model")
            with gr.Accordion("Language", open=False):
                language = language_picker(elem_id="ocr-language")
            run = gr.Button("Extract text", variant="primary", elem_id="ocr-run")
        with gr.Column(scale=1, min_width=300):
            message = gr.Markdown(elem_id="ocr-message")
            text = gr.Textbox(label="Text", lines=12, max_lines=30, buttons=["copy"], elem_id="ocr-text")
            info = gr.Markdown(elem_id="ocr-info")
            downloads = gr.File(
                label="Download (.txt, .md, .json)", file_count="multiple", interactive=False, elem_id="ocr-downloads"
            )
            show_lines = gr.Checkbox(True, label="Show the lines found", elem_id="ocr-show-lines")
            overlay = gr.Image(label="Lines found", interactive=False, height=480, elem_id="ocr-boxes")
    shown = examples.images()
    gr.Examples(
        [[shown[name]] for name in ("receipt", "report", "russian") if name in shown], inputs=[image], label=examples.LICENCE
    )
    result = gr.State()

    async def read(
        request: gr.Request,
        image_path: str | None,
        model_id: str | None,
        hint: str | None,
        pages: str | None = None,
        force_ocr: bool = False,
    ) -> OcrResult:
        if not image_path:
            raise refusal("Upload an image or a document first.")
        return await call_cancellable(
            service.ocr,
            image_path,
            model_id or None,
            hint,
            filename=Path(image_path).name,
            pages=pages or None,
            force_ocr=bool(force_ocr),
            caller=caller_of(request),
        )

    @keep_on_error(5)
    async def ocr_for_ui(image_path, document_path, page_spec, force_ocr, model_id, picked, request: gr.Request):
        path = file_path(document_path) or image_path  # the document when one is chosen
        found = await read(request, path, model_id, language_hint(picked), page_spec, force_ocr)
        for warning in found.warnings:
            gr.Warning(warning)
        state = {"image": path, "lines": [line.model_dump() for line in found.lines]}
        return found.text, describe(found), write_downloads(found, Path(path).name), state, ""

    def overlay_for(image_path, state, show):
        """The drawing, when asked for and when the last result belongs to the image on screen."""
        if not show or not image_path or not state or state.get("image") != image_path:
            return None
        return draw_lines(image_path, state["lines"])

    # a light progress indicator: on a laptop the browser's animations take CPU from the OCR itself
    read_event = run.click(
        hide_from_mcp(ocr_for_ui),
        [image, document, pages, force, model, language],
        [text, info, downloads, result, message],
        api_visibility="private",
        show_progress="minimal",
    )
    read_event.then(overlay_for, [image, result, show_lines], [overlay], api_visibility="private")
    show_lines.change(overlay_for, [image, result, show_lines], [overlay], api_visibility="private")
    # one input at a time: a new image (uploaded, pasted or an example) replaces the document, and the reverse
    image.change(lambda path: (None, None) if path else (None, gr.skip()), [image], [overlay, document], api_visibility="private")
    document.upload(lambda: (None, None), None, [overlay, image], api_visibility="private")

    # The Gradio API's /ocr and /ocr_document: plain values, and errors raised to the client.
    async def ocr(image_path, model_id, hint, request: gr.Request):
        """Read the text of an image. Returns the text and its details (model, time, size, language, lines with
        boxes, warnings)."""
        found = await read(request, image_path, model_id, hint or None)
        details = found.model_dump(exclude={"text"})
        return found.text, details

    endpoint(
        "ocr",
        ocr,
        [
            partial(image_input, height=100, label="image"),
            partial(gr.Textbox, label="model"),
            partial(gr.Textbox, label="language"),
        ],
        [partial(gr.Textbox, label="text"), partial(gr.JSON, label="details")],
    )

    async def ocr_document(document_path, model_id, hint, page_spec, force_ocr, request: gr.Request):
        """Read the text of a document (PDF, multi-page TIFF) or an image. pages picks pages ('1-3,5'; empty: all);
        force_ocr reads every PDF page from its picture even when the PDF has good text. Returns the whole text and
        its details (model, time, language, warnings, and each page: text, lines, source, time)."""
        found = await read(request, file_path(document_path), model_id, hint or None, page_spec, force_ocr)
        return found.text, found.model_dump(exclude={"text"})

    endpoint(
        "ocr_document",
        ocr_document,
        [
            partial(gr.File, label="document"),
            partial(gr.Textbox, label="model"),
            partial(gr.Textbox, label="language"),
            partial(gr.Textbox, label="pages"),
            partial(gr.Checkbox, label="force_ocr"),
        ],
        [partial(gr.Textbox, label="text"), partial(gr.JSON, label="details")],
    )
