"""The embedded OCR engine: RapidOCR (PP-OCR models in ONNX, shipped inside its wheel).

Runs offline on the CPU. One RapidOCR instance is not safe to share between
threads (each call rewrites its parameters), so the backend keeps a pool of
single-threaded instances sized to the cores, and its runner runs that many requests
at once (``workers``): concurrent requests use every core, each on its own instance, and a
request alone on the model (``alone()``, the runner's word) detects its lines with a wide
instance whose detector runs on every core and shares its line recognition (and a long
receipt's windows) out to the idle instances.
The detector's input size is chosen per image, light-on-dark pages are inverted,
and lines come back in reading order (``inference.layout``); the page geometry is
in ``rapid_geometry``.
"""

from __future__ import annotations

import importlib.util
import os
import queue
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict, Field

from ...images import pad_to_aspect
from ...languages import Language
from ...layout import reading_order, upright_boxes
from ...settings import ModelSpec
from ...values import OcrLine, OcrOutput
from ..base import Backend
from .rapid_geometry import (
    LINES_PER_ENGINE,
    MAX_ASPECT,
    WARM_UP_SIZE,
    detector_size,
    is_dark,
    reading_confidence,
    split_by_width,
    tall_windows,
    turn_back,
    vertical_share,
    warm_up_image,
)
from .rapid_script import Reading, Script, choose, recognise, script_for

T = TypeVar("T")


class RapidOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workers: int = Field(0, ge=0, description="engine instances; 0 = one per CPU core")
    threads_per_worker: int = Field(1, ge=1, description="ONNX Runtime threads of each instance")
    wide_detector: bool = Field(
        True, description="a request alone on the model, the other instances idle, detects lines on all their threads")
    det_short_side: int = Field(736, ge=32, description="scale the image so its short side reaches this...")
    det_long_side: int = Field(1280, ge=64, description="...but its long side stays at most this")
    det_max_upscale: float = Field(1.0, ge=1.0, description="and never enlarge an image more than this")
    rec_batch_size: int = Field(1, ge=1, description="lines per recognizer call (1 = no padding to a common width)")
    rec_min_width: int = Field(128, ge=32, description="narrowest recognizer input; short lines are padded to it")
    rec_squeeze: float = Field(0.7, gt=0.3, le=1.0, description="squeeze line crops sideways by this before reading")
    text_score: float = Field(0.5, ge=0.0, le=1.0, description="drop lines recognised below this confidence")
    use_angle_classifier: bool = Field(False, description="detect upside-down lines (costs time)")
    invert_dark: bool = Field(True, description="invert light-on-dark images before reading")
    auto_rotate: bool = Field(True, description="turn pages scanned sideways or upside down before reading")
    upside_down_confidence: float = Field(
        0.85, ge=0.0, le=1.0, description="a page read with less mean confidence is also tried upside down")


