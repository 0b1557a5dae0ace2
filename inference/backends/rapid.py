"""The embedded OCR engine: RapidOCR (PP-OCR models in ONNX, shipped inside its wheel).

Runs offline on the CPU. One RapidOCR instance is not safe to share between
threads (each call rewrites its parameters), so the backend keeps a pool of
single-threaded instances sized to the cores: concurrent requests use every core.
"""

from __future__ import annotations

import importlib.util
import os
import queue

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from ..settings import ModelSpec
from .base import Backend, OcrLine, OcrOutput


class RapidOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workers: int = Field(0, ge=0, description="engine instances; 0 = one per CPU core")
    threads_per_worker: int = Field(1, ge=1, description="ONNX Runtime threads of each instance")
    det_limit_side_len: int = Field(960, ge=32, description="detector input size, in pixels")
    det_limit_type: str = Field("max", pattern="^(max|min)$", description="which side det_limit_side_len bounds")
    text_score: float = Field(0.5, ge=0.0, le=1.0, description="drop lines recognised below this confidence")


class RapidOcrBackend(Backend):
    tasks = frozenset({"ocr"})
    Options = RapidOptions

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        self._pool: queue.Queue | None = None
        self._size = self.options.workers or max(1, os.cpu_count() or 1)

    @classmethod
    def unavailable_reason(cls, spec: ModelSpec) -> str | None:
        if importlib.util.find_spec("rapidocr") is None or importlib.util.find_spec("onnxruntime") is None:
            return "RapidOCR is not installed: pip install rapidocr onnxruntime"
        return None

    @property
    def parallelism(self) -> int:
        return self._size

    def _engine(self):
        from rapidocr import RapidOCR

        threads = self.options.threads_per_worker
        return RapidOCR(params={
            "Global.log_level": "error",
            "Global.text_score": self.options.text_score,
            "Det.limit_side_len": self.options.det_limit_side_len,
            "Det.limit_type": self.options.det_limit_type,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        })

    def load(self) -> None:
        pool: queue.Queue = queue.Queue()
        for _ in range(self._size):
            engine = self._engine()
            # RapidOCR loads its ONNX sessions lazily; run once so no request pays for it.
            engine(Image.new("RGB", (64, 32), "white"))
            pool.put(engine)
        self._pool = pool

    def unload(self) -> None:
        self._pool = None

    def ocr(self, image: Image.Image, language: str | None) -> OcrOutput:
        pool = self._pool
        if pool is None:
            raise RuntimeError("RapidOCR backend used before load()")
        engine = pool.get()
        try:
            result = engine(image)
        finally:
            pool.put(engine)
        if result.txts is None or result.boxes is None:
            return OcrOutput(text="")
        lines = [
            OcrLine(text=str(text), box=[[float(x), float(y)] for x, y in box], confidence=round(float(score), 4))
            for text, box, score in zip(result.txts, result.boxes, result.scores, strict=True)
        ]
        return OcrOutput(text="\n".join(line.text for line in lines), lines=lines)
