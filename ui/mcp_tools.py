"""The server's work as MCP tools (Gradio's MCP server, at /gradio_api/mcp/): OCR of one image, OCR of several,
and a question about an image. Agents (Claude Desktop, Cursor, any MCP client) call them directly. They take
images as URLs: ``data:`` URLs always, ``http(s)`` ones when the server allows it (``limits.image_urls``); with API
keys on, the MCP client sends a key like any other client. The UI's own events are not offered as tools."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import anyio
import gradio as gr

from inference import BadInput, ChatMessage, ChatVLMError, InferenceService, call_cancellable

from .endpoints import endpoint, is_hidden_from_mcp
from .widgets import caller_of


def build(service: InferenceService) -> None:
    """Register the tools (named endpoints, off Gradio's queue so that they run within the MCP request)."""

    async def ocr_image(image: str, request: gr.Request, model: str = "", language: str = "") -> str:
        """Read all the text in an image of a document (a scanned page, a photo of a receipt, a screenshot) with OCR.

        Args:
            image: the image as a data URL (data:image/png;base64,...), or an http(s) URL when the server fetches URLs.
            model: OCR model id from the server's model list; leave empty for the server's default OCR model.
            language: language hint such as en, ru or de; leave empty to let the server tell.

        Returns:
            JSON: the text in reading order (one line per line of the document), the model that read it, warnings
        """
        service.charge(caller_of(request))  # before the image is fetched
        data = await anyio.to_thread.run_sync(service.read_image_url, image)  # (a URL's fetch: off the event loop)
        result = await call_cancellable(service.ocr, data, model or None, language or None, filename="image")
        return as_json({"text": result.text, "model": result.model, "warnings": result.warnings, "image_size": result.image_size})

    async def ocr_images(images: list[str], request: gr.Request, model: str = "", language: str = "") -> str:
        """Read the text of several document images at once (the pages of a document, a stack of receipts).

        Args:
            images: the images, each a data URL (data:image/png;base64,...) or an http(s) URL when the server fetches URLs.
            model: OCR model id from the server's model list; leave empty for the server's default OCR model.
            language: language hint such as en, ru or de; leave empty to let the server tell.

        Returns:
            JSON: one entry per image, in order: its text, or the error that kept it from being read
        """
        service.charge(caller_of(request))  # one request, before the images are fetched
        if not isinstance(images, list) or not all(isinstance(url, str) for url in images):
            raise BadInput("images must be a list of image URLs (data: URLs, or http(s) URLs when the server fetches them).")
        limit = service.limits.max_batch_files
        if len(images) > limit:  # counted before any is fetched
            raise BadInput(f"Too many files: {len(images)} sent, at most {limit} per batch.")
        entries: list[dict[str, Any]] = []
        files = []
        for i, url in enumerate(images):
            name = f"image {i + 1}"
            try:
                files.append((name, await anyio.to_thread.run_sync(service.read_image_url, url)))
                entries.append({"image": name})
            except ChatVLMError as exc:  # a URL that cannot be read fails alone, like an unreadable file
                entries.append({"image": name, "status": "error", "text": "", "error": str(exc)})
        if files:
            result = await call_cancellable(service.batch_ocr, files, model or None, language or None)
            read_ones = iter(result.results)
            for entry in entries:
                if "status" not in entry:
                    item = next(read_ones)
                    entry.update(status=item.status, text=item.text, error=item.error)
        return as_json(entries)

    async def ask_about_image(image: str, question: str, request: gr.Request, model: str = "", max_tokens: int = 512) -> str:
        """Ask a vision-language model a question about an image (describe it, find something in it, explain a chart
        or a form, extract fields from a document).

        Args:
            image: the image as a data URL (data:image/png;base64,...), or an http(s) URL when the server fetches URLs.
            question: what to ask about the image.
            model: chat model id from the server's model list; leave empty for the server's default chat model.
            max_tokens: the longest answer, in tokens.

        Returns:
            the model's answer
        """
        messages = [ChatMessage(role="user", content=question, images=(image,))]
        params = service.chat_params(None, max_tokens)
        _, output = await call_cancellable(service.complete, messages, model or None, params, caller=caller_of(request))
        return output.text

    image, optional = partial(gr.Textbox, label="image"), partial(gr.Textbox, value="")  # "": the server's choice
    answer = [partial(gr.Textbox, label="result")]
    endpoint(
        "ocr_image",
        ocr_image,
        [image, partial(optional, label="model"), partial(optional, label="language")],
        answer,
        tool=True,
        queue=False,
    )
    endpoint(
        "ocr_images",
        ocr_images,
        [string_list, partial(optional, label="model"), partial(optional, label="language")],
        answer,
        tool=True,
        queue=False,
    )
    endpoint(
        "ask_about_image",
        ask_about_image,
        [
            image,
            partial(gr.Textbox, label="question"),
            partial(optional, label="model"),
            partial(gr.Number, value=512, precision=0, label="max_tokens"),
        ],
        answer,
        tool=True,
        queue=False,
    )


def string_list() -> gr.JSON:
    """A JSON input that says what it takes (a list of strings) to the API's and the MCP server's schema.

    (Set per instance: subclassing a Gradio component makes Gradio write a .pyi file next to this one.)
    """
    box = gr.JSON(label="images")
    schema = {"type": "array", "items": {"type": "string"}}
    box.api_info = lambda: schema  # type: ignore[method-assign]
    box.api_info_as_input = lambda: schema  # type: ignore[method-assign]
    return box


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def only_tools(blocks: gr.Blocks) -> None:
    """Gradio's MCP server lists only the tools, but would call any named event by name, the UI's too (their file
    inputs filled by its loopback client, which uploads a path it is given from the server's own disk). Once the
    app is mounted (its MCP server made), only the tools keep a name there."""
    server = getattr(blocks, "mcp_server_obj", None)
    for name, api_name in list(getattr(server, "tool_to_endpoint", {}).items()):
        block_fn = server.get_block_fn_from_endpoint_name(api_name)
        if block_fn is None or is_hidden_from_mcp(block_fn.fn):
            del server.tool_to_endpoint[name]
