"""What the model manager says of its models: ``/models`` and the model panel (``info``, ``models``), ``/health``
and ``/ready`` (mixed into :class:`~inference.manager.ModelManager`, whose ``status`` and ``loaded`` they read)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from .catalog import ModelHandle
from .device import gpu_info, memory_in_use
from .results import HealthResult, ModelInfo, ModelsResult, ModelState, ReadyResult

UNLOADED, LOADING, READY, UNLOADING, ERROR, UNAVAILABLE = ModelState


class ModelReports:
    _slots: dict[str, Any]
    _slot: Callable[[ModelHandle | str], Any]
    status: Callable[[ModelHandle | str], Any]
    loaded: Callable[[], list[str]]

    def info(self, model: ModelHandle | str) -> ModelInfo:
        """The model as ``/models`` and the model panel show it: its entry and its state."""
        slot, status = self._slot(model), self.status(model)
        handle, spec, since = slot.handle, slot.handle.spec, slot.room_wait
        note = None if status.state == UNAVAILABLE else handle.backend_class.advice(spec)
        if status.state == UNLOADED and note is None:  # (why it cannot run yet: the Models tab and the log say it too)
            note = handle.backend_class.missing_weights(spec)
        if status.state == LOADING and since is not None:  # (not loading yet: waiting for others to make way)
            note = (
                f"Waiting for memory for {time.monotonic() - since:.0f} s: it loads once the models using it have made "
                "way (idle ones first; see limits.model_memory_gb)."
            )
        return ModelInfo(
            id=spec.id,
            name=spec.name,
            params=spec.params,
            backend=spec.backend,
            tasks=list(spec.tasks),
            state=status.state,
            error=status.error,
            load_seconds=status.load_seconds,
            note=note,
            waiting=status.waiting,
            running=status.running,
        )

    def models(self, defaults: dict[str, str | None]) -> ModelsResult:
        """Every configured model with its state (``/models``); ``defaults``: the model each task gets."""
        infos = [self.info(model_id) for model_id in self._slots]
        return ModelsResult(
            available=[m for m in infos if m.state != UNAVAILABLE],
            loaded=[m.id for m in infos if m.state == READY],
            unavailable=[m for m in infos if m.state == UNAVAILABLE],
            defaults=defaults,
        )

    def health(self) -> HealthResult:
        gpu, loaded = gpu_info(), self.loaded()
        return HealthResult(
            status="healthy",
            gpu_available=gpu.available,
            gpu_name=gpu.name,
            models_loaded=len(loaded),
            loaded_models=loaded,
            gpu_memory=memory_in_use(),
        )

    def readiness(self, preload: Sequence[str], preloading: bool, closing: bool) -> ReadyResult:
        """Ready once the ``preload`` models are loaded; not while they load, when one failed, or at shutdown."""
        states = {model_id: self.status(model_id).state for model_id in preload}
        if closing:
            return ReadyResult(ready=False, detail="The server is shutting down.", models=states)
        if preloading:
            return ReadyResult(
                ready=False,
                detail="Models are still loading: " + ", ".join(i for i, s in states.items() if s != READY) + ".",
                models=states,
            )
        failed = [i for i, s in states.items() if s in (ERROR, UNAVAILABLE)]
        if failed:
            return ReadyResult(
                ready=False, detail=f"Preloading failed for {', '.join(failed)}; GET /models says why.", models=states
            )
        return ReadyResult(ready=True, detail="ready", models=states)
