"""Shared fixtures: the real service, the real app, and a real server on a free port."""

from __future__ import annotations

import os
import tempfile

from tests.scratch import clean_up, scratch

# Tests never download, and never see this host's Hugging Face cache: missing weights must give the offline
# answer (503) on any machine, here and in the servers the tests start.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = scratch(prefix="chatvlm-test-hf-")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Two test processes share the cores (pytest-xdist): torch's math runs one thread in each, not a pool per core in
# each process, spinning for cores the other process is using (that cost a third of the unit tier's CPU); the
# servers the tests start inherit it. Set before anything loads torch.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["CHATVLM_DATA_DIR"] = scratch(prefix="chatvlm-test-jobs-")  # never the checkout's data/
# Gradio's upload cache: this test process's own (a server that stops deletes its uploads, which another test
# process's servers may hold too: the cache is content-addressed)
os.environ["GRADIO_TEMP_DIR"] = scratch(prefix="chatvlm-test-gradio-")

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

# (the core, the REST app's test client and the test helpers that use the core are imported by the fixtures that use
# them: xdist's controller loads this file too, before it starts the test processes, and runs no test)
from tests.servers import (  # noqa: F401  (the tests import these from here)
    ROOT,
    free_port,
    launch_server,
    one_at_a_time,
    serve_in_thread,
    start_server,
    stop_server,
    wait_server,
    without_loop_cut,
)
from tests.tiny_cache import built_tiny_models, locked

pytest_plugins = ["tests.process_costs", "tests.ci_plugin", "tests.work_order", "tests.run_end"]

# The OCR-engine tests read with the embedded engine on every host (on a GPU host `auto` would pick a VLM);
# tests of the automatic default compute what this host should get.
# In-process test clients call the app by a name it answers to (TestClient's own default, 'testserver', is not one).
LOCAL = "http://localhost"
EMBEDDED_DEFAULT = {"CHATVLM_OCR_MODEL": "embedded"}
LIVE_DATA_DIR = scratch(prefix="chatvlm-test-live-")  # the live server's (a test reads its jobs database)
# `python app.py` as the README runs it: nothing in the environment says where to listen or asks for keys ("" counts
# as unset; the live server starts so, and tests/security/test_default_host.py reads where it listens)
README_WAY = {
    "CHATVLM_HOST": "",
    "GRADIO_SERVER_NAME": "",
    "SPACE_ID": "",
    "CHATVLM_API_KEYS": "",
}  # the live server's (a test reads its jobs database)


# Test servers shut down fast: nothing the tests leave behind is worth waiting for (a test of the grace sets its own).
SHUTDOWN_GRACE_S = 1.0


def short_grace(settings):
    settings.limits.shutdown_grace_s = SHUTDOWN_GRACE_S
    return settings


@pytest.fixture(scope="session")
def settings():
    from inference import load_settings

    # its own data directory: the in-process service's jobs are not the live server's
    return short_grace(
        load_settings(ROOT / "config.yaml", env={**EMBEDDED_DEFAULT, "CHATVLM_DATA_DIR": scratch(prefix="chatvlm-test-inproc-")})
    )


@pytest.fixture(scope="session")
def service(settings):
    from inference import InferenceService

    service = InferenceService(settings)
    yield service
    service.close(grace_s=SHUTDOWN_GRACE_S)


@pytest.fixture(scope="session")
def app(settings):
    from app import create_app

    return create_app(settings)


