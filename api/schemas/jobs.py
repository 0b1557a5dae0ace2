"""A job's state as /jobs answers it, built from the core's job value (whatever its type: fields read by name)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class JobStatus(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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

    @classmethod
    def of(cls, job: object) -> JobStatus:
        """The REST shape of the core's job value (a pydantic model, a dataclass or any object with these fields)."""
        return cls.model_validate(job, from_attributes=True)
