"""The model catalogue: ids, defaults and choices, each request's model resolved once into a :class:`ModelHandle`.

A handle carries what the core needs of a model (its spec, its backend class, its sizing) so that nothing after
the request's first check looks the id up again, and nothing builds a backend just to read its sizing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .backends.base import Backend
from .device import gpu_info
from .errors import BadInput, ModelUnavailable, UnknownModel
from .observe import Observers
from .registry import Registry
from .results import ModelChoice
from .settings import ModelSpec, Settings

TASK_VERBS = {"ocr": "do OCR", "chat": "chat"}


@dataclass(frozen=True)
class Sizing:
    """How a model runs, known before it is loaded (from its spec and this host)."""

    workers: int  # requests it runs at once
    max_batch: int  # requests one batch answers together
    max_images: int  # images one chat request may carry
    page_side: int  # longest side, in px, a document page is rendered at for it


@dataclass(frozen=True, eq=False)
class ModelHandle:
    """One configured model, resolved: its spec, its backend class, why it cannot run here (None when it can)."""

    spec: ModelSpec
    backend_class: type[Backend]
    unavailable: str | None

    @property
    def id(self) -> str:
        return self.spec.id

    def build(self) -> Backend:
        """A new backend for this model (cheap: weights are loaded by its ``load()``)."""
        return self.backend_class(self.spec)

    @cached_property
    def sizing(self) -> Sizing:
        """Read once per model from a backend built for that (sizing depends on its options and this host only)."""
        backend = self.build()
        return Sizing(
            workers=max(1, backend.workers),
            max_batch=max(1, backend.max_batch),
            max_images=backend.max_images,
            page_side=self.backend_class.page_longest_side(self.spec),
        )

    @cached_property
    def prepare_image(self) -> Callable[[Any], Any]:
        """The model's own preparation of a chat image (``Backend.prepare_image``, of a backend built for that)."""
        return self.build().prepare_image

    def missing(self) -> str | None:
        """Why it cannot run here yet (not runnable, or weights not on this host), or None."""
        return self.unavailable or self.backend_class.missing_weights(self.spec)

    def check_startable(self, fetch: bool = False) -> None:
        """ModelUnavailable when this model may not be loaded now: it cannot run on this host, or its weights are not
        here and this is no administrator's load (``fetch``): a request never starts a download (of gigabytes)."""
        if self.unavailable:
            raise ModelUnavailable(f"Model '{self.id}' cannot run on this server: {self.unavailable}")
        absent = None if fetch else self.backend_class.missing_weights(self.spec)
        if absent:
            raise ModelUnavailable(
                f"Model '{self.id}' is not downloaded on this server, and a request never starts a download. An "
                f"administrator can fetch it: python -m inference.download {self.id} on the server, the Models tab's "
                f"Load, or POST /models/{self.id}/load (with an admin key where keys are on).",
                log_detail=absent,
            )


