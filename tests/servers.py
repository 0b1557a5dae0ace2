"""Our app as the tests run it: `python app.py` in its own process on a free port (launched, waited for, stopped), or
the assembled app under a real uvicorn server in the test's own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.scratch import scratch

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def silent_port(path: str = ""):
    """A local URL (``http://127.0.0.1:PORT`` + ``path``) whose port accepts connections (the kernel's backlog) and
    never answers them: a replica that hangs, a webhook receiver that never replies."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}{path}"
    finally:
        listener.close()


def launch_server(env_extra: dict[str, str], log_path: Path, args: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """`python app.py [args]` on a free port, not waited for; returns (process, base_url). A variable set to "" in
    ``env_extra`` counts as unset (CHATVLM_HOST is 127.0.0.1 unless the test says otherwise). Each process has its own
    data directory unless ``env_extra`` names one (one server per data directory: a second refuses to start)."""
    port = free_port()
    own = scratch(prefix="chatvlm-test-data-")
    tmp = scratch(prefix="chatvlm-test-tmp-")  # (the server's temporary folder: gone with the tests' though it is killed)
    env = {**os.environ, "PORT": str(port), "CHATVLM_HOST": "127.0.0.1", "CHATVLM_DATA_DIR": own, "TMPDIR": tmp, **env_extra}
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "app.py", *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"


def wait_server(process: subprocess.Popen, base: str, log_path: Path, timeout: float = 120.0) -> None:
    """Until the launched server's /health answers (killed, with its log's end, when it does not in ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as http:  # one client: each of httpx.get's loads the CA certificates (~25 ms of CPU)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{log_path.read_text(errors='replace')[-3000:]}")
            try:
                if http.get(f"{base}/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start in {timeout}s:\n{log_path.read_text(errors='replace')[-3000:]}")


def start_server(env_extra: dict[str, str], log_path: Path, timeout: float = 120.0, args: tuple[str, ...] = ()):
    """`python app.py [args]` on a free port; returns (process, base_url) once /health answers."""
    process, base = launch_server(env_extra, log_path, args)
    wait_server(process, base, log_path, timeout)
    return process, base


@contextmanager
def serve_in_thread(settings):
    """The assembled app under a real uvicorn server on a free port, in this process (so a test can look at the
    service it drives); yields (base_url, service)."""
    import uvicorn

    from api.startup import listen, uvicorn_options
    from app import create_app

    class Server(uvicorn.Server):
        listening = threading.Event()

        async def startup(self, sockets=None) -> None:
            try:
                await super().startup(sockets)
            finally:
                self.listening.set()

    app = create_app(settings)
    sock = listen("127.0.0.1", 0)  # bound as app.py binds it
    options = {
        **uvicorn_options(settings),
        "host": "127.0.0.1",
        "port": sock.getsockname()[1],
        "timeout_graceful_shutdown": 1,
    }  # a browser's open connections do not hold it up
    server = Server(uvicorn.Config(app, **options, log_level="warning"))  # as app.py runs it
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    server.listening.wait(60)
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{server.config.port}", app.state.service
    finally:
        server.should_exit = True
        thread.join(60)


# The max_tokens of an answer that goes on until it is stopped: the tiny model writes 4000 tokens in ~10 s here, and a
# test on a busy machine outlasted that (CI: a full queue's third request answered after both long chats had ended).
UNTIL_STOPPED = 1_000_000


def without_loop_cut(settings):
    """The settings with runaway-repetition cutting off for the vision-language models, and answers allowed up to
    UNTIL_STOPPED tokens: tests that need an answer to go on until it is stopped (a random tiny model loops, and would
    be cut after a few hundred tokens)."""
    settings.limits.max_tokens = UNTIL_STOPPED
    for spec in settings.models:
        if spec.backend in ("transformers", "got_ocr"):
            spec.options = {**spec.options, "repetition_min_tokens": 0}
    return settings


def one_at_a_time(settings, model_id: str):
    """The settings with ``model_id`` reading one request at a time (max_batch_size 1): a request that comes while
    another is being read waits in the queue. With batching, one that came while the first was gathering its batch
    joined it, even a little late: the gathering thread, delayed on a busy machine, saw it at its deadline."""
    [spec] = [spec for spec in settings.models if spec.id == model_id]
    spec.options = {**spec.options, "max_batch_size": 1}
    return settings


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=3)  # the shutdown tests wait for a graceful end themselves
    except subprocess.TimeoutExpired:
        process.kill()
