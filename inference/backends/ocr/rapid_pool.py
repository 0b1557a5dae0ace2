"""The RapidOCR backends' engines: a pool of single-threaded RapidOCR instances, and a wide detector.

One RapidOCR instance is not safe to share between threads (each call rewrites its parameters), so the
backend keeps a pool of single-threaded instances sized to the cores, and its runner runs that many requests
at once (``workers``): concurrent requests use every core, each on its own instance, and a request alone on
the model (``alone()``, the runner's word) detects its lines with a wide instance whose detector runs on every
core and shares its line recognition (and a long receipt's windows) out to the idle instances. The instances run
ONNX Runtime sessions loaded once per process and options (``Loaded``), whichever backend loaded them.
"""

from __future__ import annotations

import copy
import functools
import itertools
import os
import queue
import threading
import types
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from .rapid_geometry import LINES_PER_ENGINE, WARM_UP_SIZE, longest_first, warm_up_image
from .rapid_options import RapidOptions

T = TypeVar("T")
P = TypeVar("P")


class RapidPool:
    """Mixed into the RapidOCR backend: the pool (``_pool``), the wide detector (``_wide``) and how a request
    takes engines from them. Needs ``options`` (:class:`RapidOptions`) and ``alone`` (set by the runner)."""

    options: RapidOptions
    alone: Callable[[], bool]

    def init_pool(self) -> None:
        self._pool: queue.Queue | None = None
        self._wide: Any = None
        self._loaded: list[Loaded | None] = []
        self._size = self.options.workers or max(1, os.cpu_count() or 1)
        self._helpers: ThreadPoolExecutor | None = None  # (threads kept for the engines a request shares its lines with)

    def _instance(self, threads: int = 0) -> Any:
        """A RapidOCR instance, its ONNX sessions not loaded yet (it loads them on first use)."""
        from rapidocr import RapidOCR

        return RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.text_score": 0.0,  # keep every detected line: refine() may re-read weak ones; filtered in ocr()
                "Global.use_cls": self.options.use_angle_classifier,
                "EngineConfig.onnxruntime.intra_op_num_threads": threads or self.options.threads_per_worker,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
                # each request sets the detector's size (detector_size); this one only keeps the warm-up image as it is
                "Det.limit_type": "max",
                "Det.limit_side_len": max(WARM_UP_SIZE),
            }
        )

    def _engine(self) -> Any:
        """The instance whose sessions the pools run (``Loaded``): RapidOCR loads its ONNX sessions lazily, so it reads
        a word once (no request pays for the loading)."""
        engine = self._instance()
        engine(warm_up_image())
        quick_detector_input(engine.text_det)
        return engine

    def _wide_detector(self, first: Any, threads: int) -> Any:
        """An instance that only detects (its recogniser is never loaded), on ``threads`` threads that sleep between
        operators: its own detector session, made from the model file of ``first``'s."""
        wide = self._instance(threads)
        session = getattr(getattr(first.text_det, "session", None), "session", None)
        model = getattr(session, "_model_path", None)
        if model:
            runner = copy.copy(first.text_det.session)
            runner.session = quiet_session(model, threads, session.get_providers())
            wide.text_det = copy.deepcopy(first.text_det, {id(first.text_det.session): runner})
        # (else a RapidOCR whose insides differ: the instance loads its own detector, threads spinning)
        wide.detect_and_crop(*wide.preprocess_img(wide.load_img(warm_up_image())))  # a first run, before any request
        return wide

    def load_pool(self) -> None:
        """The pool's instances (and the wide detector) running the process's loaded sessions for these options, loaded
        here when no other backend holds them (see :class:`Loaded`)."""
        threads = min(self._size * self.options.threads_per_worker, os.cpu_count() or 1)
        threads = threads if self.options.wide_detector and self._size > 1 else 0
        first = loaded_once(("pool", self.options.threads_per_worker, self.options.use_angle_classifier), self._engine)
        wide = loaded_once(("wide", threads), lambda: self._wide_detector(first.engine, threads)) if threads else None
        pool: queue.Queue = queue.Queue()
        for _ in range(self._size):
            pool.put(sharing_sessions(first.engine, self._instance()))
        self._wide = sharing_sessions(wide.engine, self._instance(threads)) if wide is not None else None
        self._pool, self._loaded = pool, [first, wide]
        if self._size > 1:
            self._helpers = ThreadPoolExecutor(max_workers=self._size - 1, thread_name_prefix="ocr-rec")

    def unload_pool(self) -> None:
        self._pool = self._wide = None
        self._loaded = []
        if self._helpers is not None:
            self._helpers.shutdown(wait=False)  # (its threads end once the lines they read are done)
            self._helpers = None

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

    def side_by_side(self, read: Callable[[P], T], parts: list[P]) -> list[T]:
        """``read`` over a request's parts (a long receipt's windows), in order: side by side on as many engines
        as there are parts when the request is alone, else one after the other (under load: its own engine only)."""
        with ThreadPoolExecutor(
            max_workers=min(self._size, len(parts)) if self.alone() else 1, thread_name_prefix="ocr-window"
        ) as workers:
            return list(workers.map(read, parts))

    def share_out(
        self,
        engine: Any,
        crops: list[np.ndarray],
        read: Callable[[Any, list[np.ndarray]], list[T]],
        per_engine: int = LINES_PER_ENGINE,
        batch: int | None = None,
    ) -> list[T]:
        """``read(engine, crops)`` on this engine and on as many idle engines of the pool as the lines keep busy
        (a request alone on a laptop uses every core; under load, each request keeps to its own engine), the readings
        in the crops' order. Each engine takes the next line when it is free, the longest first (``longest_first``;
        in runs of ``rec_batch_size`` lines of about one width where the recogniser reads several at once): a line
        that takes long (one Tesseract is unsure of, read again by RapidOCR) keeps no engine waiting, and no engine
        is left with a long line when the others are done (runs of consecutive lines left one core idle ~40 ms a page,
        7% of the peer pages' time; now ~20 ms). ``per_engine``: the fewest lines worth another engine (a RapidOCR
        line takes ~2-40 ms, a Tesseract one 1-20); ``batch``: the lines ``read`` takes at once (the recogniser's
        ``rec_batch_size`` unless said: Tesseract reads a line at a time). This thread reads with ``engine``, the others
        on the pool's threads, kept (a thread started for each engine of each call cost ~2 ms of this thread's time,
        ~80 calls on the 22 peer pages: 0.27 s a pass)."""
        helpers_threads = self._helpers
        pool = self._pool if self.alone() and helpers_threads is not None else None
        batch = max(1, self.options.rec_batch_size if batch is None else batch)
        helpers, batches = [engine], -(-len(crops) // batch)  # (no more engines than runs)
        while pool is not None and len(helpers) < min(self._size, len(crops) // per_engine, batches):
            try:
                helpers.append(pool.get_nowait())
            except queue.Empty:
                break
        try:
            if len(helpers) == 1:
                return read(engine, crops)
            runs = longest_first(crops, batch)
            found: list[T | None] = [None] * len(crops)
            taken, failed = itertools.count(), threading.Event()  # (next() on a count is atomic: each run read once)

            def work(helper: Any) -> None:
                try:
                    while not failed.is_set() and (i := next(taken)) < len(runs):
                        for k, reading in zip(runs[i], read(helper, [crops[k] for k in runs[i]]), strict=True):
                            found[k] = reading
                except BaseException:
                    failed.set()  # (a request cancelled or failed: the other engines take no more of its lines)
                    raise

            others = [helpers_threads.submit(work, helper) for helper in helpers[1:]]  # type: ignore[union-attr]
            try:
                work(engine)
            finally:
                wait(others)  # (their engines go back to the pool once they are done with them)
            for other in others:
                other.result()  # (an error in a run is raised here)
        finally:
            for helper in helpers[1:]:
                pool.put(helper)
        return found  # type: ignore[return-value]  (every index was read)


class Loaded:
    """A RapidOCR instance whose ONNX sessions are loaded and warm (the pool's detector, recogniser and angle classifier;
    or the wide detector's own session), kept while a backend's pool runs them. It never runs itself: each pool's
    instances are copies that run its sessions (``sharing_sessions``). The backends of one process with the same
    options (the embedded and rapidocr models, one loaded again while another holds them) then load the models once:
    their time, and their memory."""

    def __init__(self, engine: Any):
        self.engine = engine


READ_ONLY = ("postprocess_op", "cfg")  # the recogniser's parts that a call reads only

_LOADED: weakref.WeakValueDictionary[tuple[Any, ...], Loaded] = weakref.WeakValueDictionary()
_LOADING = threading.Lock()


def loaded_once(key: tuple[Any, ...], load: Callable[[], Any]) -> Loaded:
    """The process's loaded instance for ``key``, loaded by ``load`` when no backend holds one."""
    with _LOADING:
        found = _LOADED.get(key)
        if found is None:
            found = _LOADED[key] = Loaded(load())
        return found


def sharing_sessions(first: Any, engine: Any) -> Any:
    """``engine`` (a fresh RapidOCR instance) running ``first``'s loaded ONNX sessions, with its own copy of everything
    else: an instance is not safe to share between threads (each call rewrites its parameters), an ONNX Runtime session
    is (each run on the calling thread, the pool's sessions having one thread each). A pool of N instances then loads
    its models once, not N times (the load's time and memory). So does the recogniser's decoder and configuration, which
    a call only reads (its dictionary of ~18,700 characters: copying it was most of a pool's load). A part ``first`` has
    not loaded (no angle classifier) ``engine`` loads itself if it ever needs it."""
    for part in ("text_det", "text_cls", "text_rec"):
        model = getattr(first, part, None)
        runner = getattr(model, "session", None)
        if runner is not None:
            shared = [runner] + ([getattr(model, name, None) for name in READ_ONLY] if part == "text_rec" else [])
            setattr(engine, part, copy.deepcopy(model, {id(value): value for value in shared if value is not None}))
    return engine


def quick_detector_input(detector: Any) -> None:
    """RapidOCR's detector (``text_det``) preparing its input with :func:`detector_input`; kept by the copies the pools
    make of it (a bound method is copied bound to the copy)."""
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    def get_preprocess(self: Any) -> Callable[[np.ndarray], np.ndarray | None]:
        return functools.partial(detector_input, DetPreProcess(self.limit_side_len, self.limit_type, self.mean, self.std))

    if hasattr(detector, "get_preprocess"):  # (else a RapidOCR whose insides differ: its own preparation)
        detector.get_preprocess = types.MethodType(get_preprocess, detector)


def detector_input(prepare: Any, image: np.ndarray) -> np.ndarray | None:
    """What RapidOCR's DetPreProcess makes of an image (resized to a multiple of 32, normalised, NCHW float32), in one
    pass of OpenCV's where RapidOCR's takes three in float64: ~12 ms of each page's detection, which runs before the
    page's lines can be read, on one core."""
    import cv2

    resized = prepare.resize(image)
    if resized is None:
        return None
    mean, std = np.asarray(prepare.mean, np.float64), np.asarray(prepare.std, np.float64)
    if resized.ndim != 3 or mean.size != resized.shape[2] or np.ptp(std) != 0:  # (blobFromImage scales all channels alike)
        return np.expand_dims(prepare.permute(prepare.normalize(resized)), axis=0).astype(np.float32)
    return cv2.dnn.blobFromImage(resized, scalefactor=1 / (255 * float(std[0])), mean=tuple(255 * mean))


def quiet_session(model: str, threads: int, providers: list[str]) -> Any:
    """An ONNX Runtime session of ``model`` on ``threads`` threads that do not spin between operators.

    ONNX Runtime's pool threads spin between the operators of a run by default, on every core the session was given.
    The wide detector has a thread per core, so while it reads, its spinning takes the cores from the work beside it
    (another request's recognition, a VLM, the layout model, another process). Measured on 2 cores: the same time
    for a request alone, and ~15% less CPU and time each when two processes read at once. RapidOCR does not pass
    this option (its sessions take only thread counts)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = True
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, options, providers=providers)
