"""The model registry: every configured model, validated once at start-up.

``/models``, the model manager panel and request validation all read it.
"""

from __future__ import annotations

from pydantic import ValidationError

from . import backends
from .backends.base import Backend
from .errors import ConfigError, UnknownModel
from .settings import ModelSpec, Settings


class Registry:
    def __init__(self, settings: Settings):
        self._specs: dict[str, ModelSpec] = {}
        self._classes: dict[str, type[Backend]] = {}
        self._unavailable: dict[str, str | None] = {}
        for spec in settings.models:
            self._add(spec)

    def _add(self, spec: ModelSpec) -> None:
        if spec.id in self._specs:
            raise ConfigError(f"Model id '{spec.id}' appears twice in the config; ids must be unique.")
        if spec.backend not in backends.names():
            raise ConfigError(
                f"Model '{spec.id}': unknown backend '{spec.backend}'. Known backends: {', '.join(backends.names())}."
            )
        cls = backends.backend_class(spec.backend)
        extra = set(spec.tasks) - cls.tasks
        if extra:
            raise ConfigError(
                f"Model '{spec.id}': backend '{spec.backend}' cannot do {', '.join(sorted(extra))}; "
                f"it supports {', '.join(sorted(cls.tasks))}."
            )
        if cls.requires_source and not spec.source:
            raise ConfigError(f"Model '{spec.id}': backend '{spec.backend}' needs a 'source' (Hub repo id or local folder).")
        try:
            cls.Options.model_validate(spec.options)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"Model '{spec.id}': invalid options: {problems}") from None
        self._specs[spec.id] = spec
        self._classes[spec.id] = cls
        self._unavailable[spec.id] = cls.unavailable_reason(spec)

    def ids(self) -> list[str]:
        return list(self._specs)

    def specs(self) -> list[ModelSpec]:
        return list(self._specs.values())

    def get(self, model_id: str) -> ModelSpec:
        try:
            return self._specs[model_id]
        except KeyError:
            shown = model_id if len(model_id) <= 64 else model_id[:64] + "..."  # never echo unbounded input
            raise UnknownModel(f"Unknown model '{shown}'. Valid models: {', '.join(self._specs)}.") from None

    def backend_class(self, model_id: str) -> type[Backend]:
        self.get(model_id)
        return self._classes[model_id]

    def unavailable_reason(self, model_id: str) -> str | None:
        self.get(model_id)
        return self._unavailable[model_id]

    def capable(self, task: str, usable_only: bool = True) -> list[str]:
        return [
            spec.id for spec in self._specs.values()
            if task in spec.tasks and not (usable_only and self._unavailable[spec.id])
        ]

    def default_for(self, task: str, configured: str, gpu: bool) -> str | None:
        """The model a request without ``model`` gets; None when no configured model can do the task."""
        if configured != "auto":
            return configured
        candidates = [self._specs[i] for i in self.capable(task)]
        preferred = [s for s in candidates if s.gpu_preferred == gpu]
        chosen = (preferred or candidates or [None])[0]
        return chosen.id if chosen else None

    def check_preload(self, ids: list[str]) -> None:
        unknown = [model_id for model_id in ids if model_id not in self._specs]
        if unknown:
            raise ConfigError(f"server.preload names {', '.join(repr(u) for u in unknown)}, not in the registry: "
                              f"use ids among {', '.join(self._specs)}.")

    def check_default(self, task: str, configured: str) -> None:
        if configured == "auto":
            return
        spec = self.get(configured) if configured in self._specs else None
        if spec is None:
            raise ConfigError(
                f"Default {task} model '{configured}' is not in the registry: "
                f"use one of {', '.join(self._specs)} or 'auto'."
            )
        if task not in spec.tasks:
            able = ", ".join(self.capable(task, usable_only=False)) or "none"
            raise ConfigError(f"Default {task} model '{configured}' cannot do {task}; models that can: {able}.")