@pytest.fixture(scope="session")
def client(settings):
    """The REST API in this process (api.server.create_api: the routes and what guards them, no UI to build)."""
    from fastapi.testclient import TestClient

    from api.server import create_api

    api_settings = settings.model_copy(deep=True)  # its own data directory: `app` may be built in this process too
    api_settings.server.data_dir = scratch(prefix="chatvlm-test-inproc-")
    with TestClient(create_api(api_settings), base_url=LOCAL, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def english_png() -> bytes:
    from tests.helpers import ENGLISH, encode, render_lines

    return encode(render_lines(ENGLISH))


@pytest.fixture(scope="session")
def english_file(tmp_path_factory, english_png) -> Path:
    path = tmp_path_factory.mktemp("images") / "document.png"
    path.write_bytes(english_png)
    return path


# The session's cold `python app.py` servers start as soon as the tests are collected (when a collected test uses
# them), side by side with each other and with the first tests, instead of one after another when first used: in the
# first worker, which gets their files first (tests/work_order.py); another worker launches one when it first needs it.
EARLY: dict[str, tuple[subprocess.Popen, str, Path]] = {}


def early_server(name: str) -> tuple[subprocess.Popen, str, Path]:
    """The session server ``name`` ("live_server" or "tiny_server"), launched now if it was not: (process, base, log)."""
    if name not in EARLY:
        env = (
            {**EMBEDDED_DEFAULT, **README_WAY, "CHATVLM_DATA_DIR": LIVE_DATA_DIR}
            if name == "live_server"
            else {"CHATVLM_CONFIG": str(build_tiny() / "config.yaml")}
        )
        log = Path(scratch(prefix=f"chatvlm-test-{name}-")) / "server.log"
        EARLY[name] = (*launch_server(env, log), log)
    return EARLY[name]


@pytest.fixture(scope="session")
def live_server_log() -> Path:
    return early_server("live_server")[2]


@pytest.fixture(scope="session")
def live_server():
    """`python app.py` with the repository's config.yaml."""
    process, base, log = early_server("live_server")
    wait_server(process, base, log)
    yield base
    process.terminate()  # waited for at the end of the run, beside the others


TINY_FOLDER: list[Path] = []
RUN = "CHATVLM_TEST_RUN"  # one id per test run: set by its first process, inherited by pytest-xdist's workers


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the run's first process (xdist's controller, or the only one)
        os.environ[RUN] = uuid.uuid4().hex[:12]


def build_tiny() -> Path:
    """The tiny models (Qwen3-VL, GOT-OCR 2.0, ...) and a config that points at them, in this test run's own folder
    (the first of xdist's workers to need them makes it, the others wait and read the same folder). The models are
    what `python -m tests.tiny_models DIR` builds (tests/e2e/test_commands.py runs the command itself), built once per
    version of the builder and of the libraries that make them and kept beside the runs' folders (6 MB): a run copies
    them and writes its config."""
    if not TINY_FOLDER:
        from tests.tiny_models import write_config

        folder = Path(tempfile.gettempdir()) / f"chatvlm-test-tiny-{os.environ.get(RUN) or os.getpid()}"
        with locked(f"{folder}.lock"):
            built = Path(f"{folder}.built")  # beside the folder: the folder holds what the command builds, only
            if not built.is_file():
                shutil.rmtree(folder, ignore_errors=True)
                shutil.copytree(built_tiny_models(), folder, ignore=shutil.ignore_patterns("config.yaml"))
                write_config(folder)  # the checkout's config.yaml, pointed at this run's copies
                built.touch()
        TINY_FOLDER.append(folder)
    return TINY_FOLDER[0]


@pytest.fixture(scope="session")
def tiny_build() -> Path:
    """The folder of the tiny models (built before the first test when a collected test needs them), with what loading
    them imports (torch, transformers: ~5 s of CPU) imported in this process by the first test that uses them."""
    folder = build_tiny()
    import transformers.modeling_utils  # noqa: F401
    import transformers.processing_utils  # noqa: F401

    from tests.process_costs import freeze_what_is_alive  # (a plugin of this conftest: imported once registered)

    freeze_what_is_alive()  # what they imported (tests/process_costs.py)
    return folder


@pytest.fixture(scope="session")
def tiny_config(tiny_build) -> Path:
    return tiny_build / "config.yaml"


@pytest.fixture(scope="session")
def tiny_settings(tiny_config):
    from inference import load_settings

    # its own data directory: the in-process tiny servers' jobs are kept outside the tiny build's folder
    return short_grace(load_settings(tiny_config, env={"CHATVLM_DATA_DIR": scratch(prefix="chatvlm-test-tiny-")}))


@pytest.fixture(scope="session")
def tiny_service(tiny_settings):
    from inference import InferenceService

    service = InferenceService(tiny_settings)
    yield service
    service.close(grace_s=SHUTDOWN_GRACE_S)


