"""Requests as values: an OCR or chat request parsed and checked once, cheap checks first (parameters, model,
language, prompt, image count), before any image is decoded. REST, the UI, ``/v1``, MCP and the jobs all come
through here (by way of the service), so a request reads the same whichever door it came in by."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from . import image_urls, images, languages, routing
from .catalog import Catalog, ModelHandle
from .errors import BadInput
from .routing_settings import RoutingSettings
from .settings import Settings
from .values import MAX_MESSAGES, ChatMessage, ChatParams, ChatWork, with_image


@dataclass(frozen=True)
class OcrRequest:
    """Read one document, or a batch of them, with ``model``."""

    model: ModelHandle
    language: languages.Language | None = None
    pages: str | None = None  # which pages, e.g. "1-3,5" (checked against each file when it is opened)
    force_ocr: bool = False  # read a page with a good text layer through the model anyway
    routing: RoutingSettings | None = None  # model=auto: ``model`` is the CPU engine, pages it needs go to ``vlm``
    vlm: ModelHandle | None = None  # (None: none can run here; ``no_vlm`` says why)
    no_vlm: str = ""

    @property
    def model_id(self) -> str:
        """The model as the request named it (``auto`` when routed)."""
        return routing.AUTO if self.routing is not None else self.model.id


@dataclass(frozen=True)
class ChatRequest:
    """Answer the last message of ``messages`` with ``model`` (images not decoded yet, for a chat about one image;
    URLs still, for a conversation)."""

    model: ModelHandle
    messages: tuple[ChatMessage, ...]
    params: ChatParams

    @property
    def prompt(self) -> str:
        return self.messages[-1].content


def auto_request(catalog: Catalog, language: str | None, pages: str | None = None, force_ocr: bool = False) -> OcrRequest:
    """``model=auto``: every page read by the CPU engine, those that need it by the VLM (see inference/routing.py)."""
    settings = catalog.settings.routing
    cpu = routing.cpu_engine(catalog, settings)
    vlm, why = routing.vlm(catalog, settings)
    return OcrRequest(cpu, languages.parse(language), pages, force_ocr, settings, vlm, why)


class Inputs:
    """Parses and checks requests against the server's limits and the catalogue."""

    def __init__(self, catalog: Catalog, settings: Settings):
        self.catalog = catalog
        self.settings = settings
        routing.check(catalog, settings.routing)

    def ocr(self, model: str | None, language: str | None, pages: str | None = None, force_ocr: bool = False) -> OcrRequest:
        if routing.wanted(self.catalog, self.settings.routing, model, self.settings.defaults.ocr_model):
            return self.auto(language, pages, force_ocr)
        handle = self.catalog.resolve("ocr", model)
        return OcrRequest(handle, languages.parse(language), pages, force_ocr)

    def auto(self, language: str | None, pages: str | None = None, force_ocr: bool = False) -> OcrRequest:
        return auto_request(self.catalog, language, pages, force_ocr)

    def batch(
        self, files: Sequence[object], model: str | None, language: str | None, pages: str | None = None, force_ocr: bool = False
    ) -> OcrRequest:
        """An OCR request for ``files``: at least one, at most ``limits.max_batch_files``."""
        limit = self.settings.limits.max_batch_files
        if not files:
            raise BadInput("No files were sent: attach one or more images or PDFs as 'files'.")
        if len(files) > limit:
            raise BadInput(f"Too many files: {len(files)} sent, at most {limit} per batch.")
        return self.ocr(model, language, pages, force_ocr)

    def params(
        self,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: Sequence[str] = (),
        seed: int | None = None,
        max_temperature: float = 1.0,
    ) -> ChatParams:
        """Sampling settings, defaults filled in and each checked once (``max_temperature``: 1.0 for the API guide's
        routes, 2.0 for the OpenAI protocol)."""
        defaults, limits = self.settings.defaults, self.settings.limits
        temperature = defaults.temperature if temperature is None else temperature
        max_tokens = defaults.max_tokens if max_tokens is None else max_tokens
        if not 0.0 <= temperature <= max_temperature:
            raise BadInput(f"temperature must be between 0.0 and {max_temperature} (got {temperature}).")
        if not 1 <= max_tokens <= limits.max_tokens:
            raise BadInput(f"max_tokens must be between 1 and {limits.max_tokens} (got {max_tokens}).")
        if top_p is not None and not 0.0 < top_p <= 1.0:
            raise BadInput(f"top_p must be greater than 0 and at most 1 (got {top_p}).")
        stop = tuple(s for s in stop if s)
        if len(stop) > 4 or any(len(s) > 100 for s in stop):
            raise BadInput("stop takes at most 4 sequences of at most 100 characters each.")
        return ChatParams(
            temperature=float(temperature),
            max_tokens=int(max_tokens),
            top_p=None if top_p is None else float(top_p),
            stop=stop,
            seed=None if seed is None else int(seed),
        )

    def chat(
        self,
        prompt: str,
        model: str | None,
        temperature: float | None,
        max_tokens: int | None,
        history: Sequence[ChatMessage] = (),
    ) -> ChatRequest:
        """A chat about one image (the API guide's /chat, the Chat tab): ``prompt`` after ``history``."""
        prompt = (prompt or "").strip()
        if not prompt:
            raise BadInput("prompt is required: ask something about the image.")
        params = self.params(temperature, max_tokens)
        handle = self.catalog.resolve("chat", model)
        messages = (*history, ChatMessage(role="user", content=prompt))
        self.check_conversation(handle, messages)
        return ChatRequest(handle, messages, params)

    def conversation(self, messages: Sequence[ChatMessage], model: str | None, params: ChatParams) -> ChatRequest:
        """A conversation whose messages carry their own images as URLs (the OpenAI protocol, MCP)."""
        handle = self.catalog.resolve("chat", model)
        self.check_conversation(handle, messages)
        return ChatRequest(handle, tuple(messages), params)

    def check_conversation(self, model: ModelHandle, messages: Sequence[ChatMessage]) -> None:
        """Text within the prompt limits, images within the model's and the server's limits."""
        limits = self.settings.limits
        limit = limits.max_prompt_chars
        if not messages or not messages[-1].content.strip() and not messages[-1].images:
            raise BadInput("prompt is required: ask something about the image.")
        if len(messages[-1].content) > limit:
            raise BadInput(f"prompt is longer than {limit} characters.")
        if sum(len(m.content) for m in messages) > 8 * limit:
            raise BadInput(f"the conversation is longer than {8 * limit} characters; start a new one.")
        if len(messages) > MAX_MESSAGES:
            raise BadInput(f"the conversation has {len(messages)} messages, more than {MAX_MESSAGES}; start a new one.")
        for message in messages:
            try:
                message.content.encode("utf-8")
            except UnicodeEncodeError:  # JSON's "\ud800": no character (the tokenizer raises on it)
                raise BadInput("a message's text is not valid Unicode (it holds an unpaired surrogate).") from None
        count = sum(len(m.images) for m in messages)
        most = min(limits.max_images, model.sizing.max_images)
        if count > most:
            raise BadInput(f"Model '{model.id}' takes at most {most} image(s) per request ({count} sent).")

    def chat_work(self, request: ChatRequest, image: images.ImageSource, filename: str = "file") -> ChatWork:
        """The work of a chat about one image: the image decoded and given to the conversation's first user turn."""
        picture = images.load(image, self.settings.limits, filename, then=request.model.prepare_image)
        return ChatWork(with_image(list(request.messages), picture), request.params)

    def conversation_work(self, request: ChatRequest) -> ChatWork:
        """The work of a conversation whose images come as URLs: each read, decoded and prepared for the model."""
        return ChatWork(self.decode_urls(request.messages, request.model.prepare_image), request.params)

    def read_url(self, url: str) -> bytes:
        """An image URL's bytes (data: URLs; http(s) where ``limits.image_urls`` allows), within the limits."""
        return image_urls.read(url, self.settings.limits)

    def decode_urls(self, messages: Sequence[ChatMessage], prepare: images.Prepare | None = None) -> list[ChatMessage]:
        """The messages with each image URL read, decoded and ``prepare``d (one at a time: a request holds its images
        as the model reads them, not as large as they were sent)."""
        limits, decoded, n = self.settings.limits, [], 0
        for message in messages:
            pictures = []
            for url in message.images:
                n += 1
                pictures.append(images.decode(self.read_url(url), limits, f"image {n}", then=prepare))
            decoded.append(replace(message, images=tuple(pictures)))
        return decoded
