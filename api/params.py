"""Request parameters that clients may send either in the query string or as form fields.

The API guide's curl examples use ``?model=...`` and its ``requests`` examples
use ``data={...}``; both must work, so each parameter is read from both places.
A parameter sent both ways takes the form field's value (the schema allows both,
so both are accepted; the body is the request's own content, the query a shortcut).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, TypeVar

from fastapi import Form, Query, Request
from pydantic import BeforeValidator

from inference.errors import BadInput

T = TypeVar("T")

MODEL = "Model id from GET /models; the server's default when omitted."
OCR_MODEL = (
    "Model id from GET /models, or auto: each page read by the CPU engine, and by a vision-language model only when it "
    "needs one (each page says which read it: engine, route, confidence); the server's default when omitted."
)
LANGUAGE = "Language hint, e.g. en, ru, en+ru."
PAGES = "Pages of a PDF or multi-page TIFF to read, e.g. 1-3,5 (default: all)."
FORCE_OCR = "true: OCR every PDF page, even one whose text layer is good (default false: the text layer is used)."


def _flag(value: object) -> object:
    """true or false (in any case), as the schema's boolean says: 1, 0, yes, on... are not booleans to it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError("must be true or false")


Flag = Annotated[bool, BeforeValidator(_flag)]


def pick(query: T | None, form: T | None) -> T | None:
    """The form field's value when there is one, else the query string's."""
    return form if form is not None else query


async def given_once(request: Request, names: tuple[str, ...]) -> None:
    """Each parameter (and the one file of /ocr and /chat) at most once in the query string and once in the form: the
    schema gives each one value (a repeated field would otherwise be read as one of its values, silently)."""
    places = [("query string", request.query_params)]
    if request.headers.get("content-type", "").startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        places.append(("form", await request.form()))  # parsed already for the Form parameters: read from cache
    for where, values in places:
        for name in names:
            if len(values.getlist(name)) > 1:
                several = " (several files: POST /batch/ocr, or a job)" if name == "file" else ""
                raise BadInput(f"'{name}' was given more than once in the {where}; give it once{several}.")


async def one_file(request: Request) -> None:
    """The one file of /ocr and /chat sent once (a second would be read instead of the first, silently)."""
    await given_once(request, ("file",))


FORMAT = (
    "json (default): the JSON result, each page's `blocks` included (its structure, the same shape from every engine: "
    "a page VLM's Markdown or HTML tables, LightOnOCR-3's grounding blocks with boxes); text: the text alone "
    "(text/plain); markdown: the page as Markdown (text/markdown), rendered from its blocks when it has them (titles "
    "as headings, tables as tables, headers, footers and page numbers left out), else paragraphs and headings from "
    "the lines' layout."
)
OcrFormat = Literal["json", "text", "markdown"]


@dataclass
class OcrQuery:
    model: str | None
    language: str | None
    pages: str | None = None
    force_ocr: bool = False
    format: OcrFormat = "json"


async def ocr_format(
    request: Request,
    format_query: Annotated[OcrFormat | None, Query(alias="format", description=FORMAT)] = None,
    format_form: Annotated[OcrFormat | None, Form(alias="format", description=FORMAT)] = None,
) -> OcrFormat:
    await given_once(request, ("format",))
    return pick(format_query, format_form) or "json"


async def ocr_params(
    request: Request,
    model_query: Annotated[str | None, Query(alias="model", description=OCR_MODEL, examples=["embedded"])] = None,
    language_query: Annotated[str | None, Query(alias="language", description=LANGUAGE, examples=["en"])] = None,
    pages_query: Annotated[str | None, Query(alias="pages", description=PAGES, max_length=200, examples=["1-3,5"])] = None,
    force_ocr_query: Annotated[Flag | None, Query(alias="force_ocr", description=FORCE_OCR, examples=[False])] = None,
    model_form: Annotated[str | None, Form(alias="model", description=OCR_MODEL, examples=["embedded"])] = None,
    language_form: Annotated[str | None, Form(alias="language", description=LANGUAGE, examples=["en"])] = None,
    pages_form: Annotated[str | None, Form(alias="pages", description=PAGES, max_length=200, examples=["1-3,5"])] = None,
    force_ocr_form: Annotated[Flag | None, Form(alias="force_ocr", description=FORCE_OCR, examples=[False])] = None,
) -> OcrQuery:
    await given_once(request, ("model", "language", "pages", "force_ocr"))
    return OcrQuery(
        model=pick(model_query, model_form),
        language=pick(language_query, language_form),
        pages=pick(pages_query, pages_form),
        force_ocr=bool(pick(force_ocr_query, force_ocr_form)),
    )


PRIORITY = "low, normal (default) or high (admin keys only, or anyone with keys off): orders the key's own jobs."
Priority = Literal["low", "normal", "high"]


async def job_priority(
    request: Request,
    priority_query: Annotated[Priority | None, Query(alias="priority", description=PRIORITY, examples=["normal"])] = None,
    priority_form: Annotated[Priority | None, Form(alias="priority", description=PRIORITY, examples=["normal"])] = None,
) -> Priority:
    await given_once(request, ("priority",))
    return pick(priority_query, priority_form) or "normal"


@dataclass
class ChatQuery:
    prompt: str | None
    model: str | None
    temperature: float | None
    max_tokens: int | None


async def chat_params(
    request: Request,
    # the prompt is documented as the required form field; the query string works too (for curl one-liners)
    prompt_query: Annotated[str | None, Query(alias="prompt", include_in_schema=False)] = None,
    model_query: Annotated[str | None, Query(alias="model", description=MODEL)] = None,
    temperature_query: Annotated[float | None, Query(alias="temperature", description="0.0-1.0, default 0.7")] = None,
    max_tokens_query: Annotated[int | None, Query(alias="max_tokens", description="New tokens at most, default 512")] = None,
    prompt_form: Annotated[str | None, Form(alias="prompt", description="Question about the image.")] = None,
    model_form: Annotated[str | None, Form(alias="model", description=MODEL)] = None,
    temperature_form: Annotated[float | None, Form(alias="temperature", description="0.0-1.0, default 0.7")] = None,
    max_tokens_form: Annotated[int | None, Form(alias="max_tokens", description="New tokens at most, default 512")] = None,
) -> ChatQuery:
    await given_once(request, ("prompt", "model", "temperature", "max_tokens"))
    return ChatQuery(
        prompt=pick(prompt_query, prompt_form),
        model=pick(model_query, model_form),
        temperature=pick(temperature_query, temperature_form),
        max_tokens=pick(max_tokens_query, max_tokens_form),
    )