class Catalog:
    """Every configured model, checked at start-up, and the rules that pick one for a request."""

    def __init__(self, settings: Settings, observers: Observers | None = None):
        self.settings = settings
        self.registry = Registry(settings)
        self.registry.check_default("ocr", settings.defaults.ocr_model)
        self.registry.check_default("chat", settings.defaults.chat_model)
        self.registry.check_preload(settings.server.preload)
        self.observers = observers or Observers()
        self._handles = {
            spec.id: ModelHandle(spec, self.registry.backend_class(spec.id), self.registry.unavailable_reason(spec.id))
            for spec in self.registry.specs()
        }

    def handle(self, model_id: str) -> ModelHandle:
        """The model ``model_id`` names; UnknownModel (with the valid ids) when none."""
        handle = self._handles.get(model_id)
        if handle is None:
            self.registry.get(model_id)  # raises UnknownModel with the list of valid ids
        assert handle is not None
        return handle

    def handles(self) -> list[ModelHandle]:
        return list(self._handles.values())

    def ids(self, task: str | None = None) -> list[str]:
        """Configured models (those that can do ``task`` when given), in config order, runnable here or not."""
        return self.registry.ids() if task is None else self.registry.capable(task, usable_only=False)

    def default_model(self, task: str) -> str | None:
        configured = {"ocr": self.settings.defaults.ocr_model, "chat": self.settings.defaults.chat_model}[task]
        return self.registry.default_for(task, configured, gpu_info().available)

    def models_for(self, task: str) -> list[str]:
        """Models that can do ``task`` and can run here now (weights here: a request never fetches any), default first."""
        default = self.default_model(task)
        ready = [i for i in self.registry.capable(task) if self._handles[i].missing() is None]
        return sorted(ready, key=lambda i: i != default)

    def choices(self, task: str) -> list[ModelChoice]:
        """The models that can do ``task``, as a person picks one: those that can run here first (the default
        first), each with what it needs."""
        gpu, default, choices = gpu_info().available, self.default_model(task), []
        for model_id in self.ids(task):
            handle = self._handles[model_id]
            missing = handle.missing()
            note = missing or ("needs a GPU to be fast" if handle.spec.gpu_preferred and not gpu else "")
            choices.append(ModelChoice(id=model_id, name=handle.spec.name, runnable=missing is None, note=note))
        return sorted(choices, key=lambda c: (not c.runnable, c.id != default))

    def no_model(self, task: str) -> str:
        """Why no model can do ``task`` here, and what to do: on a CPU install without PyTorch, the README's CPU path
        (PyTorch's CPU build, not requirements.txt's CUDA build of ~6 GB, then a small model's weights)."""
        gpu = gpu_info().available
        why = self.registry.why_no_default(task, gpu)
        small = [h for h in self._handles.values() if task in h.spec.tasks and not h.spec.gpu_preferred]
        if task == "chat" and not gpu and small and not all(map(importlib.util.find_spec, ("torch", "transformers"))):
            why = (
                "An administrator can make this CPU-only install chat (the README's CPU path): install PyTorch's CPU "
                "build (pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu), then the rest "
                "of requirements.txt, then "
                f"fetch {small[0].spec.name}: python -m inference.download {small[0].id}."
            )
        return f"No model that can {TASK_VERBS[task]} is ready on this server. {why}"

    def cannot_run(self, task: str, model: str | None) -> str | None:
        """Why a request for ``task`` naming ``model`` (None: the default) cannot run here until an administrator
        acts (nothing to retry); None when it can, or when the request is wrong in another way (said by resolve)."""
        model = (model or "").strip() or self.default_model(task)
        if model is None:
            return self.no_model(task)
        handle = self._handles.get(model)
        if handle is None or task not in handle.spec.tasks:
            return None
        try:
            handle.check_startable()
        except ModelUnavailable as exc:
            return str(exc)
        return None

    def resolve(self, task: str, model: str | None) -> ModelHandle:
        """The model a request for ``task`` runs on (``model``, or the default when it names none): resolved once."""
        model = (model or "").strip() or None
        if model is None:
            model = self.default_model(task)
            if model is None:
                raise ModelUnavailable(self.no_model(task))
        if not isinstance(model, str) or model not in self._handles:  # (the ids listed: those that can do this)
            shown = str(model) if len(str(model)) <= 64 else str(model)[:64] + "..."
            able = ", ".join(self.registry.capable(task, usable_only=False)) or "none on this server"
            raise UnknownModel(f"Unknown model '{shown}'. Models that can {TASK_VERBS[task]}: {able}.")
        handle = self.handle(model)
        if task not in handle.spec.tasks:
            able = ", ".join(self.registry.capable(task)) or "none on this server"
            raise BadInput(f"Model '{model}' cannot {TASK_VERBS[task]}. Models that can: {able}.")
        handle.check_startable()  # before anything is decoded or queued (a cheap look at this host's files)
        self.observers.model_used(model)
        return handle

    def startup_report(self) -> list[str]:
        """What a person starting the server needs to know of the models, in a few lines (logged at start-up)."""
        gpu = gpu_info()
        lines = [f"GPU: {gpu.name} ({gpu.count} device(s))" if gpu.available else "GPU: none, running on the CPU"]
        chat = self.default_model("chat")
        lines.append(
            f"default OCR model: {self.default_model('ocr') or 'none'}; default chat model: {chat or 'none can run here'}"
        )
        ready, missing = [], {}
        for handle in self._handles.values():
            reason = handle.missing()
            if reason:  # models that share a reason are named together ("\0" stands for their ids)
                missing.setdefault(reason.replace(handle.id, "\0"), []).append(handle.id)
            else:
                ready.append(handle.id)
        lines.append(f"models that can run here: {', '.join(ready) or 'none'}")
        for model_id in ready:  # what the operator could add (the models run without)
            handle = self._handles[model_id]
            advice = handle.backend_class.advice(handle.spec)
            lines += [f"{model_id}: {advice}"] if advice else []
        for reason, ids in missing.items():
            lines.append(f"models that cannot run yet: {', '.join(ids)}: {reason.replace(chr(0), ' '.join(ids))}")
        return lines
