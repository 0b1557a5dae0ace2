"""ChatVLMLLM: the server's entry point; the assembly (settings -> service -> FastAPI (REST) -> Gradio mounted at /)
is :mod:`assembly`'s ``create_app``, re-exported here.

    python app.py                  # serves UI, Gradio API and REST on one port (8000, or $PORT), on 127.0.0.1
    python app.py --host 0.0.0.0   # on every interface (or CHATVLM_HOST / GRADIO_SERVER_NAME; a Space does this)
    uvicorn app:app                # the same app under any ASGI server (one worker process)
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

import uvicorn

from api.startup import PortTaken, listen, open_url, refuse_many_workers, uvicorn_options, warn_if_exposed
from inference import ConfigError, check_models, claim_data_dir, load_settings

__all__ = ["main"]  # `create_app` and `app` too, found on first use (`__getattr__` below)


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
        check_models(settings)  # a bad model entry is said at once, not after the UI's imports
        if args.host:
            settings.server.host = args.host.strip()
        sock = listen(settings.server.host, settings.server.port)  # the port first: nothing is built on a taken one
        claim_data_dir(settings)  # a data directory another server holds: said at once too, before the UI's imports
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    except PortTaken as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 1
    from assembly import create_app  # the UI and the rest: imported once the port is ours (a taken one is said at once)

    try:
        app = create_app(settings)
    except ConfigError as exc:
        sock.close()
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    url = open_url(settings.server.host, settings.server.port)
    logging.getLogger("chatvlmllm").info("%s: open %s in a browser (REST API docs: %s/docs)", settings.server.title, url, url)
    warn_if_exposed(settings)
    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_options(settings), log_level="info"))
    signal.signal(signal.SIGTERM, terminated)  # (uvicorn's own handler while it serves; this one after, see below)
    server.run(sockets=[sock])
    return 0 if server.started else 3


def terminated(signum: int, frame: Any) -> None:
    """SIGTERM once uvicorn has shut down gracefully (it raises the signal again then): the UI's folder deleted
    (ui/downloads.py; exit handlers do not run when a signal ends the process), then the signal's default, as before:
    the process ends as terminated (as PID 1 in a container, where the default does nothing, it exits normally)."""
    from ui import downloads

    downloads.clean_up()
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)


def __getattr__(name: str) -> Any:
    """`app` is built on first access (by `uvicorn app:app`), so that importing create_app builds nothing; it is the
    one assembled app, the same that `uvicorn api:app` serves."""
    if name in ("app", "create_app"):
        if name == "app":
            refuse_many_workers()  # `uvicorn app:app --workers 4`: refused before the UI's imports
        import assembly

        globals()[name] = assembly.assembled() if name == "app" else assembly.create_app
        return globals()[name]
    raise AttributeError(f"module 'app' has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
