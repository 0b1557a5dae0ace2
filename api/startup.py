"""What the server says and checks as it starts: a few log lines a person needs, and one worker process only."""

from __future__ import annotations

import errno
import ipaddress
import logging
import math
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from inference import InferenceService
from inference.settings import Settings

from .connections import guarded_protocol, trusted_addresses

log = logging.getLogger("chatvlmllm")

STARTUP_FAILURE = 3  # uvicorn's exit status for a worker that cannot start: its supervisor then stops, not restarts


def worker_count(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Worker processes the ASGI server was started with (uvicorn/gunicorn ``--workers N``, ``-w N``,
    ``GUNICORN_CMD_ARGS`` or ``WEB_CONCURRENCY``); 1 when nothing asks for more."""
    program = Path(argv[0]).as_posix() if argv else ""
    if "gunicorn" in program and env.get("GUNICORN_CMD_ARGS"):
        argv = [*argv, *env["GUNICORN_CMD_ARGS"].split()]
    for i, arg in enumerate(argv):
        if arg in ("--workers", "-w") and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--workers="):
            value = arg.partition("=")[2]
        elif arg.startswith("-w") and arg[2:].isdigit():
            value = arg[2:]
        else:
            continue
        return int(value) if value.isdigit() else 1
    if ("uvicorn" in program or "gunicorn" in program) and env.get("WEB_CONCURRENCY", "").isdigit():
        return int(env["WEB_CONCURRENCY"])
    return 1


def refuse_many_workers(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> None:
    """Stop at start when more than one worker process was asked for, saying why and what to do instead."""
    count = worker_count(sys.argv if argv is None else argv, os.environ if env is None else env)
    if count <= 1:
        return
    message = (
        f"ChatVLMLLM must run as one worker process, not {count}: the loaded models, their request queues "
        "and the Gradio queue live in the process, so more workers would each load every model and "
        "gradio_client calls would fail between them. Start it with one worker (drop --workers / "
        "WEB_CONCURRENCY) and scale out with more replicas behind a load balancer."
    )
    if not _first_to_refuse():  # a sibling worker has said it: one message, not one per worker
        os._exit(STARTUP_FAILURE)
    log.error(message)
    parent = multiprocessing.parent_process()
    if parent is not None and "uvicorn" in Path(sys.argv[0] if sys.argv else "").as_posix():
        # uvicorn's supervisor stops after a worker's start-up failure but then exits 0: end it, so that the
        # command fails (gunicorn's arbiter exits non-zero by itself)
        os.kill(parent.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5  # the lock held until the supervisor is gone: a sibling slower to start (a
        while os.getppid() == parent.pid and time.monotonic() < deadline:  # busy machine) would take it after this
            time.sleep(0.01)  # worker's exit and say it again (the CI saw the message twice)
    sys.exit(STARTUP_FAILURE)


_REFUSED: list[socket.socket] = []  # the lock below, held until this process exits


def _first_to_refuse() -> bool:
    """Whether this worker is the first of its siblings (all started at once) to refuse: it holds a lock named
    after their supervisor (an abstract socket, gone with the process); False too once the supervisor is gone."""
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        return False
    if not hasattr(socket, "AF_UNIX") or not sys.platform.startswith("linux"):
        return True
    lock = socket.socket(socket.AF_UNIX)
    try:
        lock.bind(f"\0chatvlmllm-one-worker-{os.getppid()}")
    except OSError:
        lock.close()
        return False
    _REFUSED.append(lock)
    return True


class PortTaken(Exception):
    """The server's port is in use (or may not be bound): the message says which and how to choose another."""


def listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, bound before anything else starts (as uvicorn binds it), so that a port in use
    is said first, before the app is built or the data directory touched."""
    # IPPROTO_TCP said, not left 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on connections whose socket
    # says TCP, and a connection kept alive would otherwise wait ~40 ms for the client's delayed ACK on every answer
    # (headers and body are two writes): 45 ms a request instead of 3 for requests.Session, httpx, the OpenAI SDKs
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        taken = exc.errno == errno.EADDRINUSE
        why = "is already in use (another server, or another copy of this one?)" if taken else f"cannot be bound ({exc.strerror})"
        raise PortTaken(
            f"Port {port} on {host or '0.0.0.0'} {why}. Stop what holds it, or choose another port: "
            f"PORT={port + 1 if port < 65535 else 8001} python app.py (or server.port in config.yaml)."
        ) from None
    sock.set_inheritable(True)
    return sock


def open_url(host: str, port: int) -> str:
    return f"http://{'localhost' if host in ('0.0.0.0', '::', '') else host}:{port}"


def uvicorn_options(settings: Settings) -> dict:
    """What uvicorn is told by ``python app.py`` (and by the tests' servers): the interface and port, forwarded
    headers believed only from ``server.trusted_proxies`` (uvicorn's own default trusts 127.0.0.1), and the
    protocol that bounds slow and piled-up connections (:mod:`api.connections`)."""
    proxies = settings.server.trusted_proxies
    limits = settings.limits
    return {
        "http": guarded_protocol(limits.header_timeout_s, limits.connections_per_address, trusted_addresses(proxies)),
        "host": settings.server.host,
        "port": settings.server.port,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": list(proxies) if proxies else [],
        "timeout_graceful_shutdown": math.ceil(settings.limits.shutdown_grace_s),
        "access_log": False,  # the app's own access log (api.observe) has each request's line, once
    }


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def served_address(argv: Sequence[str], env: Mapping[str, str]) -> tuple[str, int] | None:
    """The interface and port an ASGI server's command line was given (uvicorn's ``--host``/``--port`` or
    ``UVICORN_HOST``/``UVICORN_PORT``, gunicorn's ``--bind``/``-b``; their defaults 127.0.0.1:8000), or None when
    neither started this process."""
    program = Path(argv[0]).as_posix() if argv else ""
    if "uvicorn" in program:
        host, port = env.get("UVICORN_HOST", "127.0.0.1"), env.get("UVICORN_PORT", "8000")
        names = {"--host": "host", "--port": "port"}
    elif "gunicorn" in program:
        host, port = "127.0.0.1", "8000"
        names = {"--bind": "bind", "-b": "bind"}
    else:
        return None
    for i, arg in enumerate(argv):
        name, _, value = arg.partition("=")
        if name in names and not value and i + 1 < len(argv):
            value = argv[i + 1]
        if name not in names or not value:
            continue
        if names[name] == "host":
            host = value
        elif names[name] == "port":
            port = value
        elif not value.startswith(("unix:", "fd://")):
            bound, _, bound_port = value.rpartition(":") if value.count(":") == 1 or "]" in value else (value, "", "")
            host, port = bound or value, bound_port or port
    return host.strip("[]"), int(port) if port.isdigit() else 8000


def warn_if_exposed(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """One warning line when the server listens beyond this machine (``host``: the setting's unless given) and asks
    for no key."""
    host = settings.server.host if host is None else host
    if not is_loopback(host) and not settings.auth.api_keys:
        where = f"{host or '0.0.0.0'} (every interface)" if host in ("0.0.0.0", "::", "") else host
        log.warning(
            "Listening on %s with no API keys: anyone who can reach port %d can use this server and manage "
            "its models. Set CHATVLM_API_KEYS, or CHATVLM_HOST=127.0.0.1 for this machine only.",
            where,
            settings.server.port if port is None else port,
        )


def log_startup(service: InferenceService) -> None:
    """A few lines: GPU or not, the default models, what can run here and why not."""
    for line in service.startup_report():
        log.info(line)
