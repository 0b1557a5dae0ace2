"""The REST edge: the API guide's routes, registered on the FastAPI app that Gradio mounts (:mod:`api.server`
installs them with what guards them and what observes them), the OpenAI protocol under /v1, and an OpenAPI schema
that documents all of it. It imports the inference facade and kernel types only: never the UI, never ``app.py``.

``uvicorn api:app`` (the API guide's command) serves the same assembled app as ``uvicorn app:app``. The REST package
cannot assemble the server (that needs the UI), and ``app.py`` imports it, so this name is a shim, not an import:
on first access it asks :mod:`assembly` (the top-level module that builds the server once, which ``app.py`` also
serves) for the app. Nothing here runs at import time; ``import api`` stays the REST edge alone, and the layer rule
holds: ``api/`` never imports ``app.py``, and its one reach above itself is this lookup of the assembled app.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "app":  # `uvicorn api:app`: the assembled server, built once (the same object as app.app)
        from .startup import refuse_many_workers

        refuse_many_workers()  # before the UI's imports: `--workers 4` is refused in a second, not after each import
        import assembly

        return assembly.assembled()
    raise AttributeError(f"module 'api' has no attribute {name!r}")
