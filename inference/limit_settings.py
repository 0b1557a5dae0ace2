"""The ``limits`` section of config.yaml: the bounds on what one request, one client and the server may take."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CALLER_SHARE = 0.75  # of the places where requests wait (a model's queue, its load, the UI's queue) one client may hold
JSON_SLACK = 1024 * 1024  # the JSON around a data: URL (and a multipart body's framing and form fields)


class LimitSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_file_bytes: int = Field(20 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(40_000_000, gt=0)
    max_batch_files: int = Field(32, gt=0)
    max_pages: int = Field(200, gt=0, description="pages read per file (PDF, multi-page TIFF)")
    max_text_lines: int = Field(50_000, gt=0, description="text-layer lines one request's documents hold; more -> 400")
    page_timeout_s: float = Field(10.0, gt=0, description="a PDF page not loaded, read or rendered by then fails")
    page_memory_mb: int = Field(1024, ge=128, description="memory (address space) the PDF reader may use for a page")
    max_unfinished_jobs: int = Field(100, gt=0, description="jobs queued or running at once; more -> 503")
    max_jobs_per_key: int = Field(20, gt=0, description="unfinished jobs of one key (client address with keys off); more -> 429")
    max_pages_per_key: int = Field(2000, gt=0, description="pages still to read in one key's unfinished jobs; more -> 429")
    max_job_mb_per_key: int = Field(2048, gt=0, description="MB of files kept for one key's unfinished jobs; more -> 429")
    max_result_mb_per_key: int = Field(
        1024, gt=0, description="MB of job results (finished jobs' too) one key keeps; at it, a new job -> 429"
    )
    max_tokens: int = Field(4096, gt=0)
    max_prompt_chars: int = Field(8000, gt=0)
    max_queue_per_model: int | Literal["auto"] = Field("auto", description="requests that may wait for a model (config.yaml)")
    request_timeout_s: float = Field(300.0, gt=0, description="a request not done by then is dropped or stopped")
    rate_limit: str | None = Field(None, description="requests per key (or client address), e.g. '60/minute'")
    image_urls: bool = Field(False, description="fetch http(s) image URLs given to /v1 and MCP (data: URLs always work)")
    max_images: int = Field(8, gt=0, description="images in one chat request, at most (and at most what the model takes)")
    shutdown_grace_s: float = Field(15.0, ge=0, description="at shutdown, how long queued work may still finish")
    upload_ttl_s: float = Field(600.0, ge=1, description="Gradio uploads are deleted this long after their last use")
    upload_mb_per_key: int = Field(1024, ge=0, description="MB of kept Gradio uploads one key may hold; more -> 429")
    header_timeout_s: float = Field(10.0, gt=0, description="a request's headers must arrive within this (python app.py)")
    connections_per_address: int = Field(256, ge=1, description="connections one client address may hold open at once")
    min_free_disk_mb: int = Field(1024, ge=0, description="a body that may land on disk waits for this much free space")
    model_memory_gb: float = Field(
        0.0, ge=0, description="what loaded models' weights may take together; 0 = their device's free memory decides"
    )
    model_resident_s: float = Field(5.0, ge=0, description="a loaded model stays this long (and twice its load time) at least")

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str | None) -> str | None:
        if value is None or not value.strip() or value.strip().lower() in ("off", "none"):
            return None
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate like '60/minute', '1000/hour' or '5/second'") from None
        return value.strip()

    @model_validator(mode="after")
    def _queue_holds_a_batch(self) -> LimitSettings:
        if self.max_queue_per_model != "auto" and self.max_queue_per_model < self.max_batch_files:
            raise ValueError(
                f"max_queue_per_model ({self.max_queue_per_model}) must be at least max_batch_files "
                f"({self.max_batch_files}): a batch's first files are admitted together"
            )
        return self

    def queue_size(self, runs_at_once: int) -> int:
        """The wait-queue bound of a model that runs ``runs_at_once`` requests at once."""
        auto = self.max_queue_per_model == "auto"
        return max(self.max_batch_files, 4 * runs_at_once) if auto else self.max_queue_per_model  # type: ignore[return-value]

    @property
    def data_url_bytes(self) -> int:
        """The largest body of a call sending one file of ``max_file_bytes`` as a data: URL (base64: 4/3 of it)."""
        return -(-self.max_file_bytes * 4 // 3) + JSON_SLACK
