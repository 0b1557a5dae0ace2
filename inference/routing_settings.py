"""The ``routing`` section of config.yaml: where ``model=auto`` sends the pages the CPU engine cannot read well."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .blocks import BlockType


class RoutingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    vlm: str = Field(
        "auto",
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="the OCR model a page goes to; 'auto': the GPU default OCR model when a GPU is here, else none; "
        "'none': never (the CPU engine reads every page)",
    )
    cpu: str = Field("embedded", pattern=r"^[A-Za-z0-9_.-]+$", description="the CPU engine that reads every page first")
    min_confidence: float = Field(0.8, ge=0.0, le=1.0, description="a page the CPU engine is less sure of goes to the VLM")
    blocks: list[BlockType] = Field(["table", "equation"], description="a page with a block of these types goes to the VLM")
