"""Result objects of the service: one definition, rendered by the REST routes and the UI.

Field names are the REST contract's (``../shared/spec/api_guide.md``); fields
beyond the contract are extras that clients may ignore.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from .blocks import Block
from .values import OcrLine


class PageResult(BaseModel):
    """One page of a document (PDF, multi-page TIFF)."""

    page: int = Field(description="page number in the file, from 1")
    text: str
    lines: list[OcrLine] = Field(default_factory=list, description="lines with boxes in the rendered page's pixels")
    processing_time: float = Field(description="seconds for this page (rendering and reading)")
    source: Literal["ocr", "text-layer"] = Field(
        description="'text-layer': read from the PDF's own text; 'ocr': read from the rendered page"
    )
    image_size: list[int] = Field(description="[width, height] of the page as rendered")
    blocks: list[Block] = Field(
        default_factory=list, description="the page's structure in reading order (titles, text, tables, headers...)"
    )
    warnings: list[str] = Field(default_factory=list)
    error: str | None = Field(None, description="why this page could not be read (the others still are)")
    confidence: float | None = Field(
        None,
        description="how sure the reading of this page is, 0-1 (null: not measured, e.g. a page read from its text layer); "
        "confidence_source says how it was measured",
    )
    confidence_source: Literal["engine", "logprob", "cpu-engine", "text-layer"] | None = Field(
        None,
        description="'engine': the CPU engine's own line confidences, weighted by the lines' lengths; 'logprob': a "
        "vision-language model's answer, exp of the mean log-probability of its tokens; 'cpu-engine': a VLM's answer "
        "compared with the CPU engine's reading of the same page (1 - character error rate of the normalised texts, "
        "clamped to 0-1); 'text-layer': a VLM's answer compared so with the page's PDF text layer (force_ocr on a page "
        "that has one)",
    )
    engine: str | None = Field(None, description="the model that read this page (model=auto: the CPU engine or the VLM)")
    route: str | None = Field(
        None,
        description="model=auto: why the page went to the VLM ('low-confidence', 'no-text', 'table', 'equation', 'script'); "
        "null when the CPU engine's reading was kept (a warning says so when a VLM was needed but none can run here)",
    )
    cpu_agreement: float | None = Field(
        None,
        description="model=auto, a page sent to the VLM: its answer against the CPU engine's reading of the page (1 - "
        "character error rate of the normalised texts, clamped to 0-1); low when the CPU engine misread it, or the VLM did",
    )
    text_layer_agreement: float | None = Field(
        None,
        description="force_ocr on a PDF page with a good text layer: the reading (any engine's) against that layer (1 - "
        "character error rate of the normalised texts, clamped to 0-1)",
    )


class OcrResult(BaseModel):
    text: str = Field(description="the whole text; a document's pages are separated by a blank line")
    model: str
    processing_time: float = Field(description="seconds, decoding included")
    image_size: list[int] = Field(description="[width, height] of the uploaded image (a document's first page)")
    language: str | None = None
    lines: list[OcrLine] = Field(
        default_factory=list,
        description="extra: detected lines with boxes, in reading order (a one-page input; documents: pages[].lines)",
    )
    blocks: list[Block] = Field(
        default_factory=list,
        description="extra: the page's structure in reading order, with boxes (a one-page input; documents: pages[].blocks)",
    )
    warnings: list[str] = Field(default_factory=list, description="extra: what limited this result and how to fix it")
    pages: list[PageResult] | None = Field(
        None, description="extra, documents only (PDF, multi-page TIFF): each page read, in the order chosen"
    )
    confidence: float | None = Field(None, description="extra, a one-page input: as pages[].confidence")
    confidence_source: Literal["engine", "logprob", "cpu-engine", "text-layer"] | None = Field(
        None, description="extra, a one-page input: as pages[].confidence_source"
    )
    engine: str | None = Field(None, description="extra, a one-page input: as pages[].engine")
    route: str | None = Field(None, description="extra, a one-page input: as pages[].route")
    cpu_agreement: float | None = Field(None, description="extra, a one-page input: as pages[].cpu_agreement")


class ChatResult(BaseModel):
    response: str
    model: str
    processing_time: float
    prompt: str
    finish_reason: str | None = Field(
        None,
        description="extra: 'stop' (the model ended), 'length' (max_tokens) or 'repetition' (the model looped: "
        "stopped, one copy of the repeated text kept)",
    )
    warnings: list[str] = Field(default_factory=list, description="extra: why the answer was cut, when it was")


class BatchItem(BaseModel):
    filename: str
    text: str = ""
    processing_time: float = Field(
        description="seconds spent on this file: opening it, and each of its pages' reading added up (pages are read "
        "side by side: a document's can be more than the whole batch's processing_time)"
    )
    status: str = Field(description="'success' or 'error'")
    error: str | None = None
    image_size: list[int] | None = None
    pages: list[PageResult] | None = Field(None, description="documents only: each page read")
    lines: list[OcrLine] = Field(default_factory=list, description="a one-page file: as pages[].lines")
    blocks: list[Block] = Field(default_factory=list, description="a one-page file: as pages[].blocks")
    warnings: list[str] = Field(default_factory=list, description="a one-page file: as pages[].warnings")
    confidence: float | None = Field(None, description="a one-page file: as pages[].confidence")
    confidence_source: Literal["engine", "logprob", "cpu-engine", "text-layer"] | None = Field(
        None, description="a one-page file: as pages[].confidence_source"
    )
    engine: str | None = Field(None, description="a one-page file: as pages[].engine")
    route: str | None = Field(None, description="a one-page file: as pages[].route")
    cpu_agreement: float | None = Field(None, description="a one-page file: as pages[].cpu_agreement")


class BatchResult(BaseModel):
    results: list[BatchItem]
    total: int
    successful: int
    failed: int
    model: str
    processing_time: float


class ModelState(StrEnum):
    """A model's state, spelled once: ``unloaded -> loading -> ready -> unloading -> unloaded``; ``error`` after a
    failed load (the next request tries again); ``unavailable`` when its backend cannot run on this host."""

    UNLOADED = "unloaded"
    LOADING = "loading"
    READY = "ready"
    UNLOADING = "unloading"
    ERROR = "error"
    UNAVAILABLE = "unavailable"


class ModelInfo(BaseModel):
    id: str
    name: str
    params: str
    backend: str
    tasks: list[str]
    state: str = Field(description=", ".join(list(ModelState)[:-1]) + f" or {ModelState.UNAVAILABLE}")
    error: str | None = None
    load_seconds: float | None = None
    note: str | None = Field(
        None,
        description="what it needs, or what would let it do more here (it runs without); with API keys on, a user key "
        "reads what an administrator can do instead of the command",
    )
    waiting: int = Field(0, description="requests waiting in the model's queue")
    running: int = Field(0, description="requests being answered now")


class ModelChoice(BaseModel):
    """A model as a person choosing one sees it: whether it can run here, and if not (or not well), why."""

    id: str
    name: str
    runnable: bool
    note: str = Field("", description="what it needs: 'needs a GPU', 'weights not downloaded: <how>', ...")


class ModelsResult(BaseModel):
    available: list[ModelInfo]
    loaded: list[str]
    unavailable: list[ModelInfo] = Field(default_factory=list, description="configured but cannot run here")
    defaults: dict[str, str | None] = Field(default_factory=dict, description="model used per task when none is named")


class HealthResult(BaseModel):
    status: str
    gpu_available: bool
    gpu_name: str | None
    models_loaded: int
    loaded_models: list[str]
    gpu_memory: dict[str, float] | None = None


class ReadyResult(BaseModel):
    ready: bool
    detail: str
    models: dict[str, str] = Field(default_factory=dict, description="state of each preloaded model")


class ApiInfo(BaseModel):
    message: str
    version: str
    docs: str = "/docs"
    health: str = "/health"


class ActionResult(BaseModel):
    status: str
    message: str


JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class CallbackStatus(BaseModel):
    """The deliveries of a job's signed callback (``callback_url``): tried when the job ends, again on failure."""

    attempts: int = Field(description="POSTs tried so far")
    last_status: int | None = Field(None, description="the HTTP status of the last attempt (null: none yet, or no answer)")
    last_error: str | None = Field(None, description="why the last attempt had no answer: timeout, connection failed...")
    delivered: bool = Field(description="the receiver answered 2xx")
    next_attempt_at: float | None = Field(None, description="Unix time of the next attempt, while one is due")


