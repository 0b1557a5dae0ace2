"""One settings object, read from config.yaml and validated at start-up.

Environment variables override only what a host decides: which config file
(``CHATVLM_CONFIG``), the port (``PORT`` or ``GRADIO_SERVER_PORT``; 7860 on a Hugging
Face Space, recognised by its ``SPACE_ID``), the host (``CHATVLM_HOST``), the default models
(``CHATVLM_OCR_MODEL``, ``CHATVLM_CHAT_MODEL``) and the models loaded at start-up
(``CHATVLM_PRELOAD``, comma-separated ids) and each model's wait-queue bound (``CHATVLM_MAX_QUEUE``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config.yaml"

Task = Literal["ocr", "chat"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Strict):
    host: str = "0.0.0.0"
    port: int = Field(8000, ge=1, le=65535)
    title: str = "ChatVLMLLM"
    version: str = "1.0.0"
    preload: list[str] = Field(default_factory=list, description="model ids loaded in the background at start-up")


class LimitSettings(_Strict):
    max_file_bytes: int = Field(20 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(40_000_000, gt=0)
    max_batch_files: int = Field(32, gt=0)
    max_tokens: int = Field(4096, gt=0)
    max_prompt_chars: int = Field(8000, gt=0)
    max_queue_per_model: int | Literal["auto"] = Field(
        "auto", description="requests that may wait for one model; auto = max(max_batch_files, 4 x what the model "
        "runs at once)")
    request_timeout_s: float = Field(300.0, gt=0, description="a request not done by then is dropped or stopped")
    shutdown_grace_s: float = Field(15.0, ge=0, description="at shutdown, how long queued work may still finish")

    @model_validator(mode="after")
    def _queue_holds_a_batch(self) -> LimitSettings:
        if self.max_queue_per_model != "auto" and self.max_queue_per_model < self.max_batch_files:
            raise ValueError(f"max_queue_per_model ({self.max_queue_per_model}) must be at least max_batch_files "
                             f"({self.max_batch_files}): a batch is admitted whole")
        return self

    def queue_size(self, runs_at_once: int) -> int:
        """The wait-queue bound of a model that runs ``runs_at_once`` requests at once."""
        if self.max_queue_per_model != "auto":
            return self.max_queue_per_model
        return max(self.max_batch_files, 4 * runs_at_once)


class DefaultSettings(_Strict):
    ocr_model: str = "auto"
    chat_model: str = "auto"
    temperature: float = Field(0.7, ge=0.0, le=1.0)
    max_tokens: int = Field(512, gt=0)


class ModelSpec(_Strict):
    """One registry entry: what a model is and how its backend loads it."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    name: str
    params: str = ""
    backend: str
    source: str | None = None
    tasks: list[Task] = Field(min_length=1)
    gpu_preferred: bool = False
    options: dict[str, Any] = Field(default_factory=dict)


class Settings(_Strict):
    server: ServerSettings = ServerSettings()
    limits: LimitSettings = LimitSettings()
    defaults: DefaultSettings = DefaultSettings()
    models: list[ModelSpec] = Field(min_length=1)
    config_path: Path | None = None


SPACES_PORT = 7860  # what a Hugging Face Space expects its app to listen on


def _env_port(env: dict[str, str]) -> int | None:
    for name in ("PORT", "GRADIO_SERVER_PORT"):
        value = env.get(name)
        if value:
            if not value.isdigit() or not 0 < int(value) < 65536:
                raise ConfigError(f"{name}={value!r} is not a port number (1-65535).")
            return int(value)
    return SPACES_PORT if env.get("SPACE_ID") else None


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read and validate the config file; raise ConfigError with a fix-it message."""
    env = dict(os.environ) if env is None else env
    path = Path(path or env.get("CHATVLM_CONFIG") or DEFAULT_CONFIG)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} not found (set CHATVLM_CONFIG to its path).") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"Config file {path} must hold a mapping at the top level.")
    try:
        settings = Settings.model_validate({**raw, "config_path": path})
    except ValidationError as exc:
        raise ConfigError(f"Invalid config {path}: {_describe(exc)}") from None

    port = _env_port(env)
    if port is not None:
        settings.server.port = port
    if env.get("CHATVLM_HOST"):
        settings.server.host = env["CHATVLM_HOST"]
    if env.get("CHATVLM_OCR_MODEL"):
        settings.defaults.ocr_model = env["CHATVLM_OCR_MODEL"]
    if env.get("CHATVLM_CHAT_MODEL"):
        settings.defaults.chat_model = env["CHATVLM_CHAT_MODEL"]
    if "CHATVLM_PRELOAD" in env:
        settings.server.preload = [part.strip() for part in env["CHATVLM_PRELOAD"].split(",") if part.strip()]
    if env.get("CHATVLM_MAX_QUEUE"):
        try:
            settings.limits = LimitSettings.model_validate(
                {**settings.limits.model_dump(), "max_queue_per_model": int(env["CHATVLM_MAX_QUEUE"])})
        except (ValueError, ValidationError) as exc:
            detail = _describe(exc) if isinstance(exc, ValidationError) else "not a whole number"
            raise ConfigError(f"CHATVLM_MAX_QUEUE={env['CHATVLM_MAX_QUEUE']!r}: {detail}") from None
    return settings
