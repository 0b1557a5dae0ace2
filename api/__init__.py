"""REST routes of the API guide, registered on the FastAPI app that Gradio mounts.

``uvicorn api:app`` (the API guide's command) serves the same assembled app as
``uvicorn app:app``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from inference import InferenceService

from . import errors
from .root import RootInfoMiddleware
from .routes import chat, models, ocr, system


def install(app: FastAPI, service: InferenceService) -> None:
    """Register the REST routes, error handlers and `/` negotiation. Call before mounting Gradio."""
    app.state.service = service
    errors.install(app)
    for module in (system, models, ocr, chat):
        app.include_router(module.router)
    app.add_middleware(RootInfoMiddleware, info=lambda: service.info().model_dump())


def __getattr__(name: str) -> Any:
    if name == "app":
        import app as assembly

        return assembly.app
    raise AttributeError(f"module 'api' has no attribute {name!r}")
