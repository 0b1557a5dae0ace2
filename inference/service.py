"""InferenceService: the one API that the REST routes and the Gradio UI call.

It validates parameters, decodes images, picks the model (registry defaults),
runs the backend through the manager and returns result objects. It knows
nothing of HTTP or Gradio; its errors are the typed ones of ``errors.py``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from . import images
from .backends.base import ChatMessage, ChatParams
from .device import gpu_info, memory_in_use
from .errors import BadInput, ChatVLMError, ModelUnavailable
from .images import ImageSource
from .languages import clean_hint
from .manager import READY, UNAVAILABLE, ModelManager
from .registry import Registry
from .results import (
    ActionResult,
    ApiInfo,
    BatchItem,
    BatchResult,
    ChatResult,
    HealthResult,
    ModelInfo,
    ModelsResult,
    OcrLine,
    OcrResult,
)
from .settings import Settings

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
        self.manager = ModelManager(self.registry)

    # ---- models -------------------------------------------------------------------------------
    def default_model(self, task: str) -> str | None:
        configured = {"ocr": self.settings.defaults.ocr_model, "chat": self.settings.defaults.chat_model}[task]
        return self.registry.default_for(task, configured, gpu_info().available)

    def models_for(self, task: str) -> list[str]:
        """Models that can do ``task`` and can run here, default first."""
        ids = self.registry.capable(task)
        default = self.default_model(task)
        return sorted(ids, key=lambda i: i != default)

    def resolve_model(self, task: str, model: str | None) -> str:
        model = (model or "").strip() or None
        if model is None:
            model = self.default_model(task)
            if model is None:
                raise ModelUnavailable(
                    f"No model that can {TASK_VERBS[task]} is available on this server; "
                    "add one to config.yaml (see the README's model list)."
                )
        spec = self.registry.get(model)
        if task not in spec.tasks:
            able = ", ".join(self.registry.capable(task)) or "none on this server"
            raise BadInput(f"Model '{model}' cannot {TASK_VERBS[task]}. Models that can: {able}.")
        return model

    def _model_info(self, model_id: str) -> ModelInfo:
        spec, status = self.registry.get(model_id), self.manager.status(model_id)
        return ModelInfo(
            id=spec.id, name=spec.name, params=spec.params, backend=spec.backend, tasks=list(spec.tasks),
            state=status.state, error=status.error, load_seconds=status.load_seconds,
        )

    def list_models(self) -> ModelsResult:
        infos = [self._model_info(model_id) for model_id in self.registry.ids()]
        return ModelsResult(
            available=[m for m in infos if m.state != UNAVAILABLE],
            loaded=[m.id for m in infos if m.state == READY],
            unavailable=[m for m in infos if m.state == UNAVAILABLE],
            defaults={task: self.default_model(task) for task in TASK_VERBS},
        )

    def load_model(self, model_id: str) -> ModelInfo:
        self.manager.load(model_id)
        return self._model_info(model_id)

    def preload(self) -> threading.Thread | None:
        """Load ``server.preload``'s models one after another in the background, so that the first requests
        (and a fast path's compile) do not wait for them; /models shows their progress. None when there are none."""
        ids = list(self.settings.server.preload)
        if not ids:
            return None

        def load_all() -> None:
            for model_id in ids:
                try:
                    self.manager.load(model_id)
                except ChatVLMError as exc:  # the model's state says why; requests to others go on
                    log.warning("preloading %s failed: %s", model_id, exc)

        thread = threading.Thread(target=load_all, name="preload", daemon=True)
        thread.start()
        return thread

    def unload_model(self, model_id: str) -> ActionResult:
        if self.manager.unload(model_id):
            return ActionResult(status="success", message=f"Model {model_id} unloaded")
        return ActionResult(status="success", message=f"Model {model_id} was not loaded; nothing to unload")

    def health(self) -> HealthResult:
        gpu, loaded = gpu_info(), self.manager.loaded()
        return HealthResult(
            status="healthy", gpu_available=gpu.available, gpu_name=gpu.name,
            models_loaded=len(loaded), loaded_models=loaded, gpu_memory=memory_in_use(),
        )

    def info(self) -> ApiInfo:
        return ApiInfo(message=f"{self.settings.server.title} API", version=self.settings.server.version)

    # ---- work ---------------------------------------------------------------------------------
    def ocr(self, image: ImageSource, model: str | None = None, language: str | None = None,
            filename: str = "file") -> OcrResult:
        started = time.perf_counter()
        model_id = self.resolve_model("ocr", model)
        language = clean_hint(language)
        picture = images.load(image, self.settings.limits, filename)
        with self.manager.acquire(model_id) as backend:
            output = backend.ocr(picture, language)
        return OcrResult(
            text=output.text.strip(), model=model_id, processing_time=round(time.perf_counter() - started, 4),
            image_size=list(picture.size), language=language,
            lines=[OcrLine(**vars(line)) for line in output.lines],
            warnings=output.warnings,
        )

    def chat_params(self, temperature: float | None, max_tokens: int | None) -> ChatParams:
        defaults, limits = self.settings.defaults, self.settings.limits
        temperature = defaults.temperature if temperature is None else temperature
        max_tokens = defaults.max_tokens if max_tokens is None else max_tokens
        if not 0.0 <= temperature <= 1.0:
            raise BadInput(f"temperature must be between 0.0 and 1.0 (got {temperature}).")
        if not 1 <= max_tokens <= limits.max_tokens:
            raise BadInput(f"max_tokens must be between 1 and {limits.max_tokens} (got {max_tokens}).")
        return ChatParams(temperature=float(temperature), max_tokens=int(max_tokens))

    def _chat_request(self, image: ImageSource, prompt: str, model: str | None, temperature: float | None,
                      max_tokens: int | None, history: Sequence[ChatMessage], filename: str):
        """Validate a chat request (cheap checks first) and decode its image."""
        prompt = (prompt or "").strip()
        if not prompt:
            raise BadInput("prompt is required: ask something about the image.")
        if len(prompt) > self.settings.limits.max_prompt_chars:
            raise BadInput(f"prompt is longer than {self.settings.limits.max_prompt_chars} characters.")
        params = self.chat_params(temperature, max_tokens)
        model_id = self.resolve_model("chat", model)
        picture = images.load(image, self.settings.limits, filename)
        messages = [*history, ChatMessage(role="user", content=prompt)]
        return model_id, picture, messages, params, prompt

    def chat(self, image: ImageSource, prompt: str, model: str | None = None, temperature: float | None = None,
             max_tokens: int | None = None, history: Sequence[ChatMessage] = (), filename: str = "file") -> ChatResult:
        started = time.perf_counter()
        model_id, picture, messages, params, prompt = self._chat_request(
            image, prompt, model, temperature, max_tokens, history, filename)
        with self.manager.acquire(model_id) as backend:
            answer = backend.chat(picture, messages, params)
        return ChatResult(response=answer.strip(), model=model_id,
                          processing_time=round(time.perf_counter() - started, 4), prompt=prompt)

    def chat_stream(self, image: ImageSource, prompt: str, model: str | None = None, temperature: float | None = None,
                    max_tokens: int | None = None, history: Sequence[ChatMessage] = (),
                    filename: str = "file") -> Iterator[str]:
        """The answer so far, growing as tokens are generated. Validation errors raise before the first piece."""
        model_id, picture, messages, params, _ = self._chat_request(
            image, prompt, model, temperature, max_tokens, history, filename)

        def pieces() -> Iterator[str]:
            answer = ""
            with self.manager.acquire(model_id) as backend:
                for piece in backend.chat_stream(picture, messages, params):
                    answer += piece
                    yield answer

        return pieces()

    def batch_ocr(self, files: Sequence[tuple[str, ImageSource]], model: str | None = None,
                  language: str | None = None, progress: Progress | None = None) -> BatchResult:
        """OCR many files; a bad file fails alone (status 'error'), never the whole batch."""
        started = time.perf_counter()
        limit = self.settings.limits.max_batch_files
        if not files:
            raise BadInput("No files were sent: attach one or more images as 'files'.")
        if len(files) > limit:
            raise BadInput(f"Too many files: {len(files)} sent, at most {limit} per batch.")
        model_id = self.resolve_model("ocr", model)
        language = clean_hint(language)
        done, lock = 0, threading.Lock()

        def one(item: tuple[str, ImageSource]) -> BatchItem:
            nonlocal done
            name, source = item
            t0 = time.perf_counter()
            try:
                result = self.ocr(source, model_id, language, filename=name)
                entry = BatchItem(filename=name, text=result.text, processing_time=result.processing_time,
                                  status="success", image_size=result.image_size)
            except ChatVLMError as exc:
                entry = BatchItem(filename=name, processing_time=round(time.perf_counter() - t0, 4),
                                  status="error", error=str(exc))
            except Exception:
                log.exception("batch item %s failed", name)
                entry = BatchItem(filename=name, processing_time=round(time.perf_counter() - t0, 4),
                                  status="error", error="Unexpected error while processing this file.")
            with lock:
                done += 1
                if progress is not None:
                    progress(done, len(files))
            return entry

        with self.manager.acquire(model_id) as backend:  # load it once, up front (not pinned: an unload waits for each item)
            workers = max(1, min(backend.parallelism, len(files)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batch") as pool:
            results = list(pool.map(one, files))
        ok = sum(r.status == "success" for r in results)
        return BatchResult(results=results, total=len(results), successful=ok, failed=len(results) - ok,
                           model=model_id, processing_time=round(time.perf_counter() - started, 4))
