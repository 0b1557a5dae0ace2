"""The model registry: every configured model, validated once at start-up.

``/models``, the model manager panel and request validation all read it.
"""

from __future__ import annotations

from pydantic import ValidationError

from . import backends
from .backends.base import Backend
from .errors import ConfigError, UnknownModel
from .settings import ModelSpec, Settings


def check_models(settings: Settings) -> None:
    """Raise the ConfigError that building the server's registry would (an unknown backend, a bad option), in a
    fraction of a second: ``python app.py`` says a bad model entry before the UI's seconds of imports."""
    Registry(settings)


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
        except (KeyError, TypeError):  # (TypeError: an id that is no string, sent as a JSON list or object)
            shown = str(model_id)
            shown = shown if len(shown) <= 64 else shown[:64] + "..."  # never echo unbounded input
            raise UnknownModel(f"Unknown model '{shown}'. Valid models: {', '.join(self._specs)}.") from None

    def backend_class(self, model_id: str) -> type[Backend]:
        self.get(model_id)
        return self._classes[model_id]

    def unavailable_reason(self, model_id: str) -> str | None:
        self.get(model_id)
        return self._unavailable[model_id]

    def capable(self, task: str, usable_only: bool = True) -> list[str]:
        return [
            spec.id for spec in self._specs.values() if task in spec.tasks and not (usable_only and self._unavailable[spec.id])
        ]

    def missing_weights(self, model_id: str) -> str | None:
        """None when the model's weights are on this host (or it needs none); else how to get them (a cheap look)."""
        return self.backend_class(model_id).missing_weights(self.get(model_id))

    def default_for(self, task: str, configured: str, gpu: bool) -> str | None:
        """The model a request without ``model`` gets, None when none fits. ``auto``: on a GPU host the first model
        that can run here, GPU models first (missing weights are fetched on first use); on a CPU host the first
        model that is practical on a CPU (not ``gpu_preferred``) and whose weights are here already, so a request
        never waits for a download or a GPU model that a CPU cannot serve."""
        if configured != "auto":
            return configured
        candidates = [self._specs[i] for i in self.capable(task)]
        if gpu:
            chosen = ([s for s in candidates if s.gpu_preferred] or candidates or [None])[0]
        else:
            chosen = next((s for s in candidates if not s.gpu_preferred and not self.missing_weights(s.id)), None)
        return chosen.id if chosen else None

    def why_no_default(self, task: str, gpu: bool) -> str:
        """Why ``auto`` found no model for ``task`` here, and what to do (one sentence or two)."""
        configured = self.capable(task, usable_only=False)
        if not configured:
            return "An administrator can add one: in config.yaml (see the README's model list)."
        cpu = [i for i in configured if not self._specs[i].gpu_preferred]
        if not gpu:
            fixes = [f"{i} {self._unavailable[i] or self.missing_weights(i)}" for i in cpu]
            gpu_only = [i for i in configured if i not in cpu]
            said = (
                f"On this CPU-only host: {'; '.join(fixes)}."
                if fixes
                else "None of them is practical on a CPU; an administrator can add a small one: SmolVLM2, say, in config.yaml."
            )
            if gpu_only:  # (one whose weights are here may be named to try it on the CPU; the others cannot run at all)
                ready = [i for i in gpu_only if not self._unavailable[i] and not self.missing_weights(i)]
                anyway = f" ({' or '.join(ready)}: name it with model= to try it on the CPU anyway)" if ready else ""
                said += f" {', '.join(gpu_only)} need a GPU{anyway}."
            return said
        return "; ".join(f"{i} {self._unavailable[i]}" for i in configured) + "."

    def check_preload(self, ids: list[str]) -> None:
        unknown = [model_id for model_id in ids if model_id not in self._specs]
        if unknown:
            raise ConfigError(
                f"server.preload names {', '.join(repr(u) for u in unknown)}, not in the registry: "
                f"use ids among {', '.join(self._specs)}."
            )

    def check_default(self, task: str, configured: str) -> None:
        if configured == "auto":
            return
        spec = self.get(configured) if configured in self._specs else None
        if spec is None:
            raise ConfigError(
                f"Default {task} model '{configured}' is not in the registry: use one of {', '.join(self._specs)} or 'auto'."
            )
        if task not in spec.tasks:
            able = ", ".join(self.capable(task, usable_only=False)) or "none"
            raise ConfigError(f"Default {task} model '{configured}' cannot do {task}; models that can: {able}.")
