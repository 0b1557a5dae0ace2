"""The serving core under a real uvicorn server: admission, deadlines, clients that leave, /health under load,
out-of-memory, and one worker process. Each hang the serving-core issue reproduced is a test here.

The tiny Qwen3-VL answers greedy requests without ever stopping on its own (4000 tokens in ~10 s here): a request
for UNTIL_STOPPED tokens keeps the model busy until something stops it.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
from contextlib import nullcontext
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.utils import Status

from inference.device import gpu_info
from inference.shares import CALLER_SHARE
from tests.conftest import ROOT, free_port, serve_in_thread, stop_server, wait_server, without_loop_cut
from tests.helpers import ENGLISH, encode, render_lines
from tests.polling import loaded_backend, wait_until
from tests.scratch import scratch
from tests.servers import UNTIL_STOPPED, one_at_a_time

PNG = encode(render_lines(ENGLISH))
LONG_CHAT = {"prompt": "Describe", "model": "qwen3_vl_2b", "temperature": "0", "max_tokens": str(UNTIL_STOPPED)}


class Leaver(threading.Thread):
    """A client that sends a request and goes away without its answer when ``leave`` is set (a raw socket, closed:
    what a browser tab or a killed script does). ``answered``: an answer came first, so nothing was abandoned (on a
    fast machine a "long" answer can end before a fixed wait does; the tests assert it did not)."""

    def __init__(self, url: str, leave: threading.Event, data: dict | None = None):
        super().__init__(daemon=True)
        request = httpx.Request("POST", url, files={"file": ("i.png", PNG)}, data=data or {})
        headers = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items() if k.lower() != "host")
        target = request.url.raw_path.decode()
        self.message = f"POST {target} HTTP/1.1\r\nHost: {request.url.netloc.decode()}\r\n{headers}\r\n".encode()
        self.message += request.read()
        self.address, self.leave, self.answered = (request.url.host, request.url.port), leave, False

    def run(self) -> None:
        with socket.create_connection(self.address) as sock:
            sock.sendall(self.message)
            sock.settimeout(0.05)
            give_up = time.monotonic() + 60  # a test that failed before it said to leave does not hold the server
            while True:
                leaving = self.leave.is_set() or time.monotonic() > give_up  # then one more look: an answer there
                try:
                    if sock.recv(1):
                        self.answered = True
                        return
                except TimeoutError:
                    pass
                if leaving:
                    return


def leave_when(url: str, leave: threading.Event, data: dict | None = None) -> Leaver:
    client = Leaver(url, leave, data)
    client.start()
    return client


@pytest.fixture
def settings(tiny_settings):
    return without_loop_cut(tiny_settings.model_copy(deep=True))  # LONG_CHAT runs until it is stopped


def test_clients_that_leave_stop_costing_compute(tiny_noloop_server):
    with nullcontext(tiny_noloop_server) as (base, service):  # the session's server; the model unloads at the end
        service.load_model("qwen3_vl_2b")
        runner = service.manager.runner("qwen3_vl_2b")
        # the chat's client leaves once the OCR request queued behind it has been abandoned and dropped
        leave = threading.Event()
        running = leave_when(f"{base}/chat", leave, LONG_CHAT)
        assert wait_until(lambda: runner.running == 1, 30), "the long chat to run"
        # its client leaves once the request is seen queued (the server reads one request at a time: conftest)
        gone = threading.Event()
        queued = leave_when(f"{base}/ocr?model=qwen3_vl_2b", gone)
        assert wait_until(lambda: runner.waiting == 1, 30), ("the OCR request to queue", runner.running, runner.waiting)
        gone.set()
        queued.join()
        assert wait_until(lambda: runner.waiting == 0, 10), "the abandoned request to leave the queue"
        assert runner.dropped == 1 and runner.running == 1  # dropped while the chat still runs: it never ran
        leave.set()
        running.join()
        assert not queued.answered and not running.answered, "a request was answered before its client left"
        assert wait_until(lambda: runner.running == 0, 10), "the abandoned generation to stop"  # not at its end
        assert list(runner.batch_sizes) == [1]  # only the chat ever reached the model
        started = time.monotonic()
        assert httpx.delete(f"{base}/models/qwen3_vl_2b", timeout=60).status_code == 200
        assert time.monotonic() - started < 10


def test_a_full_queue_answers_503_with_retry_after_at_once(settings):
    settings.limits.max_batch_files, settings.limits.max_queue_per_model = 1, 1
    # one request at a time, so that the second waits (with batching, it joined the first's batch: CI, twice)
    one_at_a_time(settings, "qwen3_vl_2b")
    with serve_in_thread(settings) as (base, service):
        service.load_model("qwen3_vl_2b")
        runner = service.manager.runner("qwen3_vl_2b")
        leave = threading.Event()
        first = leave_when(f"{base}/chat", leave, LONG_CHAT)
        assert wait_until(lambda: runner.running == 1, 30), "the first chat to run"
        second = leave_when(f"{base}/chat", leave, LONG_CHAT)
        assert wait_until(lambda: runner.waiting == 1, 30), "the second chat to queue"
        refused = httpx.post(f"{base}/chat", files={"file": ("i.png", PNG)}, data=LONG_CHAT, timeout=30)
        assert (runner.running, runner.waiting) == (1, 1)  # answered while the others still run and wait
        assert refused.status_code == 503 and "busy" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) >= 1
        leave.set()
        first.join()
        second.join()
        assert not first.answered and not second.answered, "a chat was answered before its client left"
        assert wait_until(lambda: runner.running == runner.waiting == 0, 15), "the abandoned chats to stop"


def test_a_request_past_the_time_limit_is_stopped_with_a_clear_503(settings):
    settings.limits.request_timeout_s = 2.0
    with serve_in_thread(settings) as (base, service):
        service.load_model("qwen3_vl_2b")
        response = httpx.post(f"{base}/chat", files={"file": ("i.png", PNG)}, data=LONG_CHAT, timeout=60)
        assert response.status_code == 503 and "time limit of 2 s" in response.json()["detail"]
        runner = service.manager.runner("qwen3_vl_2b")
        assert wait_until(lambda: runner.running == 0, 10), "the generation to stop"
        ok = httpx.post(f"{base}/chat", files={"file": ("i.png", PNG)}, data={**LONG_CHAT, "max_tokens": "2"})
        assert ok.status_code == 200


def test_gradio_api_cancel_stops_the_generation_and_frees_the_model(tiny_noloop_server, english_file):
    with nullcontext(tiny_noloop_server) as (base, service):  # the session's server; the model unloads at the end
        service.load_model("qwen3_vl_2b")
        runner = service.manager.runner("qwen3_vl_2b")
        job = Client(f"{base}/", verbose=False).submit(
            handle_file(str(english_file)), "Describe", "qwen3_vl_2b", 0.0, UNTIL_STOPPED, [], api_name="/chat"
        )
        assert wait_until(lambda: runner.running == 1, 60), "the streamed chat to run"
        # and the client to know its event: gradio_client learns the event's id when its join request returns, and
        # its cancel names that id (None before): the generation can start first, and a cancel sent then stops nothing
        assert wait_until(lambda: job.status().code in (Status.PROCESSING, Status.ITERATING), 30), job.status()
        job.cancel()
        assert wait_until(lambda: runner.running == 0, 10), (
            "the cancelled generation to stop",  # what was left (seen once in a full run, not alone in 40 runs)
            [(t.state, t.stopped(), round(t.run_seconds, 1)) for t in list(runner._active)],
            list(runner.batch_sizes),
            runner.completed,
        )
        started = time.monotonic()
        assert httpx.delete(f"{base}/models/qwen3_vl_2b", timeout=60).status_code == 200
        assert time.monotonic() - started < 10


def test_out_of_memory_fails_only_what_it_must_and_the_server_keeps_serving(settings):
    import torch

    with serve_in_thread(settings) as (base, service):
        service.load_model("qwen3_vl_2b")
        model = loaded_backend(service.manager, "qwen3_vl_2b").model
        generate, mode, fired = model.generate, {"fail": "batches"}, []

        def generate_that_runs_out_of_memory(**kwargs):  # a fault injected into transformers' generate
            if mode["fail"] == "always" or kwargs["input_ids"].shape[0] > 1:
                fired.append((mode["fail"], kwargs["input_ids"].shape[0]))  # (when, batch size)
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 12.00 GiB")
            return generate(**kwargs)

        model.generate = generate_that_runs_out_of_memory
        runner = service.manager.runner("qwen3_vl_2b")
        runner.max_wait_s = 1.0  # the two requests below surely meet in one batch
        chat = {**LONG_CHAT, "max_tokens": "3"}
        with httpx.Client(timeout=60) as client:
            async_results = []
            threads = [
                threading.Thread(
                    target=lambda: async_results.append(client.post(f"{base}/chat", files={"file": ("i.png", PNG)}, data=chat))
                )
                for _ in range(2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert [r.status_code for r in async_results] == [200, 200]  # the batch failed; each alone fit
            assert fired == [("batches", 2)], fired  # the fault fired, once, on the batch of both
            assert list(runner.batch_sizes)[-2:] == [1, 1], runner.batch_sizes  # then each ran alone (failed batches not counted)
            mode["fail"] = "always"
            response = client.post(f"{base}/chat", files={"file": ("i.png", PNG)}, data=chat)
            assert response.status_code == 503 and "ran out of accelerator memory" in response.json()["detail"]
            assert fired[1:] and all(when == "always" for when, _ in fired[1:]), fired  # that answer was the fault's
            model.generate = generate
            assert client.post(f"{base}/chat", files={"file": ("i.png", PNG)}, data=chat).status_code == 200


@pytest.mark.slow  # a release check: a load test (64 requests at once)
def test_health_answers_at_once_while_a_flood_of_ocr_requests_is_in_flight(settings):
    """64 OCR requests at once on the embedded engine; /health keeps answering in well under a second
    (bench/load.py prints the figures; the bound here is loose)."""

    async def flood(base: str) -> tuple[list[tuple[float, int, int]], list[int]]:
        async with httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=100)) as client:
            requests = [
                asyncio.create_task(client.post(f"{base}/ocr?model=embedded", files={"file": ("d.png", PNG)})) for _ in range(64)
            ]
            probes = []
            while not all(r.done() for r in requests):
                started = time.perf_counter()
                status = (await client.get(f"{base}/health")).status_code
                probes.append((time.perf_counter() - started, status, sum(not r.done() for r in requests)))
                await asyncio.sleep(0.05)
            return probes, [(await r).status_code for r in requests]

    # room for all of them, one client's (it holds at most CALLER_SHARE of the queue): 64 requests truly in flight
    settings.limits.max_queue_per_model = math.ceil(64 / CALLER_SHARE)
    with serve_in_thread(settings) as (base, service):
        service.load_model("embedded")
        probes, statuses = asyncio.run(flood(base))
    assert statuses == [200] * 64
    during = [p for p in probes if p[2] > 8]  # probes answered while many requests were still in flight
    assert len(during) >= 3 and all(status == 200 for _, status, _ in probes)
    assert max(seconds for seconds, _, _ in during) < 2.0, during


def test_more_than_one_worker_process_is_refused_with_a_reason():
    port = str(free_port())
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "api:app", "--workers", "2", "--port", port],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    # the first worker to start says why, once (not once per worker), and the command fails instead of serving
    assert result.stderr.count("must run as one worker process, not 2") == 1 and "replicas" in result.stderr
    assert result.returncode != 0 and "Application startup complete" not in result.stderr


def test_a_port_in_use_is_said_before_anything_starts(tmp_path):
    data = tmp_path / "data"
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "app.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PORT": str(port), "CHATVLM_HOST": "127.0.0.1", "CHATVLM_DATA_DIR": str(data)},
        )
    said = result.stdout + result.stderr
    assert result.returncode != 0 and f"Port {port} on 127.0.0.1 is already in use" in said
    assert f"PORT={port + 1} python app.py" in said  # how to choose another
    assert "open http" not in said and "Application startup complete" not in said and "Traceback" not in said
    assert not data.exists()  # the data directory (and its lock) untouched


@pytest.mark.slow  # a release check: how an install without PyTorch starts (a cold server of its own)
def test_a_cpu_install_is_told_the_cpu_path_to_chat(tmp_path, english_png):
    """A CPU-only install (requirements-cpu.txt: no PyTorch, no transformers; hidden here) asked to chat: REST and /v1
    give the README's CPU path (PyTorch's CPU build, then SmolVLM2's weights), not requirements.txt's CUDA build; /v1
    says 404 model_not_found (nothing to retry) and an empty model list says why."""
    log = tmp_path / "server.log"
    hide = (
        "import sys; sys.modules.update(torch=None, transformers=None); sys.argv = ['app.py']; import app; sys.exit(app.main())"
    )
    port = free_port()
    env = {**os.environ, "PORT": str(port), "CHATVLM_HOST": "127.0.0.1", "CHATVLM_DATA_DIR": str(tmp_path / "data")}
    env["TMPDIR"] = scratch(prefix="chatvlm-test-tmp-")  # (the server's: gone with the tests' though it is killed)
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-c", hide], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_server(process, base, log)
        chat = httpx.post(f"{base}/chat", data={"prompt": "What is this?"}, files={"file": ("d.png", english_png)}, timeout=60)
        v1 = httpx.post(f"{base}/v1/chat/completions", json={"model": "x", "messages": []}, timeout=60)
        v1_default = httpx.post(f"{base}/v1/chat/completions", json={"messages": [{"role": "user", "content": "Hi"}]}, timeout=60)
        listing = httpx.get(f"{base}/v1/models", timeout=60).json()
    finally:
        stop_server(process)
    assert chat.status_code == 503 and v1_default.status_code == 404
    assert v1_default.json()["error"]["code"] == "model_not_found" and listing["data"] == []
    for said in (chat.json()["detail"], v1_default.json()["error"]["message"], listing["hint"]):
        assert "download.pytorch.org/whl/cpu" in said and "python -m inference.download smolvlm2_500m" in said, said
        assert "pip install -r requirements.txt" not in said
    assert v1.status_code in (400, 404)
    assert "pip install -r requirements.txt" not in log.read_text(errors="replace")


@pytest.mark.parametrize(
    ("argv", "env", "count"),
    [
        (["app.py"], {}, 1),
        (["/usr/bin/uvicorn", "api:app", "--workers", "4"], {}, 4),
        (["uvicorn", "app:app", "--workers=3"], {}, 3),
        (["gunicorn", "-w", "2", "-k", "uvicorn.workers.UvicornWorker", "app:app"], {}, 2),
        (["/venv/bin/uvicorn", "app:app"], {"WEB_CONCURRENCY": "5"}, 5),
        (["pytest"], {"WEB_CONCURRENCY": "5"}, 1),
    ],
)
def test_worker_count_is_read_from_the_command_line(argv, env, count):
    from api.startup import worker_count

    assert worker_count(argv, env) == count


@pytest.mark.parametrize(
    ("argv", "env", "address"),
    [
        (["app.py", "--host", "0.0.0.0"], {}, None),  # (app.py says it itself)
        (["/venv/bin/uvicorn", "app:app"], {}, ("127.0.0.1", 8000)),
        (["/x/uvicorn/__main__.py", "api:app", "--host", "0.0.0.0", "--port", "9000"], {}, ("0.0.0.0", 9000)),
        (["uvicorn", "app:app", "--host=::", "--port=81"], {}, ("::", 81)),
        (["uvicorn", "app:app"], {"UVICORN_HOST": "10.0.0.5", "UVICORN_PORT": "8100"}, ("10.0.0.5", 8100)),
        (["gunicorn", "-k", "uvicorn.workers.UvicornWorker", "-b", "0.0.0.0:8080", "app:app"], {}, ("0.0.0.0", 8080)),
        (["gunicorn", "--bind=[::1]:8001", "app:app"], {}, ("::1", 8001)),
        (["gunicorn", "--bind", "unix:/tmp/s.sock", "app:app"], {}, ("127.0.0.1", 8000)),
    ],
)
def test_the_address_an_asgi_servers_command_gave_is_read_for_the_exposure_warning(argv, env, address):
    from api.startup import served_address

    assert served_address(argv, env) == address


def test_start_up_says_what_a_person_needs(live_server, live_server_log: Path):
    log = live_server_log.read_text(errors="replace")
    port = live_server.rsplit(":", 1)[1]
    assert f"open http://127.0.0.1:{port} in a browser" in log
    chat = "qwen3_vl_2b" if gpu_info().available else "none can run here"  # no weights here
    assert "GPU: " in log and "default OCR model: embedded" in log and f"default chat model: {chat}" in log
    assert "models that cannot run yet" in log and re.search(r"python -m inference\.download [\w ]*\bqwen3_vl_2b\b", log)
