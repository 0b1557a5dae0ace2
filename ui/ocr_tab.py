"""OCR tab: an image or a document in, its text out at once (with Markdown, rendered and raw); beside it, the page
with the lines and blocks found drawn on it, and for a document a page selector. A new input clears the old result;
Extract is off while a read runs."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import anyio
import gradio as gr
from gradio.context import Context
from PIL import Image

from inference import ChatVLMError, InferenceService, call_cancellable
from inference.cancel import waiters
from inference.results import OcrResult

from . import examples
from .endpoints import endpoint, hide_from_mcp
from .errors import keep_on_error, refusal
from .ocr_view import describe, draw, drawing_state, shown_markdown, shown_text, write_downloads
from .previews import Previews
from .widgets import DOCUMENT_TYPES, caller_of, file_path, image_input, language_hint, language_picker, model_dropdown

PREVIEW_SIDE = 1200  # a document's page is previewed at most this large
NEW_INPUT = "New input: press **Extract text** to read it."


def build(service: InferenceService) -> None:
    previews = Previews(Context.root_block, service.limits.min_free_disk_mb * 1024 * 1024)  # (the Blocks being built)
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=280):
            image = image_input(height=260, elem_id="ocr-image", lenient=True)
            with gr.Accordion("Or a document: PDF, multi-page TIFF", open=False, elem_id="ocr-document-box"):
                document = gr.File(file_types=DOCUMENT_TYPES, label="Document", elem_id="ocr-document", height=90)
                with gr.Row():
                    pages = gr.Textbox(label="Pages", placeholder="all, or e.g. 1-3,5", max_lines=1, elem_id="ocr-pages")
                    force = gr.Checkbox(False, label="OCR every page (ignore the PDF's own text)", elem_id="ocr-force")
            model, _ = model_dropdown(service, "ocr", elem_id="ocr-model")
            with gr.Accordion("Language", open=False):
                language = language_picker(elem_id="ocr-language")
            run = gr.Button("Extract text", variant="primary", elem_id="ocr-run")
        with gr.Column(scale=5, min_width=300):
            message = gr.Markdown(elem_id="ocr-message")
            with gr.Tabs(elem_id="ocr-views"):
                with gr.Tab("Text", id="text"):
                    text = gr.Textbox(show_label=False, lines=14, max_lines=30, buttons=["copy"], elem_id="ocr-text")
                with gr.Tab("Markdown", id="markdown"):
                    # each line of the page on its own line, as printed (a Markdown renderer joins a paragraph's lines:
                    # an invoice's "Invoice No." and "Date" ran into one line)
                    markdown = gr.Markdown(elem_id="ocr-markdown", height=420, container=True, line_breaks=True)
                with gr.Tab("Markdown source", id="markdown-source"):
                    source = gr.Textbox(show_label=False, lines=14, max_lines=30, buttons=["copy"], elem_id="ocr-markdown-source")
            info = gr.Markdown(elem_id="ocr-info")
            downloads = gr.File(
                label="Download (.txt, .md, .json)",
                file_count="multiple",
                interactive=False,
                elem_id="ocr-downloads",
                visible=False,  # until there is a result
            )
        with gr.Column(scale=5, min_width=300):
            with gr.Row(equal_height=True):
                page = gr.Dropdown(label="Page", choices=[], visible=False, scale=1, min_width=120, elem_id="ocr-page")
                show_lines = gr.Checkbox(True, label="Show the lines and blocks found", scale=2, elem_id="ocr-show-lines")
            overlay = gr.Image(label="Lines found", interactive=False, height=560, visible=False, elem_id="ocr-boxes")
            # beside the inputs on a wide screen (where the drawing goes once there is one); after the result on a phone
            shown = examples.images()
            gr.Examples(
                [[shown[name]] for name in ("receipt", "report", "russian") if name in shown],
                inputs=[image],
                label=examples.LICENCE,
                elem_id="ocr-examples",
            )
    result = gr.State()

    async def read(
        request: gr.Request,
        image_path: str | None,
        model_id: str | None,
        hint: str | None,
        pages: str | None = None,
        force_ocr: bool = False,
        progress: Callable[[int, int], None] | None = None,
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
            progress=progress,
        )

    @keep_on_error(7)
    async def ocr_for_ui(
        image_path,
        document_path,
        page_spec,
        force_ocr,
        model_id,
        picked,
        request: gr.Request,
        progress=gr.Progress(),  # noqa: B008
    ):
        document = file_path(document_path)
        path = document or image_path  # the document when one is chosen

        def report(done: int, total: int) -> None:  # a document's pages as they are read (from the service's thread)
            if total > 1:
                progress((done, total), desc="Reading", unit="pages")

        # the pages asked for and "OCR every page" are the document's: an image read instead is read whole
        asked = (page_spec, force_ocr) if document else (None, False)
        got = await read(request, path, model_id, language_hint(picked), *asked, report)
        # (its warnings are said under it, in ``describe``'s line, and go with it: a toast outlived its result and sat
        # over the next one)

        def shown() -> tuple:  # (a long document's Markdown and files take a while: off the event loop)
            return drawing_state(got, path, document is not None), write_downloads(got, Path(path).name), shown_markdown(got)

        kept, downloads, markdown = await anyio.to_thread.run_sync(shown)
        return shown_text(got), markdown, markdown, describe(got), gr.File(value=downloads, visible=True), kept, ""

    def picture(state, number) -> tuple[Image.Image, dict]:
        """The page to draw on (the image itself, or a document's page rendered: the service's decoding, in its limits)
        and its entry in the result."""
        entry = next((p for p in state["pages"] if p["page"] == number), state["pages"][0])
        data = Path(state["input"]).read_bytes()
        page = entry["page"] if state["document"] else 1
        return service.page_image(data, page, PREVIEW_SIDE, Path(state["input"]).name), entry

    def charged(request: gr.Request) -> bool:
        """A preview (a document's pages counted, a page decoded or rendered) is work like a read: one request on the
        caller's rate-limit budget (False when it is spent: the preview is left as it is)."""
        try:
            service.charge(caller_of(request))
        except ChatVLMError:
            return False
        return True

    async def overlay_for(image_path, document_path, state, show, number, request: gr.Request):
        """The drawing beside the text: the page on screen with its lines and blocks (when asked for), or a
        document's page alone; hidden for an image when the drawing is off (the image is on the left already)."""
        document = file_path(document_path)
        current = document or image_path
        if not state or state.get("input") != current:  # not read yet: a document's page as it is, or nothing
            state = {"input": document, "document": True, "pages": [{"page": number or 1, "lines": [], "blocks": []}]}
            show = False
            if not document:
                return gr.Image(value=None, visible=False)
        if not show and not state["document"]:
            return gr.Image(value=None, visible=False)
        if not charged(request):
            return gr.skip()
        try:
            shown, entry = await anyio.to_thread.run_sync(picture, state, number, limiter=waiters())  # (a PDF's page
            # waits for a PDF reader: in the waiters' pool, not the one every other thread of the server takes from)
        except Exception:  # the upload is gone (its TTL) or cannot be shown: no drawing, the text stays
            return gr.Image(value=None, visible=False)
        found = "lines and blocks found" if entry["blocks"] else "lines found"
        label = f"Page {entry['page']}" if state["document"] else found.capitalize()
        if not entry.get("size"):
            label += " (not read yet)"
        if show:
            shown = await anyio.to_thread.run_sync(draw, shown, entry["size"], entry["lines"], entry["blocks"])
            label += f": {found}" if state["document"] else ""
        try:  # (a file the browser fetches: on the caller's quota of kept files, see ui.previews)
            kept = await anyio.to_thread.run_sync(previews.kept, shown, caller_of(request))
        except gr.Error as exc:
            gr.Warning(exc.message)
            return gr.skip()
        return gr.Image(value=kept, visible=True, label=label)

    def pages_of(state):
        """The page selector: shown for a document, its pages as read."""
        if not state or not state.get("document"):
            return gr.Dropdown(choices=[], value=None, visible=False)
        numbers = [p["page"] for p in state["pages"]]
        return gr.Dropdown(choices=[(f"{n}", n) for n in numbers], value=numbers[0], visible=len(numbers) > 1)

    async def pages_in(document_path, request: gr.Request):
        """The page selector for a document just chosen: its pages (before it is read, for the preview)."""
        document = file_path(document_path)
        if not document or not charged(request):
            return gr.skip()
        count = await anyio.to_thread.run_sync(lambda: service.page_count(Path(document).read_bytes()), limiter=waiters())
        numbers = list(range(1, min(count, service.limits.max_pages) + 1))
        return gr.Dropdown(choices=[(f"{n}", n) for n in numbers], value=1, visible=count > 1)

    def cleared(path):
        """A new input: the old result goes (its text, drawing and downloads) and the message says what to do."""
        if not path:
            return (*(gr.skip(),) * 6, gr.skip(), gr.skip(), gr.skip())
        gone = ("", "", "", "", gr.File(value=None, visible=False), None)  # text, Markdown, source, details, files, result
        return (*gone, gr.Image(value=None, visible=False), gr.Dropdown(choices=[], value=None, visible=False), NEW_INPUT)

    drawn = [image, document, result, show_lines, page]
    private = {"api_visibility": "private"}
    outputs = [text, markdown, source, info, downloads, result, message]
    busy = run.click(
        lambda: (gr.Button(interactive=False), "Reading…"),
        None,
        [run, message],
        queue=False,
        api_visibility="private",
    )
    # a light progress indicator: on a laptop the browser's animations take CPU from the OCR itself
    read_event = busy.then(
        hide_from_mcp(ocr_for_ui),
        [image, document, pages, force, model, language],
        outputs,
        api_visibility="private",
        show_progress="minimal",
        show_progress_on=[text],  # (one progress, over the text it fills: it showed above the tabs too)
    )
    read_event.then(lambda: gr.Button(interactive=True), None, [run], queue=False, api_visibility="private")
    read_event.then(pages_of, [result], [page], api_visibility="private").then(
        overlay_for, drawn, [overlay], api_visibility="private"
    )
    gr.on([show_lines.change, page.select], overlay_for, drawn, [overlay], api_visibility="private")  # (select: input came twice)
    # one input at a time: a new image (uploaded, pasted or an example) replaces the document, and the reverse, in the
    # browser at once (done by the server, a read started before its answer came took the document: on a busy
    # server an example image clicked after a PDF was read as the PDF); the old result is cleared either way
    image.change(None, [image, document], [document], js="(image, document) => image ? null : document", **private)
    image.change(cleared, [image], [*outputs[:-1], overlay, page, message], **private)
    document.upload(None, None, [image], js="() => null", **private)
    document.upload(cleared, [document], [*outputs[:-1], overlay, page, message], **private).then(
        pages_in, [document], [page], **private
    ).then(overlay_for, drawn, [overlay], **private)

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
