"""InferenceService: the one API that REST, the Gradio UI, ``/v1``, MCP and the jobs' edges call; a facade over the
core's parts: ``catalog`` (which model), ``inputs`` (requests parsed and checked once), ``pages`` (documents read page
by page), ``jobs`` (long work) and the ``manager``. Each request is charged to its caller's rate-limit budget first,
has a deadline (``limits.request_timeout_s``) and may carry a :class:`~inference.cancel.CancelToken` that its edge
cancels when the caller goes away. It knows nothing of HTTP or Gradio; its errors are the typed ones of ``errors``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import documents, routing
from .callers import CALLER
from .cancel import CancelToken, deadline_for
from .catalog import TASK_VERBS, Catalog
from .chats import Chats
from .images import ImageSource
from .inputs import Inputs
from .jobs import Jobs
from .manager import ModelManager
from .observe import Observers
from .pages import Pages
from .rate_limit import RateLimiter, storage_for
from .results import (
    ActionResult,
    ApiInfo,
    BatchResult,
    ChatResult,
    HealthResult,
    ModelChoice,
    ModelInfo,
    ModelsResult,
    OcrResult,
    ReadyResult,
)
from .service_jobs import JobsFacade
from .settings import DefaultSettings, LimitSettings, Settings
from .streams import TextStream
from .values import ChatMessage, ChatOutput, ChatParams

log = logging.getLogger(__name__)


class InferenceService(JobsFacade):
    def __init__(self, settings: Settings):
        self.settings, self.observers = settings, Observers()
        self.catalog = Catalog(settings, self.observers)
        self.manager = ModelManager(
            self.catalog,
            lambda sizing: settings.limits.queue_size(sizing.workers * sizing.max_batch),
            settings.limits.shutdown_grace_s,
            self.observers,
            settings.limits.model_memory_gb,
            settings.limits.model_resident_s,
        )
        self.inputs = Inputs(self.catalog, settings)
        self.pages = Pages(settings.limits, self.manager)
        self.chats = Chats(self.inputs, self.manager, settings.limits)
        # one budget per caller, whichever the door (and whichever the replica: in Redis when a broker is configured)
        self.rate_limiter = RateLimiter(settings.limits.rate_limit, storage_for(settings.jobs.broker_url))
        self._preload_done = threading.Event()
        self._closing = False
        self._jobs: Jobs | None = None
        self._jobs_lock = threading.Lock()
        if not settings.server.preload:
            self._preload_done.set()

    # ---- what the edges may read ------------------------------------------------------------------
    @property
    def title(self) -> str:
        return self.settings.server.title

    @property
    def limits(self) -> LimitSettings:
        return self.settings.limits

    @property
    def defaults(self) -> DefaultSettings:
        return self.settings.defaults

    def model_ids(self, task: str | None = None) -> list[str]:
        """Configured models (those that can do ``task`` when given), in config order, runnable here or not."""
        return self.catalog.ids(task)

    def default_model(self, task: str) -> str | None:
        return self.catalog.default_model(task)

    def models_for(self, task: str) -> list[str]:
        """Models that can do ``task`` and can run here, default first."""
        return self.catalog.models_for(task)

    def model_choices(self, task: str) -> list[ModelChoice]:
        """The models for ``task`` as a person picks one; only the ``runnable`` ones may be picked (``note``: why not)."""
        return self.catalog.choices(task)

    def auto_choice(self) -> tuple[ModelChoice, bool] | None:
        """OCR's ``model=auto`` as a person picks it, and whether it is the default, where it routes pages (a CPU engine
        and a VLM both run here); None elsewhere."""
        auto = routing.choice(self.catalog, self.settings.routing)
        return None if auto is None else (auto, self.settings.defaults.ocr_model == routing.AUTO)

    def cannot_run(self, task: str, model: str | None = None) -> str | None:
        """Why ``model`` (None: the default) cannot do ``task`` here until an administrator acts, or None."""
        return self.catalog.cannot_run(task, model)

    def add_observer(self, observer: Any) -> None:
        """Something told of the core's events (a model used, a batch run: ``observe.Observers``), e.g. metrics."""
        self.observers.add(observer)

    def page_count(self, data: bytes, pages: str | None = None) -> int:
        """Pages reading ``data`` will take (nothing rendered); 1 for an image or a bad file."""
        return documents.page_count(data, pages, self.settings.limits)

    def page_image(self, data: bytes, number: int = 1, longest_side: int = 1200, name: str = "file") -> Any:
        """Page ``number`` of an image or document as an upright RGB PIL image at most ``longest_side`` px (a
        preview: PDFs render in the PDF reader's process, within the limits); BadInput when it cannot be shown."""
        doc = documents.open_document(
            data, self.settings.limits, name, str(number), longest_side, force_ocr=True, text_layer=False
        )
        try:
            image = doc.pages[0].render()
        finally:
            doc.close()
        image.thumbnail((longest_side, longest_side))
        return image

    def read_image_url(self, url: str) -> bytes:
        """An image URL's bytes (data: URLs; http(s) where ``limits.image_urls`` allows), within the limits."""
        return self.inputs.read_url(url)

    # ---- models -----------------------------------------------------------------------------------
    def list_models(self) -> ModelsResult:
        return self.manager.models({task: self.default_model(task) for task in TASK_VERBS})

    def charge(self, caller: str | None) -> None:
        """One request on ``caller``'s ``limits.rate_limit`` budget (or RateLimited), its work taking the caller's turns at
        models and PDF readers; None: unlimited, turns kept (own work, or charged at its door: MCP). Doors charge first."""
        self.rate_limiter.charge(caller)
        CALLER.set(caller or CALLER.get())

    def load_model(self, model_id: str, caller: str | None = None) -> ModelInfo:
        self.charge(caller)
        self.manager.load(model_id)
        return self.manager.info(model_id)

    def unload_model(self, model_id: str, caller: str | None = None) -> ActionResult:
        self.charge(caller)
        if self.manager.unload(model_id):
            return ActionResult(status="success", message=f"Model {model_id} unloaded")
        return ActionResult(status="success", message=f"Model {model_id} was not loaded; nothing to unload")

    def preload(self) -> threading.Thread | None:
        """Load ``server.preload``'s models one after another in the background, so that the first requests
        (and a fast path's compile) do not wait for them; /models and /ready show their progress."""
        ids = list(self.settings.server.preload)
        return self.manager.preload(ids, self._preload_done) if ids else None

    def wait_for_preload(self, timeout: float | None = None) -> bool:
        return self._preload_done.wait(timeout)

    def close(self, grace_s: float | None = None) -> None:
        """Shut down: stop admitting, let queued work finish for ``limits.shutdown_grace_s``, stop the rest, unload."""
        self._closing = True
        if self._jobs is not None:
            self._jobs.stop()
        self.manager.shutdown(self.settings.limits.shutdown_grace_s if grace_s is None else grace_s)

    # ---- status -----------------------------------------------------------------------------------
    def health(self) -> HealthResult:
        return self.manager.health()

    def readiness(self) -> ReadyResult:
        """Ready once the preloaded models are loaded; not while they load, when one failed, or at shutdown."""
        result = self.manager.readiness(self.settings.server.preload, not self._preload_done.is_set(), self._closing)
        problem = self.jobs_problem() if result.ready and self.settings.jobs.distributed else None
        if problem:
            return ReadyResult(ready=False, detail=f"Not ready: {problem}.", models=result.models)
        return result

    def info(self) -> ApiInfo:
        return ApiInfo(message=f"{self.settings.server.title} API", version=self.settings.server.version)

    def startup_report(self) -> list[str]:
        """What a person starting the server needs to know, in a few lines (logged at start-up)."""
        return self.catalog.startup_report()

    # ---- OCR --------------------------------------------------------------------------------------
    def ocr(
        self,
        image: ImageSource,
        model: str | None = None,
        language: str | None = None,
        filename: str = "file",
        cancel: CancelToken | None = None,
        pages: str | None = None,
        force_ocr: bool = False,
        caller: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> OcrResult:
        """Read one image or document (PDF, multi-page TIFF: ``pages`` picks pages, "1-3,5"; a page with a good text layer
        is read from it unless ``force_ocr``); a failed page fails it. ``caller``: who pays; ``progress``: as batch_ocr's."""
        self.charge(caller)
        started, deadline = time.perf_counter(), deadline_for(cancel, self.settings.limits.request_timeout_s)
        request = self.inputs.ocr(model, language, pages, force_ocr)
        self.manager.check_room(request.model, 1)  # a busy server refuses before decoding
        return self.pages.ocr(request, image, filename, deadline, cancel, started, progress)

    def batch_ocr(
        self,
        files: Sequence[tuple[str, ImageSource]],
        model: str | None = None,
        language: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: CancelToken | None = None,
        pages: str | None = None,
        force_ocr: bool = False,
        caller: str | None = None,
    ) -> BatchResult:
        """OCR many files (images and documents); a bad file or page fails alone (status 'error'), never the whole
        batch (one request on ``caller``'s budget). ``progress(done, total)`` is called from this thread as pages
        finish (a file counts once per page read)."""
        self.charge(caller)
        started, deadline = time.perf_counter(), deadline_for(cancel, self.settings.limits.request_timeout_s)
        request = self.inputs.batch(files, model, language, pages, force_ocr)
        self.manager.check_room(request.model, min(len(files), self.settings.limits.max_batch_files))
        return self.pages.batch(request, files, deadline, cancel, started, progress)

    # ---- chat -------------------------------------------------------------------------------------
    def chat_params(
        self,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: Sequence[str] = (),
        seed: int | None = None,
        max_temperature: float = 1.0,
    ) -> ChatParams:
        """Sampling settings, defaults filled in and each checked once (:meth:`Inputs.params`)."""
        return self.inputs.params(temperature, max_tokens, top_p, stop, seed, max_temperature)

    def chat(
        self,
        image: ImageSource,
        prompt: str,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        history: Sequence[ChatMessage] = (),
        filename: str = "file",
        cancel: CancelToken | None = None,
        caller: str | None = None,
    ) -> ChatResult:
        """An answer about one image (and the conversation so far, ``history``)."""
        self.charge(caller)
        return self.chats.answer(image, prompt, model, temperature, max_tokens, history, filename, cancel)

    def chat_stream(
        self,
        image: ImageSource,
        prompt: str,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        history: Sequence[ChatMessage] = (),
        filename: str = "file",
        cancel: CancelToken | None = None,
        caller: str | None = None,
    ) -> TextStream:
        """The answer as it is generated. Validation errors and Overloaded raise here, before any piece;
        closing the stream stops the generation."""
        self.charge(caller)
        return self.chats.answer_stream(image, prompt, model, temperature, max_tokens, history, filename, cancel)

    def complete(
        self,
        messages: Sequence[ChatMessage],
        model: str | None,
        params: ChatParams,
        cancel: CancelToken | None = None,
        caller: str | None = None,
    ) -> tuple[str, ChatOutput]:
        """Answer a conversation whose images come as URLs with their messages (the OpenAI protocol, MCP); returns
        the model that answered and the answer (text, finish reason, token counts)."""
        self.charge(caller)
        return self.chats.complete(messages, model, params, cancel)

    def complete_stream(
        self,
        messages: Sequence[ChatMessage],
        model: str | None,
        params: ChatParams,
        cancel: CancelToken | None = None,
        caller: str | None = None,
    ) -> TextStream:
        """:meth:`complete`, streamed: admitted (or refused) here; closing the stream stops the generation."""
        self.charge(caller)
        return self.chats.complete_stream(messages, model, params, cancel)
