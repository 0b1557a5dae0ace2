"""The assembly: settings -> service -> FastAPI app with the REST routes -> the Gradio UI mounted at / (last).

``app.py`` runs it (``python app.py``, ``uvicorn app:app``); the API guide's ``uvicorn api:app`` finds the same app
through the REST package's shim (``api.__getattr__``), so that ``api/`` never imports ``app.py``. It lives apart from
``app.py`` so that both names lead to one builder and one app: :func:`assembled` builds it once.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from inference import heap

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from an offline server
heap.bound_arenas()  # before the threads that read pages start: a few malloc arenas, not 8 per core (inference.heap)

import ui  # noqa: E402  (before Gradio: Gradio loads through it, see ui/stub_writes.py)

# isort: split
import gradio as gr  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from api.security import is_admin  # noqa: E402
from api.server import create_api, gradio_user  # noqa: E402
from api.startup import STARTUP_FAILURE, refuse_many_workers, served_address, warn_if_exposed  # noqa: E402
from inference import ConfigError, InferenceService, Settings, load_settings  # noqa: E402
from ui.downloads import remove_downloads  # noqa: E402

_built: FastAPI | None = None
_lock = threading.Lock()


def create_app(settings: Settings | None = None) -> FastAPI:
    if settings is None:  # `uvicorn --factory app:create_app` comes this way
        refuse_many_workers()
        settings = load_settings()
    app = create_api(settings)  # the REST routes first: a route added after the mount at / is shadowed
    service: InferenceService = app.state.service
    keys_on = bool(settings.auth.api_keys)
    may_manage = (lambda request: is_admin(getattr(request, "username", None))) if keys_on else (lambda request: True)
    app.router.add_event_handler("shutdown", remove_downloads)  # (under any ASGI server: ui/downloads.py)
    blocks = ui.build_ui(service, may_manage=may_manage)
    mounted = gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        max_file_size=settings.limits.max_file_bytes,
        footer_links=["api"],
        # no run history: Gradio's /gradio_api/runs and /run-history/* (and its recording of every event) used the host's
        # own Hugging Face token (HF_TOKEN) for any caller on the loopback, a user key too: listing, reading and creating
        # buckets, and writing each run's inputs and outputs to a bucket the caller named in a header
        run_history=False,
        # no monitoring: its /monitoring/summary showed any key every event's count, success rate and times, all keys'
        # (/metrics is the administrator's view)
        enable_monitoring=False,
        show_error=False,  # (an error of ours is a gr.Error, shown; any other's Python text is not: "cannot unpack...")
        auth_dependency=gradio_user if keys_on else None,
        mcp_server=True,
        favicon_path=ui.favicon(),
        head=ui.head(),
        css=ui.CSS,
    )
    ui.guard_sessions(mounted, blocks)
    return mounted


def assembled() -> FastAPI:
    """The app that `uvicorn app:app` and `uvicorn api:app` serve: built on first use, from config.yaml and the
    environment, once per process."""
    global _built
    with _lock:
        if _built is None:
            if not logging.getLogger().handlers:  # under uvicorn our own start-up lines need a handler too
                logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
            refuse_many_workers()
            try:
                _built = create_app()
            except ConfigError as exc:  # a bad setting, a data directory in use: one line, not a traceback
                logging.getLogger("chatvlmllm").error("Configuration error: %s", exc)
                raise SystemExit(STARTUP_FAILURE) from None
            address = served_address(sys.argv, os.environ)
            if address is not None:  # `uvicorn app:app --host 0.0.0.0`: the warning `python app.py` gives
                warn_if_exposed(_built.state.service.settings, *address)
        return _built
