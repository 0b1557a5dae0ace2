"""InferenceService: the one API that the REST routes and the Gradio UI call.

Each request is parsed once here (cheap checks first: parameters, model id, language; then the image),
becomes work for the model's runner (admitted at once or refused with Overloaded), and its result comes
back as a result object. Every request has a deadline (``limits.request_timeout_s``) and may carry a
:class:`~inference.cancel.CancelToken` that its edge cancels when the caller goes away. The service knows
nothing of HTTP or Gradio; its errors are the typed ones of ``errors.py``.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from . import documents, image_urls, images, languages
from .cancel import CancelToken, Deadline
from .device import gpu_info, memory_in_use
from .errors import BadInput, Cancelled, ChatVLMError, ModelUnavailable, redact_paths
from .images import ImageSource
from .jobs import Jobs
from .manager import ERROR, READY, UNAVAILABLE, ModelManager
from .observe import Observers
from .rate_limit import RateLimiter
from .reading import FileInfo, PageRead, file_infos, read_pages
from .registry import Registry
from .results import (
    ActionResult,
    ApiInfo,
    BatchItem,
    BatchResult,
    ChatResult,
    HealthResult,
    ModelChoice,
    ModelInfo,
    ModelsResult,
    OcrResult,
    PageResult,
    ReadyResult,
)
from .settings import DefaultSettings, LimitSettings, Settings
from .streams import TextStream
from .tickets import Ticket
from .values import ChatMessage, ChatOutput, ChatParams, ChatWork, Work, with_image

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
TASK_VERBS = {"ocr": "do OCR", "chat": "chat"}


class InferenceService:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.registry = Registry(settings)
        self.registry.check_default("ocr", settings.defaults.ocr_model)
        self.registry.check_default("chat", settings.defaults.chat_model)
        self.registry.check_preload(settings.server.preload)
        self.observers = Observers()
        self.manager = ModelManager(
            self.registry,
            queue_size=lambda backend: settings.limits.queue_size(backend.workers * backend.max_batch),
            unload_grace_s=settings.limits.shutdown_grace_s,
            observers=self.observers,
        )
        self.rate_limiter = RateLimiter(settings.limits.rate_limit)  # one budget per caller, whichever the door
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
        if task is None:
            return self.registry.ids()
        return self.registry.capable(task, usable_only=False)

    # ---- models -----------------------------------------------------------------------------------
    def default_model(self, task: str) -> str | None:
        configured = {"ocr": self.settings.defaults.ocr_model, "chat": self.settings.defaults.chat_model}[task]
        return self.registry.default_for(task, configured, gpu_info().available)

    def models_for(self, task: str) -> list[str]:
        """Models that can do ``task`` and can run here, default first."""
        ids = self.registry.capable(task)
        default = self.default_model(task)
        return sorted(ids, key=lambda i: i != default)

    def model_choices(self, task: str) -> list[ModelChoice]:
        """The models that can do ``task``, as a person picks one: those that can run here first (the default
        first), each with what it needs."""
        gpu, default, choices = gpu_info().available, self.default_model(task), []
        for model_id in self.registry.capable(task, usable_only=False):
            spec = self.registry.get(model_id)
            missing = self.registry.unavailable_reason(model_id) or \
                self.registry.backend_class(model_id).missing_weights(spec)
            note = missing or ("needs a GPU to be fast" if spec.gpu_preferred and not gpu else "")
            choices.append(ModelChoice(id=model_id, name=spec.name, runnable=missing is None, note=note))
        return sorted(choices, key=lambda c: (not c.runnable, c.id != default))

    def resolve_model(self, task: str, model: str | None) -> str:
        model = (model or "").strip() or None
        if model is None:
            model = self.default_model(task)
            if model is None:
                why = self.registry.why_no_default(task, gpu_info().available)
                raise ModelUnavailable(f"No model that can {TASK_VERBS[task]} is ready on this server. {why}")
        spec = self.registry.get(model)
        if task not in spec.tasks:
            able = ", ".join(self.registry.capable(task)) or "none on this server"
            raise BadInput(f"Model '{model}' cannot {TASK_VERBS[task]}. Models that can: {able}.")
        self.observers.model_used(model)
        return model

    def _model_info(self, model_id: str) -> ModelInfo:
        spec, status = self.registry.get(model_id), self.manager.status(model_id)
        return ModelInfo(
            id=spec.id, name=spec.name, params=spec.params, backend=spec.backend, tasks=list(spec.tasks),
            state=status.state, error=status.error, load_seconds=status.load_seconds,
            waiting=status.waiting, running=status.running,
        )

    def list_models(self) -> ModelsResult:
        infos = [self._model_info(model_id) for model_id in self.registry.ids()]
        return ModelsResult(
            available=[m for m in infos if m.state != UNAVAILABLE],
            loaded=[m.id for m in infos if m.state == READY],
            unavailable=[m for m in infos if m.state == UNAVAILABLE],
            defaults={task: self.default_model(task) for task in TASK_VERBS},
        )

    def charge(self, caller: str | None) -> None:
        """One request on ``caller``'s ``limits.rate_limit`` budget, or :class:`RateLimited` (None: the server's own
        work, never limited). Every work entry point charges first, so that each door counts alike."""
        self.rate_limiter.charge(caller)

    def load_model(self, model_id: str, caller: str | None = None) -> ModelInfo:
        self.charge(caller)
        self.manager.load(model_id)
        return self._model_info(model_id)

    def unload_model(self, model_id: str, caller: str | None = None) -> ActionResult:
        self.charge(caller)
        if self.manager.unload(model_id):
            return ActionResult(status="success", message=f"Model {model_id} unloaded")
        return ActionResult(status="success", message=f"Model {model_id} was not loaded; nothing to unload")

    def preload(self) -> threading.Thread | None:
        """Load ``server.preload``'s models one after another in the background, so that the first requests
        (and a fast path's compile) do not wait for them; /models and /ready show their progress."""
        ids = list(self.settings.server.preload)
        if not ids:
            return None

        def load_all() -> None:
            try:
                for model_id in ids:
                    try:
                        self.manager.load(model_id)
                    except ChatVLMError as exc:  # the model's state says why; requests to others go on
                        log.warning("preloading %s failed: %s", model_id, exc)
            finally:
                self._preload_done.set()

        thread = threading.Thread(target=load_all, name="preload", daemon=True)
        thread.start()
        return thread

    @property
    def data_dir(self) -> Path:
        folder = Path(self.settings.server.data_dir).expanduser()
        if not folder.is_absolute() and self.settings.config_path is not None:
            folder = Path(self.settings.config_path).resolve().parent / folder
        return folder

    @property
    def jobs(self) -> Jobs:
        """The job queue (POST /jobs), its database opened and its worker started on first use."""
        with self._jobs_lock:
            if self._jobs is None:
                try:
                    self._jobs = Jobs(self, self.data_dir, self.settings.server.job_results_ttl_s)
                except OSError as exc:
                    log.error("the jobs database under %s cannot be opened: %s", self.data_dir, exc)
                    raise ModelUnavailable("Jobs are not available: the server cannot write its data directory "
                                           "(server.data_dir / CHATVLM_DATA_DIR).") from None
                self._jobs.start()
            return self._jobs

    def resume_jobs(self) -> None:
        """At start-up: if an earlier run left jobs, open the queue so that they finish."""
        if (self.data_dir / "jobs.sqlite3").exists():
            self.jobs  # noqa: B018 (opening it resumes them)

    def wait_for_preload(self, timeout: float | None = None) -> bool:
        return self._preload_done.wait(timeout)

    def close(self, grace_s: float | None = None) -> None:
        """Shut down: stop admitting (every model at once), let queued work finish for ``limits.shutdown_grace_s``,
        fail or stop what is left, then unload."""
        self._closing = True
        if self._jobs is not None:
            self._jobs.stop()
        self.manager.shutdown(self.settings.limits.shutdown_grace_s if grace_s is None else grace_s)

    # ---- status -----------------------------------------------------------------------------------
    def health(self) -> HealthResult:
        gpu, loaded = gpu_info(), self.manager.loaded()
        return HealthResult(
            status="healthy", gpu_available=gpu.available, gpu_name=gpu.name,
            models_loaded=len(loaded), loaded_models=loaded, gpu_memory=memory_in_use(),
        )

    def readiness(self) -> ReadyResult:
        """Ready once the preloaded models are loaded; not while they load, when one failed, or at shutdown."""
        states = {model_id: self.manager.status(model_id).state for model_id in self.settings.server.preload}
        if self._closing:
            return ReadyResult(ready=False, detail="The server is shutting down.", models=states)
        if not self._preload_done.is_set():
            return ReadyResult(ready=False, detail="Models are still loading: " +
                               ", ".join(i for i, s in states.items() if s != READY) + ".", models=states)
        failed = [i for i, s in states.items() if s in (ERROR, UNAVAILABLE)]
        if failed:
            return ReadyResult(ready=False, detail=f"Preloading failed for {', '.join(failed)}; GET /models says why.",
                               models=states)
        return ReadyResult(ready=True, detail="ready", models=states)

    def info(self) -> ApiInfo:
        return ApiInfo(message=f"{self.settings.server.title} API", version=self.settings.server.version)

    def startup_report(self) -> list[str]:
        """What a person starting the server needs to know, in a few lines (logged at start-up)."""
        gpu = gpu_info()
        lines = [f"GPU: {gpu.name} ({gpu.count} device(s))" if gpu.available else "GPU: none, running on the CPU"]
        chat = self.default_model("chat")
        lines.append(f"default OCR model: {self.default_model('ocr') or 'none'}; default chat model: "
                     f"{chat or 'none can run here'}")
        ready, missing = [], {}
        for spec in self.registry.specs():
            reason = self.registry.unavailable_reason(spec.id) or self.registry.backend_class(spec.id).missing_weights(spec)
            if reason:  # models that share a reason are named together ("\0" stands for their ids)
                missing.setdefault(reason.replace(spec.id, "\0"), []).append(spec.id)
            else:
                ready.append(spec.id)
        lines.append(f"models that can run here: {', '.join(ready) or 'none'}")
        for reason, ids in missing.items():
            lines.append(f"models that cannot run yet: {', '.join(ids)}: {reason.replace(chr(0), ' '.join(ids))}")
        return lines

    # ---- work -------------------------------------------------------------------------------------
    def _deadline(self, cancel: CancelToken | None) -> Deadline:
        if cancel is not None and cancel.cancelled:
            raise Cancelled("The request was cancelled before it started.")
        return Deadline(self.settings.limits.request_timeout_s)

    def _submit(self, model_id: str, works: Sequence[Work], deadline: Deadline, cancel: CancelToken | None,
                streaming: bool = False) -> list[Ticket]:
        tickets = self.manager.submit(model_id, works, deadline, streaming, cancel)
        if cancel is not None:
            for ticket in tickets:
                cancel.on_cancel(ticket.cancel)
        return tickets

    def ocr(self, image: ImageSource, model: str | None = None, language: str | None = None,
            filename: str = "file", cancel: CancelToken | None = None, pages: str | None = None,
            force_ocr: bool = False, caller: str | None = None) -> OcrResult:
        """Read one image or document (PDF, multi-page TIFF: ``pages`` picks pages, e.g. "1-3,5"; a page with a good
        text layer is read from it unless ``force_ocr``). A page that fails fails the request. ``caller``: whose
        rate-limit budget pays (:meth:`charge`)."""
        self.charge(caller)
        started, deadline = time.perf_counter(), self._deadline(cancel)
        model_id = self.resolve_model("ocr", model)
        hint = languages.parse(language)
        self.manager.check_room(model_id, 1)  # a busy server refuses before decoding
        doc = self.open_document(image, model_id, filename, pages, force_ocr)
        try:
            reads = self.read_documents(model_id, [doc], hint, lambda: deadline, cancel, stop_on_error=True)
        finally:
            doc.close()
        failed = next((r for r in reads if r.error is not None), None)
        if failed is not None:
            error = failed.error
            if doc.multipage and isinstance(error, ChatVLMError):
                error = copy.copy(error)  # its type and attributes (a Retry-After) kept, the page named
                error.args = (f"Page {failed.page}: {failed.error}",)
            raise error
        return self.ocr_result(doc, reads, model_id, hint, time.perf_counter() - started)

    def open_document(self, source: ImageSource, model_id: str, name: str, pages: str | None = None,
                      force_ocr: bool = False) -> documents.Document:
        """An image, multi-page TIFF or PDF, checked and ready to be read page by page (PDF pages are rendered at
        the size ``model_id`` reads best, when they are read)."""
        limits = self.settings.limits
        if isinstance(source, images.Image.Image):
            return documents.image_document(images.load(source, limits, name), name, pages)
        data = images.read_bytes(source, limits, name)
        side = self.registry.backend_class(model_id).page_longest_side(self.registry.get(model_id))
        return documents.open_document(data, limits, name, pages, side, force_ocr)

    def page_window(self, model_id: str) -> int:
        """Pages of one request in flight at once: twice what the model runs at once (so it never waits for the
        next page), at most ``max_batch_files`` (a document never floods the queue others wait in)."""
        spec = self.registry.get(model_id)
        backend = self.manager.loaded_backend(model_id) or self.registry.backend_class(model_id)(spec)
        return max(1, min(self.settings.limits.max_batch_files, 2 * backend.workers * backend.max_batch))

    def read_documents(self, model_id: str, docs: Sequence[documents.Document], hint: languages.Language | None,
                       deadline_for: Callable[[], Deadline], cancel: CancelToken | None = None,
                       on_page: Callable[[PageRead], None] | None = None,
                       skip: Callable[[int, int], bool] = lambda doc, page: False,
                       stop_on_error: bool = False) -> list[PageRead]:
        """Every page of ``docs`` through the model's runner, a window of pages at a time (:meth:`page_window`)."""
        return read_pages(docs, lambda works, deadline: self._submit(model_id, works, deadline, cancel), hint,
                          self.page_window(model_id), deadline_for, cancel, on_page, skip, stop_on_error)

    @staticmethod
    def page_results(reads: Sequence[PageRead]) -> list[PageResult]:
        return [PageResult(page=r.page, text=r.text, lines=r.lines, processing_time=round(r.seconds, 4),
                           source=r.source, image_size=list(r.size), warnings=r.warnings, error=r.message)
                for r in reads]

    def ocr_result(self, doc: documents.Document, reads: Sequence[PageRead], model_id: str,
                   hint: languages.Language | None, seconds: float) -> OcrResult:
        order = {page.number: i for i, page in enumerate(doc.pages)}
        reads = sorted(reads, key=lambda r: order[r.page])
        warnings = list(dict.fromkeys(w for r in reads for w in r.warnings))
        return OcrResult(
            text="\n\n".join(r.text for r in reads if r.text).strip(), model=model_id,
            processing_time=round(seconds, 4), image_size=list(doc.pages[0].size),
            language=hint.text if hint else None, lines=[] if doc.multipage else reads[0].lines,
            warnings=warnings, pages=self.page_results(reads) if doc.multipage else None,
        )

    def chat_params(self, temperature: float | None = None, max_tokens: int | None = None, top_p: float | None = None,
                    stop: Sequence[str] = (), seed: int | None = None, max_temperature: float = 1.0) -> ChatParams:
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
        return ChatParams(temperature=float(temperature), max_tokens=int(max_tokens),
                          top_p=None if top_p is None else float(top_p), stop=stop,
                          seed=None if seed is None else int(seed))

    def _check_conversation(self, model_id: str, messages: Sequence[ChatMessage]) -> None:
        """Text within the prompt limits, images within the model's and the server's limits."""
        limit = self.settings.limits.max_prompt_chars
        if not messages or not messages[-1].content.strip() and not messages[-1].images:
            raise BadInput("prompt is required: ask something about the image.")
        if len(messages[-1].content) > limit:
            raise BadInput(f"prompt is longer than {limit} characters.")
        if sum(len(m.content) for m in messages) > 8 * limit:
            raise BadInput(f"the conversation is longer than {8 * limit} characters; start a new one.")
        count = sum(len(m.images) for m in messages)
        most = min(self.settings.limits.max_images, self.registry.backend_class(model_id)(
            self.registry.get(model_id)).max_images)
        if count > most:
            raise BadInput(f"Model '{model_id}' takes at most {most} image(s) per request ({count} sent).")

    def _chat_work(self, image: ImageSource, prompt: str, model: str | None, temperature: float | None,
                   max_tokens: int | None, history: Sequence[ChatMessage], filename: str) -> tuple[str, ChatWork]:
        """A chat about one image (the API guide's /chat, the Chat tab): the image goes with the conversation's
        first user turn. Cheap checks first, then the image is decoded."""
        prompt = (prompt or "").strip()
        if not prompt:
            raise BadInput("prompt is required: ask something about the image.")
        params = self.chat_params(temperature, max_tokens)
        model_id = self.resolve_model("chat", model)
        messages = [*history, ChatMessage(role="user", content=prompt)]
        self._check_conversation(model_id, messages)
        self.manager.check_room(model_id, 1)  # a busy server refuses before decoding
        picture = images.load(image, self.settings.limits, filename)
        return model_id, ChatWork(with_image(messages, picture), params)

    def _conversation_work(self, messages: Sequence[ChatMessage], model: str | None,
                           params: ChatParams) -> tuple[str, ChatWork]:
        """A conversation whose messages carry their own images as URLs (the OpenAI protocol, MCP): checked, then
        each image read (data: URLs; http(s) when allowed) and decoded."""
        model_id = self.resolve_model("chat", model)
        self._check_conversation(model_id, messages)
        self.manager.check_room(model_id, 1)
        limits, decoded, n = self.settings.limits, [], 0
        for message in messages:
            pictures = []
            for url in message.images:
                n += 1
                pictures.append(images.decode(image_urls.read(url, limits), limits, f"image {n}"))
            decoded.append(replace(message, images=tuple(pictures)))
        return model_id, ChatWork(decoded, params)

    def _answer(self, model_id: str, work: ChatWork, cancel: CancelToken | None, deadline: Deadline) -> ChatOutput:
        [ticket] = self._submit(model_id, [work], deadline, cancel)
        output = ticket.result()
        assert isinstance(output, ChatOutput)
        return output

    def chat(self, image: ImageSource, prompt: str, model: str | None = None, temperature: float | None = None,
             max_tokens: int | None = None, history: Sequence[ChatMessage] = (), filename: str = "file",
             cancel: CancelToken | None = None, caller: str | None = None) -> ChatResult:
        self.charge(caller)
        started, deadline = time.perf_counter(), self._deadline(cancel)
        model_id, work = self._chat_work(image, prompt, model, temperature, max_tokens, history, filename)
        output = self._answer(model_id, work, cancel, deadline)
        return ChatResult(response=output.text, model=model_id, processing_time=round(time.perf_counter() - started, 4),
                          prompt=work.messages[-1].content, finish_reason=output.finish_reason,
                          warnings=output.warnings)

    def chat_stream(self, image: ImageSource, prompt: str, model: str | None = None, temperature: float | None = None,
                    max_tokens: int | None = None, history: Sequence[ChatMessage] = (), filename: str = "file",
                    cancel: CancelToken | None = None, caller: str | None = None) -> TextStream:
        """The answer as it is generated. Validation errors and Overloaded raise here, before any piece;
        closing the stream stops the generation."""
        self.charge(caller)
        deadline = self._deadline(cancel)
        model_id, work = self._chat_work(image, prompt, model, temperature, max_tokens, history, filename)
        [ticket] = self._submit(model_id, [work], deadline, cancel, streaming=True)
        return TextStream(ticket, model_id, work.messages[-1].content)

    def complete(self, messages: Sequence[ChatMessage], model: str | None, params: ChatParams,
                 cancel: CancelToken | None = None, caller: str | None = None) -> tuple[str, ChatOutput]:
        """Answer a conversation whose images come as URLs with their messages (the OpenAI protocol); returns the
        model that answered and the answer (text, finish reason, token counts)."""
        self.charge(caller)
        deadline = self._deadline(cancel)
        model_id, work = self._conversation_work(messages, model, params)
        return model_id, self._answer(model_id, work, cancel, deadline)

    def complete_stream(self, messages: Sequence[ChatMessage], model: str | None, params: ChatParams,
                        cancel: CancelToken | None = None, caller: str | None = None) -> TextStream:
        """:meth:`complete`, streamed: admitted (or refused) here; closing the stream stops the generation."""
        self.charge(caller)
        deadline = self._deadline(cancel)
        model_id, work = self._conversation_work(messages, model, params)
        [ticket] = self._submit(model_id, [work], deadline, cancel, streaming=True)
        return TextStream(ticket, model_id, work.messages[-1].content)

    def batch_ocr(self, files: Sequence[tuple[str, ImageSource]], model: str | None = None,
                  language: str | None = None, progress: Progress | None = None,
                  cancel: CancelToken | None = None, pages: str | None = None, force_ocr: bool = False,
                  caller: str | None = None) -> BatchResult:
        """OCR many files (images and documents); a bad file or page fails alone (status 'error'), never the whole
        batch (one request on ``caller``'s budget). ``progress(done, total)`` is called from this thread as pages
        finish (a file counts once per page read)."""
        self.charge(caller)
        started, deadline = time.perf_counter(), self._deadline(cancel)
        model_id, hint = self.check_batch(files, model, language)
        self.manager.check_room(model_id, min(len(files), self.settings.limits.max_batch_files))
        docs, opened = self.open_documents(files, model_id, pages, force_ocr)
        total, done = sum(len(doc.pages) for doc in docs if doc is not None) + sum(doc is None for doc in docs), 0

        def page_done(_: PageRead | None = None) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total)

        for doc in docs:
            if doc is None:
                page_done()
        present = [i for i, doc in enumerate(docs) if doc is not None]
        try:
            reads = self.read_documents(model_id, [docs[i] for i in present], hint, lambda: deadline, cancel,
                                        page_done)
        finally:
            for i in present:
                docs[i].close()
        if cancel is not None and cancel.cancelled:
            raise Cancelled("The batch was cancelled before it finished.")
        for read in reads:
            read.doc = present[read.doc]  # the file's place in the batch
        return self.batch_result(file_infos(files, docs, opened), reads, model_id, time.perf_counter() - started)

    def check_batch(self, files: Sequence[tuple[str, ImageSource]], model: str | None,
                    language: str | None) -> tuple[str, languages.Language | None]:
        limit = self.settings.limits.max_batch_files
        if not files:
            raise BadInput("No files were sent: attach one or more images or PDFs as 'files'.")
        if len(files) > limit:
            raise BadInput(f"Too many files: {len(files)} sent, at most {limit} per batch.")
        return self.resolve_model("ocr", model), languages.parse(language)

    def open_documents(self, files: Sequence[tuple[str, ImageSource]], model_id: str, pages: str | None,
                       force_ocr: bool) -> tuple[list[documents.Document | None], list[tuple[float, str | None]]]:
        """Each file opened (None where it cannot be), with the seconds that took and the error, if any."""
        docs: list[documents.Document | None] = []
        opened: list[tuple[float, str | None]] = []
        try:
            for name, source in files:
                t0 = time.perf_counter()
                try:
                    docs.append(self.open_document(source, model_id, name, pages, force_ocr))
                    opened.append((time.perf_counter() - t0, None))
                except ChatVLMError as exc:
                    docs.append(None)
                    opened.append((time.perf_counter() - t0, redact_paths(str(exc))))
        except BaseException:
            for doc in docs:
                if doc is not None:
                    doc.close()
            raise
        return docs, opened

    def batch_result(self, files: Sequence[FileInfo], reads: Sequence[PageRead], model_id: str,
                     seconds: float) -> BatchResult:
        """The batch's answer: one item per file, in the order sent (each read's ``doc`` is its file's index)."""
        by_file: dict[int, list[PageRead]] = {}
        for read in reads:
            by_file.setdefault(read.doc, []).append(read)
        results = []
        for i, info in enumerate(files):
            if info.error is not None:
                results.append(BatchItem(filename=info.name, processing_time=round(info.open_s, 4), status="error",
                                         error=info.error))
                continue
            order = {number: k for k, number in enumerate(info.pages)}
            file_reads = sorted(by_file.get(i, []), key=lambda r: order.get(r.page, 0))
            failed = [r for r in file_reads if r.error is not None]
            missing = len(info.pages) - len(file_reads)
            error = None
            if failed:
                error = failed[0].message if not info.multipage else \
                    "; ".join(f"page {r.page}: {r.message}" for r in failed[:3])
            elif missing:
                error = f"{missing} page(s) were not read."
            results.append(BatchItem(
                filename=info.name, text="\n\n".join(r.text for r in file_reads if r.text).strip(),
                processing_time=round(info.open_s + sum(r.seconds for r in file_reads), 4),
                status="error" if error else "success", error=error,
                image_size=list(file_reads[0].size) if file_reads else None,
                pages=self.page_results(file_reads) if info.multipage else None,
            ))
        ok = sum(r.status == "success" for r in results)
        return BatchResult(results=results, total=len(results), successful=ok, failed=len(results) - ok,
                           model=model_id, processing_time=round(seconds, 4))

    # ---- facade for the edges ---------------------------------------------------------------------------------
    # What REST and the UI call instead of reaching into the core's parts (jobs, observers, documents,
    # image_urls, markdown): thin delegations, one owner rule for jobs.
    def job_owner(self, principal: object | None, creating: bool = False) -> str | None:
        """Whose jobs a caller may see, for REST and the Batch tab alike: with API keys on, a key sees its own and
        an admin every job (a job it creates is still its own); with keys off, or without a principal, all.
        ``principal`` is the edge's caller (``.role`` and ``.name``)."""
        if not self.settings.auth.api_keys or principal is None:
            return None
        if getattr(principal, "role", None) == "admin" and not creating:
            return None
        return getattr(principal, "name", None)

    def submit_job(self, files: Sequence[tuple[str, ImageSource]], model: str | None, language: str | None,
                   pages: str | None, force_ocr: bool, owner: str | None = None, caller: str | None = None):
        """Queue OCR of many files (POST /jobs); returns the job's state."""
        return self.jobs.submit(files, model, language, pages, force_ocr, owner, caller)

    def job(self, job_id: str, owner: str | None = None):
        """A job's state (NotFound when it is not ``owner``'s, or gone)."""
        return self.jobs.status(job_id, owner)

    def job_result(self, job_id: str, owner: str | None = None) -> BatchResult:
        """A finished job's result (NotReady while it runs)."""
        return self.jobs.result(job_id, owner)

    def cancel_job(self, job_id: str, owner: str | None = None):
        """Cancel and delete a job; returns its last state."""
        return self.jobs.cancel(job_id, owner)

    def add_observer(self, listener: object) -> None:
        """A listener of the core's events (``model_used``, ``batch_done``): the edge's metrics."""
        self.observers.add(listener)  # type: ignore[arg-type]

    def page_count(self, data: bytes, pages: str | None = None) -> int:
        """Pages a file will be read as (a PDF is opened, not rendered); an image or a bad file counts as one."""
        return documents.page_count(data, pages)

    def read_image_url(self, url: str) -> bytes:
        """An image given as a ``data:`` URL, or an ``http(s)`` one when ``limits.image_urls`` allows it."""
        return image_urls.read(url, self.limits)

    @staticmethod
    def markdown(result: OcrResult) -> str:
        """An OCR result as Markdown (a page model's own, else paragraphs and headings from the lines' layout)."""
        from .markdown import to_markdown

        return to_markdown(result)