class JobStatus(BaseModel):
    """A job's state as its client polls it (``POST /jobs``, ``GET /jobs/{id}``)."""

    id: str
    state: JobState = Field(description="queued, running, done, failed or cancelled")
    model: str
    files: int = Field(description="files in the job")
    pages_done: int = Field(description="pages read so far (a file that cannot be opened counts as one)")
    pages_total: int | None = Field(None, description="pages to read; known once the job has started")
    error: str | None = Field(None, description="why the job failed (a file or page that fails does not fail it)")
    created_at: float = Field(description="Unix time the job was submitted")
    started_at: float | None = None
    ended_at: float | None = None
    expires_at: float | None = Field(None, description="Unix time the result will be deleted")
    result_url: str | None = Field(None, description="where the result is, once done")
    result_bytes: int = Field(0, description="bytes of its pages' results kept (limits.max_result_mb_per_key counts them)")
    priority: Literal["low", "normal", "high"] = Field("normal", description="orders its key's own jobs")
    owner: str | None = Field(None, description="the fingerprint of the key that sent it (shown to admin keys only)")
    callback: CallbackStatus | None = Field(None, description="its callback_url's deliveries, when it was given one")


class JobList(BaseModel):
    """A page of the caller's jobs (``GET /jobs``), newest first."""

    jobs: list[JobStatus]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null on the last page")


class JobPageEvent(BaseModel):
    """One page of a job as it was written (a ``page`` event of ``GET /jobs/{id}/events``)."""

    seq: int = Field(description="the event's id: the job's pages_done just after this page was written")
    file: str = Field(description="the file's name")
    file_index: int = Field(description="the file's place in the job, from 0")
    page: int = Field(description="the page's number in its file, from 1")
    text: str
    error: str | None = Field(None, description="why this page could not be read")
    pages_done: int
    pages_total: int | None
