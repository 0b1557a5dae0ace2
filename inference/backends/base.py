"""The small contract every backend implements.

A backend is constructed cheaply from its registry entry; weights are loaded in ``load()``, never in
``__init__``. It only computes: the model's :class:`~inference.runner.Runner` owns the queue, the worker
threads and the batching, and calls

- ``run_batch(works, stops)``: answers for a batch of work (at most ``max_batch`` items, sharing one
  ``batch_key``); ``stops[i]()`` turns true when item i's caller is gone or its deadline passed;
- ``stream(work, emit, stop)``: one chat answer, handing each new piece of text to ``emit``.

Capabilities and sizing are class attributes or properties (``tasks``, ``workers``, ``max_batch``,
``batch_wait_s``), and each backend declares its config ``options`` as a pydantic model so that the
registry can validate them at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, ClassVar

from PIL import Image
from pydantic import BaseModel, ConfigDict

from ..errors import BadInput
from ..languages import Language
from ..settings import ModelSpec
from ..values import ChatOutput, ChatWork, OcrOutput, OcrWork, Output, Work

Stop = Callable[[], bool]


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Backend:
    """Base class. Subclasses set ``tasks`` and implement what those tasks need."""

    tasks: ClassVar[frozenset[str]] = frozenset()
    requires_source: ClassVar[bool] = False  # weights come from the entry's `source`
    Options: ClassVar[type[BaseModel]] = NoOptions
    page_side: ClassVar[int] = 2339  # longest side, in px, a document page is rendered at for this model (200 dpi A4)

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.options: Any = self.Options.model_validate(spec.options)
        # whether the work being computed is all the runner has (nothing beside it, nothing waiting): a backend
        # with several engines may then put them all on it. The runner sets it; alone, a backend always is.
        self.alone: Callable[[], bool] = lambda: True

    @classmethod
    def unavailable_reason(cls, spec: ModelSpec) -> str | None:
        """None when this backend can run here; else what is missing and how to get it."""
        return None

    @classmethod
    def advice(cls, spec: ModelSpec) -> str | None:
        """None, or what the operator could install for this model to do more here (it runs without: /models and
        the start-up log say it, never a user's result)."""
        return None

    @classmethod
    def missing_weights(cls, spec: ModelSpec) -> str | None:
        """None when the model's weights are on this host (or it needs none); else how to get them."""
        return None

    @classmethod
    def memory_needs(cls, spec: ModelSpec) -> tuple[str, int] | None:
        """(device, bytes) the model's weights will take once loaded, known before loading (nothing fetched), or None:
        small or not known (``inference.model_room`` then neither counts nor unloads it)."""
        return None

    @classmethod
    def page_longest_side(cls, spec: ModelSpec) -> int:
        """The longest side a PDF page is rendered at for this model: the page size it reads best (its
        ``longest_side`` or ``page_longest_side`` option, if any, else the backend's)."""
        options = cls.Options.model_validate(spec.options)
        return int(getattr(options, "longest_side", None) or getattr(options, "page_longest_side", None) or cls.page_side)

    # ---- sizing, read by the runner --------------------------------------------------------------
    @property
    def workers(self) -> int:
        """Requests this backend can run at once (the runner's worker threads)."""
        return 1

    @property
    def max_batch(self) -> int:
        """Requests one ``run_batch`` call may answer together."""
        return 1

    @property
    def batch_wait_s(self) -> float:
        """How long the runner waits for others to join a batch."""
        return 0.0

    @property
    def max_images(self) -> int:
        """Images one chat request may carry."""
        return 1

    def prepare_image(self, image: Image.Image) -> Image.Image:
        """A chat image as this model reads it (scaled down to what it uses). Applied when a chat request is admitted
        (``ModelHandle.prepare_image``), so that a request waiting its turn holds no more of its images than the model
        reads (a 40 Mpx image decoded is 120 MB); applying it again changes nothing."""
        return image

    def batch_key(self, work: Work) -> Hashable:
        """Requests batched together share this key."""
        return None

    # ---- lifetime --------------------------------------------------------------------------------
    def load(self) -> None:
        raise NotImplementedError

    def unload(self) -> None:
        raise NotImplementedError

    def release_memory(self) -> None:
        """Give cached accelerator memory back (after an out-of-memory error)."""

    # ---- compute ---------------------------------------------------------------------------------
    def run_batch(self, works: Sequence[Work], stops: Sequence[Stop]) -> list[Output]:
        """Answers in order. The default answers OCR work one item at a time with :meth:`ocr`."""
        outputs: list[Output] = []
        for work in works:
            if not isinstance(work, OcrWork):
                raise BadInput(f"Model '{self.spec.id}' cannot chat.")
            outputs.append(self.ocr(work.image, work.language))
        return outputs

    def stream(self, work: ChatWork, emit: Callable[[str], None], stop: Stop) -> ChatOutput:
        """One chat answer, its text handed to ``emit`` piece by piece; backends that cannot stream emit it whole."""
        output = self.run_batch([work], [stop])[0]
        assert isinstance(output, ChatOutput)
        emit(output.text)
        return output

    def ocr(self, image: Image.Image, language: Language | None) -> OcrOutput:
        raise NotImplementedError(f"{type(self).__name__} does not do OCR")
