"""The remote backend's options (``options:`` of an ``openai`` entry in config.yaml)."""

from __future__ import annotations

from pydantic import ConfigDict, Field, field_validator

from ..prompts import LANGUAGE_PROMPT, OCR_PROMPT, OcrSampling


class RemoteOptions(OcrSampling):
    model_config = ConfigDict(extra="forbid")

    base_urls: list[str] = Field(min_length=1, description="OpenAI base URLs ending in /v1, one per replica")
    model: str | None = Field(None, description="the model's name on the replicas (default: the entry's source, else its id)")
    api_key_env: str | None = Field(None, description="environment variable holding the replicas' API key")
    timeout_s: float = Field(120.0, gt=0, description="longest wait for the next piece of an answer")
    connect_timeout_s: float = Field(3.0, gt=0)
    max_concurrency: int = Field(32, ge=1, description="requests in flight to all replicas together")
    max_images: int = Field(4, ge=1)
    max_pixels: int = Field(4_000_000, ge=32 * 32, description="images are scaled down to this before sending")
    page_longest_side: int = Field(1540, ge=256, description="longest side, in px, a PDF page is rendered at")
    failures_to_eject: int = Field(3, ge=1, description="consecutive failures that take a replica out")
    eject_s: float = Field(30.0, gt=0, description="how long a failing replica stays out before it is probed")
    ocr_prompt: str = OCR_PROMPT
    language_prompt: str = LANGUAGE_PROMPT
    ocr_max_tokens: int = Field(2048, ge=1)

    @field_validator("base_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http(s) URL (e.g. http://vllm:8000/v1)")
        return [url.rstrip("/") for url in urls]
