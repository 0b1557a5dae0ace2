"""The RapidOCR backends' options (``options:`` of a ``rapidocr`` or ``embedded`` entry in config.yaml)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RapidOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workers: int = Field(0, ge=0, description="engine instances; 0 = one per CPU core")
    threads_per_worker: int = Field(1, ge=1, description="ONNX Runtime threads of each instance")
    wide_detector: bool = Field(
        True, description="a request alone on the model, the other instances idle, detects lines on all their threads"
    )
    det_short_side: int = Field(736, ge=32, description="scale the image so its short side reaches this...")
    det_long_side: int = Field(1280, ge=64, description="...but its long side stays at most this")
    det_max_upscale: float = Field(1.0, ge=1.0, description="and never enlarge an image more than this")
    det_fine_side: int = Field(
        2560, ge=0, description="thin lines found on a shrunk image: detected again up to this long side (0: never)"
    )
    rec_batch_size: int = Field(1, ge=1, description="lines per recognizer call (1 = no padding to a common width)")
    rec_min_width: int = Field(128, ge=32, description="narrowest recognizer input; short lines are padded to it")
    rec_squeeze: float = Field(0.7, gt=0.3, le=1.0, description="squeeze line crops sideways by this before reading")
    min_chars_per_height: float = Field(1.0, ge=0, description="a reading with fewer characters per line-height looks wrong")
    min_confidence: float = Field(0.75, ge=0, le=1, description="a reading below this confidence looks wrong")
    text_score: float = Field(0.5, ge=0.0, le=1.0, description="drop lines recognised below this confidence")
    use_angle_classifier: bool = Field(False, description="detect upside-down lines (costs time)")
    invert_dark: bool = Field(True, description="invert light-on-dark images before reading")
    auto_rotate: bool = Field(True, description="turn pages scanned sideways or upside down before reading")
    upside_down_confidence: float = Field(
        0.85, ge=0.0, le=1.0, description="a page read with less mean confidence is also tried upside down"
    )
    structure: bool = Field(True, description="find the page's blocks (layout model, headers, page numbers...)")
