"""ChatVLMLLM: assembly only. settings -> service -> FastAPI (REST) -> Gradio mounted at /.

    python app.py                  # serves UI, Gradio API and REST on one port (8000, or $PORT), on 127.0.0.1
    python app.py --host 0.0.0.0   # on every interface (or CHATVLM_HOST / GRADIO_SERVER_NAME; a Space does this)
    uvicorn app:app                # the same app under any ASGI server (one worker process)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from an offline server

import gradio as gr  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi_offline import FastAPIOffline  # noqa: E402

import api  # noqa: E402
import ui  # noqa: E402
from api.security import is_admin  # noqa: E402
from api.startup import (  # noqa: E402
    log_startup,
    open_url,
    refuse_many_workers,
    uvicorn_options,
    warn_if_exposed,
)
from inference import ConfigError, InferenceService, Settings, load_settings  # noqa: E402


def create_app(settings: Settings | None = None) -> FastAPI:
    if settings is None:  # `uvicorn --factory app:create_app` comes this way
        refuse_many_workers()
        settings = load_settings()
    service = InferenceService(settings)
    keys_on = bool(settings.auth.api_keys)
    app = FastAPIOffline(  # Swagger UI and ReDoc served from the installed package, never a CDN
        title=f"{settings.server.title} API",
        version=settings.server.version,
        description="OCR and image chat with vision-language models. Errors are {\"detail\": \"...\"}.",
    )  # request bodies: api.body_limit refuses one over its route's limit as it comes in
    api.install(app, service)  # REST routes first: a route added after the mount at / is shadowed
    app.router.add_event_handler("startup", lambda: log_startup(service))
    app.router.add_event_handler("startup", service.preload)
    app.router.add_event_handler("startup", service.resume_jobs)
    app.router.add_event_handler("shutdown", service.close)
    may_manage = (lambda request: is_admin(getattr(request, "username", None))) if keys_on else (lambda request: True)
    return gr.mount_gradio_app(
        app, ui.build_ui(service, may_manage=may_manage), path="/", max_file_size=settings.limits.max_file_bytes,
        footer_links=["api"], auth_dependency=api.gradio_user if keys_on else None, mcp_server=True,
        favicon_path=ui.favicon(), head=ui.head(), css=ui.CSS,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ChatVLMLLM: UI, Gradio API and REST API on one port.")
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for "
                                       "every interface). Overrides CHATVLM_HOST, GRADIO_SERVER_NAME and config.yaml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    refuse_many_workers()
    try:
        settings = load_settings()
        if args.host:
            settings.server.host = args.host.strip()
        app = create_app(settings)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    url = open_url(settings.server.host, settings.server.port)
    logging.getLogger("chatvlmllm").info("%s: open %s in a browser (REST API docs: %s/docs)", settings.server.title,
                                         url, url)
    warn_if_exposed(settings)
    uvicorn.run(app, **uvicorn_options(settings), log_level="info")
    return 0


def __getattr__(name: str) -> Any:
    """`app` is built on first access (by `uvicorn app:app`), so that importing create_app builds nothing."""
    if name == "app":
        if not logging.getLogger().handlers:  # under `uvicorn app:app` our own start-up lines need a handler too
            logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
        refuse_many_workers()
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(f"module 'app' has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