class RapidOcrBackend(Backend):
    tasks = frozenset({"ocr"})
    Options = RapidOptions

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        self._pool: queue.Queue | None = None
        self._wide: Any = None
        self._size = self.options.workers or max(1, os.cpu_count() or 1)

    @classmethod
    def unavailable_reason(cls, spec: ModelSpec) -> str | None:
        if importlib.util.find_spec("rapidocr") is None or importlib.util.find_spec("onnxruntime") is None:
            return "RapidOCR is not installed: pip install rapidocr onnxruntime"
        return None

    @property
    def workers(self) -> int:
        return self._size

    def _engine(self, threads: int = 0, detector_only: bool = False) -> Any:
        from rapidocr import RapidOCR

        engine = RapidOCR(params={
            "Global.log_level": "error",
            "Global.text_score": 0.0,  # keep every detected line: refine() may re-read weak ones; filtered in ocr()
            "Global.use_cls": self.options.use_angle_classifier,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads or self.options.threads_per_worker,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
            # each request sets the detector's size (detector_size); this one only keeps the warm-up image as it is
            "Det.limit_type": "max",
            "Det.limit_side_len": max(WARM_UP_SIZE),
        })
        # RapidOCR loads its ONNX sessions lazily; read a word once so no request pays for it (or only detect it,
        # for an instance that only detects: its recogniser is then never loaded)
        if detector_only:
            engine.detect_and_crop(*engine.preprocess_img(engine.load_img(warm_up_image())))
        else:
            engine(warm_up_image())
        return engine

    def load(self) -> None:
        pool: queue.Queue = queue.Queue()
        for _ in range(self._size):
            pool.put(self._engine())
        if self.options.wide_detector and self._size > 1:
            threads = min(self._size * self.options.threads_per_worker, os.cpu_count() or 1)
            self._wide = self._engine(threads, detector_only=True)
        self._pool = pool

    def unload(self) -> None:
        self._pool = self._wide = None

    def detect_and_read(self, image: Image.Image, script: Script = "auto") -> list[OcrLine]:
        """Every detected line with RapidOCR's reading of it, empty readings included (RapidOCR's own
        __call__ drops those, but a line in a script it cannot read is still a line for refine()).
        A long narrow image (a till receipt) is read in overlapping windows (side by side on the engines when
        the request is alone, else one after the other on one), each line from the window that holds its
        middle: shrunk whole to the detector's size, its text would be too small to find."""
        windows = tall_windows(*image.size, self.options)
        if len(windows) == 1:
            with self.engine() as engine:
                return self.read_with(engine, image, script)

        def read_window(window: tuple[int, int, int, int]) -> list[OcrLine]:
            top, bottom, keep_top, keep_bottom = window
            with self.engine() as engine:
                lines = self.read_with(engine, image.crop((0, top, image.width, bottom)), script, wide=False)
            shifted = [line.model_copy(update={"box": [[x, y + top] for x, y in line.box]}) for line in lines]
            return [line for line in shifted if keep_top <= sum(y for _, y in line.box) / len(line.box) < keep_bottom]

        side_by_side = min(self._size, len(windows)) if self.alone() else 1  # (under load: its own engine only)
        with ThreadPoolExecutor(max_workers=side_by_side, thread_name_prefix="ocr-window") as workers:
            return [line for part in workers.map(read_window, windows) for line in part]

    @contextmanager
    def engine(self) -> Iterator[Any]:
        """A RapidOCR instance of the pool, for this thread alone until the block ends."""
        pool = self._pool
        if pool is None:
            raise RuntimeError("RapidOCR backend used before load()")
        engine = pool.get()
        try:
            yield engine
        finally:
            pool.put(engine)

    @contextmanager
    def detector(self, engine: Any, wide: bool = True) -> Iterator[Any]:
        """The instance to detect lines with: for a request alone on the model, the wide one (ONNX Runtime threads
        for every instance) while it holds every other instance of the pool, taken idle (a lone request's
        detection on every core); under load each request keeps to its own instance and core."""
        pool = self._pool
        wide = self._wide if wide and self.alone() else None
        taken: list[Any] = []
        while wide is not None and pool is not None and len(taken) < self._size - 1:
            try:
                taken.append(pool.get_nowait())
            except queue.Empty:
                break
        try:
            if wide is not None and len(taken) == self._size - 1:
                yield wide
            else:
                for other in taken:  # (some are busy: give the idle ones back at once)
                    pool.put(other)
                taken = []
                yield engine
        finally:
            for other in taken:
                pool.put(other)

    def read_with(self, engine: Any, image: Image.Image, script: Script = "auto", wide: bool = True) -> list[OcrLine]:
        """One RapidOCR pass over an image, the detector sized for it (RapidOCR's run_ocr_steps, with the
        recognition shared out to the pool's idle engines and decoded within ``script``); ``wide``: the detector
        may run on every core when the request is alone (not for windows, which already run side by side)."""
        from rapidocr.main import RapidOCRError
        from rapidocr.utils.process_img import map_boxes_to_original

        image = pad_to_aspect(image, MAX_ASPECT)
        original = engine.load_img(image)
        prepared, record = engine.preprocess_img(original)
        try:
            with self.detector(engine, wide) as detector:
                detector.text_det.limit_type, detector.text_det.limit_side_len = detector_size(*image.size, self.options)
                crops, detected = detector.detect_and_crop(prepared, record)
            if engine.use_cls:
                crops, _ = engine.cls_and_rotate(crops)
            read = choose(self.recognize(engine, crops, script), script)
        except RapidOCRError:  # nothing detected (RapidOCR raises it for empty results)
            return []
        boxes = map_boxes_to_original(detected.boxes, record, *original.shape[:2])
        return [
            OcrLine(text=str(text), box=[[float(x), float(y)] for x, y in box], confidence=round(float(score), 4),
                    engine=engine_name)
            for (text, score, engine_name), box in zip(read, boxes, strict=True)
        ]

    def recognize(self, engine: Any, crops: list[np.ndarray], script: Script = "auto") -> list[Reading]:
        """Read the line crops (the script decides only how they are decoded, in ``choose``)."""
        return self.share_out(engine, crops, self.read_lines)

    def read_lines(self, engine: Any, crops: list[np.ndarray]) -> list[Reading]:
        """RapidOCR's reading of line crops, on one engine."""
        options = self.options
        return recognise(engine.text_rec, crops, options.rec_squeeze, options.rec_min_width, options.rec_batch_size)

    def share_out(self, engine: Any, crops: list[np.ndarray], read: Callable[[Any, list[np.ndarray]], list[T]]) -> list[T]:
        """``read(engine, crops)`` on this engine and on as many idle engines of the pool as the lines keep busy
        (a request alone on a laptop uses every core; under load, each request keeps to its own engine)."""
        pool = self._pool if self.alone() else None
        helpers = [engine]
        while pool is not None and len(helpers) < min(self._size, len(crops) // LINES_PER_ENGINE):
            try:
                helpers.append(pool.get_nowait())
            except queue.Empty:
                break
        try:
            chunks = split_by_width(crops, len(helpers))
            if len(chunks) <= 1:
                parts = [read(engine, crops)]
            else:
                with ThreadPoolExecutor(max_workers=len(chunks), thread_name_prefix="ocr-rec") as workers:
                    parts = list(workers.map(read, helpers, chunks))
        finally:
            for helper in helpers[1:]:
                pool.put(helper)
        return [reading for part in parts for reading in part]

    def refine(self, image: Image.Image, lines: list[OcrLine], language: Language | None,
               warnings: list[str]) -> list[OcrLine]:
        """Hook for subclasses: improve the lines (re-read some with another engine)."""
        return lines

    def upright(self, image: Image.Image, script: Script = "auto") -> tuple[int, Image.Image, list[OcrLine]]:
        """The page turned so its lines read left to right (a scan fed sideways or upside down), as
        (counter-clockwise turn in degrees, turned image, its lines). A page whose lines are mostly vertical is
        tried at 90 and 270 degrees, one read with low confidence at 180; the most confident reading wins, with a
        margin of 0.1 for the likelier case (a page of vertical lines is turned unless both turns read much worse;
        a page in a script RapidOCR reads poorly stays upright unless upside down reads much better).
        Upright pages cost nothing more."""
        lines = self.detect_and_read(image, script)
        if not self.options.auto_rotate or not lines:
            return 0, image, lines
        confidence = reading_confidence(lines)
        if vertical_share(lines) > 0.5:
            best, turns = (confidence - 0.1, 0, image, lines), (90, 270)
        elif confidence < self.options.upside_down_confidence:
            best, turns = (confidence + 0.1, 0, image, lines), (180,)
        else:
            return 0, image, lines
        for turn in turns:
            turned = image.rotate(turn, expand=True)
            turned_lines = self.detect_and_read(turned, script)
            candidate = (reading_confidence(turned_lines), turn, turned, turned_lines)
            best = max(best, candidate, key=lambda c: c[0])
        return best[1], best[2], best[3]

    def ocr(self, image: Image.Image, language: Language | None) -> OcrOutput:
        if self.options.invert_dark and is_dark(image):
            image = ImageOps.invert(image)
        warnings: list[str] = []
        turn, upright, lines = self.upright(image, script_for(language))
        lines = self.refine(upright, lines, language, warnings)
        lines = [line for line in lines if line.text.strip()
                 and (line.engine != "rapidocr" or line.confidence >= self.options.text_score)]
        rows = reading_order(upright_boxes([line.box for line in lines], [line.text for line in lines]))
        ordered = [lines[box.index] for row in rows for box in row]
        text = "\n".join(" ".join(lines[box.index].text.strip() for box in row) for row in rows)
        if turn:
            ordered = [line.model_copy(update={"box": turn_back(line.box, turn, image.size)}) for line in ordered]
            warnings.append(f"The page was turned {turn} degrees to read it; boxes are in the image as sent.")
        return OcrOutput(text=text, lines=ordered, warnings=warnings)
