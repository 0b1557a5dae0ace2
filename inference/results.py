"""Result objects of the service: one definition, rendered by the REST routes and the UI.

Field names are the REST contract's (``../shared/spec/api_guide.md``); fields
beyond the contract are extras that clients may ignore.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class OcrLine(BaseModel):
    text: str
    box: list[list[float]] = Field(description="four [x, y] corners in image pixels, clockwise from top-left")
    confidence: float
    engine: str = Field("", description="which engine read this line")


class OcrResult(BaseModel):
    text: str
    model: str
    processing_time: float = Field(description="seconds, decoding included")
    image_size: list[int] = Field(description="[width, height] of the uploaded image")
    language: str | None = None
    lines: list[OcrLine] = Field(default_factory=list, description="extra: detected lines with boxes, in reading order")
    warnings: list[str] = Field(default_factory=list, description="extra: what limited this result and how to fix it")


class ChatResult(BaseModel):
    response: str
    model: str
    processing_time: float
    prompt: str


class BatchItem(BaseModel):
    filename: str
    text: str = ""
    processing_time: float
    status: str = Field(description="'success' or 'error'")
    error: str | None = None
    image_size: list[int] | None = None


class BatchResult(BaseModel):
    results: list[BatchItem]
    total: int
    successful: int
    failed: int
    model: str
    processing_time: float


class ModelInfo(BaseModel):
    id: str
    name: str
    params: str
    backend: str
    tasks: list[str]
    state: str = Field(description="unloaded, loading, ready, error or unavailable")
    error: str | None = None
    load_seconds: float | None = None


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


class ApiInfo(BaseModel):
    message: str
    version: str
    docs: str = "/docs"
    health: str = "/health"


class ActionResult(BaseModel):
    status: str
    message: str
