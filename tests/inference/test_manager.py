import threading
import time

import pytest

from inference import ModelUnavailable, UnknownModel, load_settings
from inference.manager import ERROR, READY, UNAVAILABLE, UNLOADED, ModelManager
from inference.registry import Registry

CONFIG = """
models:
  - id: rapid
    name: RapidOCR
    backend: rapidocr
    tasks: [ocr]
    options: {workers: 1}
  - id: tess_broken
    name: Tesseract with a language that is not installed
    backend: tesseract
    tasks: [ocr]
    options: {default_language: xyz, workers: 1}
  - id: tess_missing
    name: Tesseract without data
    backend: tesseract
    tasks: [ocr]
    options: {tessdata: /nonexistent/tessdata}
"""


@pytest.fixture
def manager(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return ModelManager(Registry(load_settings(path, env={})))


def test_loads_once_on_first_use_even_when_asked_concurrently(manager):
    assert manager.status("rapid").state == UNLOADED
    seen = []

    def use():
        with manager.acquire("rapid") as backend:
            seen.append(backend)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and all(b is seen[0] for b in seen)
    status = manager.status("rapid")
    assert status.state == READY and status.load_seconds > 0
    assert manager.loaded() == ["rapid"]


def test_unload_waits_for_running_request_then_reloads(manager):
    manager.load("rapid")
    entered, finished_at = threading.Event(), []

    def long_request():
        with manager.acquire("rapid"):
            entered.set()
            time.sleep(0.5)
            finished_at.append(time.monotonic())

    worker = threading.Thread(target=long_request)
    worker.start()
    entered.wait(5)
    assert manager.unload("rapid") is True
    unloaded_at = time.monotonic()
    worker.join()
    assert finished_at and unloaded_at >= finished_at[0]
    assert manager.status("rapid").state == UNLOADED
    assert manager.unload("rapid") is False  # nothing left to unload
    with manager.acquire("rapid") as backend:  # the next request loads it again
        assert backend is not None
    assert manager.status("rapid").state == READY


def test_failed_load_is_a_state_with_its_message(manager):
    with pytest.raises(ModelUnavailable, match="tess_broken"), manager.acquire("tess_broken"):
        pass
    status = manager.status("tess_broken")
    assert status.state == ERROR and "xyz" in status.error
    with pytest.raises(ModelUnavailable):  # tried again, fails again, no crash
        manager.load("tess_broken")


def test_unavailable_backend_says_what_to_install(manager):
    status = manager.status("tess_missing")
    assert status.state == UNAVAILABLE and "apt-get install" in status.error
    with pytest.raises(ModelUnavailable, match="apt-get install tesseract-ocr"):
        manager.load("tess_missing")


def test_unknown_model_lists_valid_ids(manager):
    with pytest.raises(UnknownModel, match="rapid, tess_broken, tess_missing"):
        manager.load("nope")
