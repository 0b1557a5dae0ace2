"""A small real backend for the serving-core tests: its batches wait at a gate the test opens (and stop early,
like a generation, when every row's stop signal is true), and its load can wait for a gate and fail, so each
test controls when work and loads happen without sleeping. Registered as backend ``gate`` by the tests that
need it in a config."""

from __future__ import annotations

import threading

from pydantic import BaseModel, ConfigDict

from inference.backends.base import Backend
from inference.errors import ModelUnavailable
from inference.settings import ModelSpec
from inference.values import ChatOutput, ChatWork, OcrOutput


def label(work) -> str:
    """A work item's label: an OCR item's image, a chat's last message."""
    return work.messages[-1].content if isinstance(work, ChatWork) else work.image


SPEC = ModelSpec(id="gate", name="Gate", backend="rapidocr", tasks=["ocr"])


class GateBackend(Backend):
    """Answers each work item with its image (a label); every batch waits until ``gate`` opens or all its rows
    are stopped. ``fail`` decides, per batch, whether it raises (and what)."""

    tasks = frozenset({"ocr", "chat"})
    load_gate = threading.Event()  # load() waits for it (set: loads at once)
    load_gate.set()
    loads_started = threading.Event()
    load_error: str | None = None  # load() fails with this, when set
    loads = 0

    def __init__(self, max_batch: int = 1, workers: int = 1, wait_s: float = 0.0, fail=None, spec=SPEC):
        super().__init__(spec)
        self._max_batch, self._workers, self._wait_s, self.fail = max_batch, workers, wait_s, fail
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.batches: list[list[str]] = []
        self.stopped_early = 0
        self.stop_seen = threading.Event()
        self.released = 0

    @property
    def workers(self):
        return self._workers

    @property
    def max_batch(self):
        return self._max_batch

    @property
    def batch_wait_s(self):
        return self._wait_s

    def batch_key(self, work):
        return work.params.temperature if isinstance(work, ChatWork) else 0.0

    def release_memory(self):
        self.released += 1

    def _wait(self, stops) -> None:
        self.entered.set()
        while not self.gate.wait(0.005):
            if all(stop() for stop in stops):
                self.stopped_early += 1
                self.stop_seen.set()
                return

    def run_batch(self, works, stops):
        labels = [label(w) for w in works]
        self.batches.append(labels)
        self._wait(stops)
        if self.fail is not None and (error := self.fail(labels)) is not None:
            raise error
        return [OcrOutput(text=label if isinstance(label, str) else "a page") for label in labels]  # (a live server's: images)

    def stream(self, work, emit, stop):
        self.batches.append([label(work)])
        self.entered.set()
        count = 0
        while not stop() and count < 10_000:
            emit("x")
            count += 1
            self.gate.wait(0.001)
        return ChatOutput(text="x" * count, finish_reason="stop" if count < 10_000 else "length")

    def load(self) -> None:
        GateBackend.loads += 1
        GateBackend.loads_started.set()
        GateBackend.load_gate.wait(30)
        if GateBackend.load_error:
            raise ModelUnavailable(GateBackend.load_error)

    def unload(self) -> None:
        pass


class ConfiguredGate(GateBackend):
    """The gate backend as the registry builds it (from a config entry)."""

    def __init__(self, spec: ModelSpec):
        super().__init__(spec=spec)


class SizedGate(ConfiguredGate):
    """The gate backend with weights of a size its entry gives (``options: {weights_mb: N}``), as the model manager's
    room sees them (``Backend.memory_needs``)."""

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        weights_mb: float = 0.0
        device: str = "cpu"

    @classmethod
    def memory_needs(cls, spec: ModelSpec) -> tuple[str, int] | None:
        options = cls.Options.model_validate(spec.options)
        return (options.device, int(options.weights_mb * 2**20)) if options.weights_mb else None