@pytest.fixture(scope="session")
def tiny_client(tiny_settings):
    """The REST API over the tiny models, in this process."""
    from fastapi.testclient import TestClient

    from api.server import create_api

    with TestClient(create_api(tiny_settings), base_url=LOCAL, raise_server_exceptions=False) as test_client:
        yield test_client


# -- shared session servers, one per configuration ------------------------------------------------------------------
# plain: `live_server` (python app.py, config.yaml); tiny models: `tiny_server`; keys on: `keyed_server` below.

USER_KEY, ADMIN_KEY, OTHER_KEY = "user-key-0123456789", "admin-key-9876543210", "other-user-key-55555"


@pytest.fixture(scope="session")
def keyed_server(settings):
    """The plain settings with API keys on (two user keys and an admin key), served in this process for the session:
    the tests of what keys change share it (yields the base URL)."""
    configured = settings.model_copy(deep=True)
    configured.auth.api_keys = [f"user:{USER_KEY}", f"admin:{ADMIN_KEY}", f"user:{OTHER_KEY}"]
    with serve_in_thread(configured) as (base, _):
        yield base


@pytest.fixture(scope="session")
def tiny_noloop_server(tiny_settings):
    """The tiny models without the runaway-repetition cut (a long answer goes on until a stop, a cancel or a client
    that leaves ends it), served in this process for the session; yields (base URL, service). A test that loads a
    model here unloads it at its end (the next one gets a fresh runner). The Chat tab's Stop test keeps its own server:
    on this one, behind the Gradio API cancel test's chat event, its answer did not start in 60 s in one run of two."""
    # qwen3_vl_2b one request at a time: a request sent while a chat runs waits in the queue (batched, it could join)
    settings = one_at_a_time(without_loop_cut(tiny_settings.model_copy(deep=True)), "qwen3_vl_2b")
    with serve_in_thread(settings) as (base, service):
        yield base, service


@pytest.fixture(scope="session")
def tiny_server():
    """`CHATVLM_CONFIG=<tiny>/config.yaml python app.py`."""
    process, base, log = early_server("tiny_server")
    wait_server(process, base, log)
    yield base
    process.terminate()  # waited for at the end of the run, beside the others


def pytest_collection_finish(session):
    from tests.work_order import launches_early  # (a plugin of this conftest: imported once pytest has registered it)

    used = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    if "live_server" in used and launches_early():  # (tests/work_order.py: the first worker, where their files go)
        early_server("live_server")
    if "tiny_build" in used:
        build_tiny()
    if "tiny_server" in used and launches_early():
        early_server("tiny_server")


def pytest_unconfigure(config):
    for process, _, _ in EARLY.values():
        if process.poll() is None:  # still running (a session server stops at the end; launched, never used)
            process.terminate()
    for process, _, log in EARLY.values():
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(log.parent, ignore_errors=True)
    clean_up()  # (the process's data directories and caches: tests/scratch.py)
    if "ui.downloads" in sys.modules:  # (the UI's files, when an app was built in this process)
        sys.modules["ui.downloads"].clean_up()
    if not hasattr(config, "workerinput") and os.environ.get(RUN):  # the run's tiny models: removed by its first process
        for path in Path(tempfile.gettempdir()).glob(f"chatvlm-test-tiny-{os.environ[RUN]}*"):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


# -- real Redis and PostgreSQL (the distributed mode) --------------------------------------------------------------
# One of each per test run, on free ports (tests/services.py); a test may kill() and start() them again (same URL).
# Without the Debian packages they skip with the reason (and CI, which installs them, fails that skip).


@pytest.fixture(scope="session")
def redis_service():
    from tests.services import RedisService, redis_missing

    if reason := redis_missing():
        pytest.skip(reason)
    with RedisService(appendonly=True) as service:
        yield service


@pytest.fixture(scope="session")
def postgres_service():
    from tests.services import PostgresService, postgres_missing

    if reason := postgres_missing():
        pytest.skip(reason)
    with PostgresService() as service:
        yield service
