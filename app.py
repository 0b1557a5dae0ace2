"""ChatVLMLLM: the server's entry point; the assembly (settings -> service -> FastAPI (REST) -> Gradio mounted at /)
is :mod:`assembly`'s ``create_app``, re-exported here.

    python app.py                  # serves UI, Gradio API and REST on one port (8000, or $PORT), on 127.0.0.1
    python app.py --host 0.0.0.0   # on every interface (or CHATVLM_HOST / GRADIO_SERVER_NAME; a Space does this)
    uvicorn app:app                # the same app under any ASGI server (one worker process)
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import uvicorn

from api.startup import open_url, refuse_many_workers, uvicorn_options, warn_if_exposed
from assembly import assembled, create_app
from inference import ConfigError, load_settings

__all__ = ["create_app", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ChatVLMLLM: UI, Gradio API and REST API on one port.")
    parser.add_argument(
        "--host",
        help="interface to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for "
        "every interface). Overrides CHATVLM_HOST, GRADIO_SERVER_NAME and config.yaml",
    )
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
    logging.getLogger("chatvlmllm").info("%s: open %s in a browser (REST API docs: %s/docs)", settings.server.title, url, url)
    warn_if_exposed(settings)
    uvicorn.run(app, **uvicorn_options(settings), log_level="info")
    return 0


def __getattr__(name: str) -> Any:
    """`app` is built on first access (by `uvicorn app:app`), so that importing create_app builds nothing; it is the
    one assembled app, the same that `uvicorn api:app` serves."""
    if name == "app":
        globals()["app"] = assembled()
        return globals()["app"]
    raise AttributeError(f"module 'app' has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
