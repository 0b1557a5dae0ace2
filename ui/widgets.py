"""The inputs every tab builds the same way: an image upload that refuses an unreadable file in one sentence, the
honest model dropdown, and the language picker (names from the kernel's ``inference.languages.NAMES``, the one
source of language names); plus the small readers of their values and of who is asking."""

from __future__ import annotations

from typing import Any

import gradio as gr

from inference import InferenceService
from inference.callers import address_caller
from inference.images import not_an_image, open_image
from inference.languages import NAMES

from .errors import refusal

DOCUMENT_TYPES = [".pdf", ".tif", ".tiff"]  # what the document inputs take (images go to the image inputs)
LANGUAGES = [(name, code) for code, name in NAMES.items()]  # the picker's (label, value) choices


def image_input(height: int, elem_id: str | None = None, label: str = "Image", lenient: bool = False) -> gr.Image:
    """An image upload whose unreadable files give a readable gr.Error, not Gradio's preprocessing trace; or, when
    ``lenient`` (a tab whose handler says errors in its own message line), are passed on as uploaded: the service
    refuses them in one sentence, once, instead of a toast for every event the image feeds.

    (Wrapped per instance: subclassing a Gradio component makes Gradio write a .pyi file next to this one.)
    """
    # image_mode=None: the file is passed on as uploaded (the service decodes it; Gradio would re-encode it first)
    image = gr.Image(
        type="filepath", label=label, sources=["upload", "clipboard"], height=height, elem_id=elem_id, image_mode=None
    )

    def preprocess(payload: Any) -> Any:
        """The upload's path, once its header shows an image of ours (``inference.images.FORMATS``): Gradio's own
        preprocessing opens it with every format Pillow has, and an icon decodes its picture while being opened."""
        if payload is None:
            return None
        path = getattr(payload, "path", None)
        try:
            with open_image(path):
                return path
        except Exception:
            if lenient and isinstance(path, str):
                return path
            name = getattr(payload, "orig_name", None) or "the upload"
            raise refusal(not_an_image(name)) from None

    image.preprocess = preprocess
    return image


def model_dropdown(
    service: InferenceService, task: str, label: str = "Model", elem_id: str | None = None
) -> tuple[gr.Dropdown, bool]:
    """The models that can do the task and can run here (the default first): only they can be chosen; those that
    cannot are counted under the list with why (a person's choice never starts a download or a model that cannot run).
    OCR offers ``auto`` too where it routes pages (the CPU engine first, a VLM for the pages that need it), first when
    it is the default: the UI reads as a request without a model does. Returns the dropdown and whether any can run."""
    choices = service.model_choices(task)
    runnable = [c for c in choices if c.runnable]
    auto = service.auto_choice() if task == "ocr" else None
    if auto is not None:
        runnable.insert(0 if auto[1] else min(1, len(runnable)), auto[0])
    others = [c for c in choices if not c.runnable]
    reasons = ", ".join(dict.fromkeys(why_not(c.note) for c in others))
    # short (on a phone it stands above the result): the Models tab names each model and what it needs
    info = f"{len(others)} more cannot run here ({reasons}): the Models tab lists them." if others else None
    if not runnable:
        info = "No model for this can run on this server yet." + (f" {info}" if info else "")
    dropdown = gr.Dropdown(
        choices=[(f"{c.name}: {c.note}" if c.note else c.name, c.id) for c in runnable],
        value=runnable[0].id if runnable else None,
        label=label,
        elem_id=elem_id,
        info=info,
        allow_custom_value=True,  # a Gradio API caller naming another model gets the server's sentence, not Gradio's
    )
    return dropdown, bool(runnable)


def why_not(note: str) -> str:
    """A model's note without its how-to (the command is the Models tab's and the operator's, not a reader's)."""
    return note.split(":", 1)[0].strip() or "cannot run here"


def language_picker(elem_id: str | None = None) -> gr.Dropdown:
    """Languages by name; several may be chosen (a page in English and Russian); none = let the server tell."""
    return gr.Dropdown(
        choices=LANGUAGES,
        value=[],
        multiselect=True,
        label="Language (optional)",
        info="Leave empty to let the server tell; pick several for a page that mixes them.",
        elem_id=elem_id,
    )


def language_hint(picked: Any) -> str | None:
    """The picker's value as the service's hint: 'en', 'en+ru', or None."""
    if isinstance(picked, str):
        return picked.strip() or None
    return "+".join(str(code) for code in picked or []) or None


def file_path(value: Any) -> str | None:
    """A gr.File's value (a path, or an object with .name in some Gradio versions) as a path; None when empty."""
    if not value:
        return None
    return value if isinstance(value, str) else getattr(value, "name", None) or str(value)


def principal_of(request: Any) -> Any:
    """The principal the REST edge's gatekeeper found for a Gradio event's HTTP request (``.role``, ``.name``), or
    None (keys off and the UI served alone)."""
    http = getattr(request, "request", None) if isinstance(request, gr.Request) else request  # MCP: Starlette's
    return (getattr(http, "scope", None) or {}).get("state", {}).get("principal")


def role_of(request: Any) -> str | None:
    """The role of the caller of a Gradio event (``admin`` for everyone when keys are off; None when the UI is served
    alone): what ``inference.for_role`` tells it."""
    return getattr(principal_of(request), "role", None)


def caller_of(request: Any) -> str | None:
    """Whose rate-limit budget a Gradio event spends (the service charges it): the principal the gatekeeper found
    for its HTTP request (a key's fingerprint, or ``address <ip>`` when keys are off), as the REST routes name it;
    without one (the UI served alone), the Gradio user or the client's address."""
    principal = principal_of(request)
    if principal is not None:
        return principal.name
    name = getattr(request, "username", None)
    if name:
        return name.split(":", 1)[-1]
    http = getattr(request, "request", None) if isinstance(request, gr.Request) else request
    client = getattr(http, "client", None)
    return address_caller(client.host) if client is not None else None
