import threading

import pytest

from inference import ModelUnavailable, UnknownModel, load_settings
from inference.backends.tesseract import find_tessdata
from inference.cancel import Deadline
from inference.manager import ERROR, READY, UNAVAILABLE, UNLOADED, ModelManager
from inference.registry import Registry
from inference.values import OcrWork
from tests.helpers import ENGLISH, render_lines

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

needs_tesseract = pytest.mark.skipif(find_tessdata("auto") is None,
                                     reason="Tesseract's English data is not installed (.ci/run installs it)")


@pytest.fixture
def manager(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    manager = ModelManager(Registry(load_settings(path, env={})))
    yield manager
    manager.unload_all(grace_s=5)


def test_loads_once_on_first_use_even_when_asked_concurrently(manager):
    assert manager.status("rapid").state == UNLOADED
    start, seen = threading.Barrier(4), []

    def use():
        start.wait()
        seen.append(manager.runner("rapid"))

    threads = [threading.Thread(target=use) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and all(r is seen[0] for r in seen)
    status = manager.status("rapid")
    assert status.state == READY and status.load_seconds > 0
    assert manager.loaded() == ["rapid"]


def test_unload_serves_queued_requests_first_then_reloads_on_demand(manager):
    image = render_lines(ENGLISH)
    tickets = manager.submit("rapid", [OcrWork(image), OcrWork(image), OcrWork(image)], Deadline(60))
    assert manager.unload("rapid") is True  # waits for the three: admitted work is not thrown away
    assert all("Invoice" in ticket.result().text for ticket in tickets)
    assert manager.status("rapid").state == UNLOADED
    assert manager.unload("rapid") is False  # nothing left to unload
    [again] = manager.submit("rapid", [OcrWork(image)], Deadline(60))  # the next request loads it again
    assert "Invoice" in again.result().text and manager.status("rapid").state == READY


def test_a_status_never_waits_for_a_load(manager):
    """/health and /models read states while a model loads (the load runs outside the lock)."""
    loader = threading.Thread(target=manager.load, args=("rapid",))
    loader.start()
    states = set()
    while loader.is_alive():
        states.add(manager.status("rapid").state)
    loader.join()
    assert "loading" in states and manager.status("rapid").state == READY


@needs_tesseract
def test_failed_load_is_a_state_with_its_message(manager):
    with pytest.raises(ModelUnavailable, match="tess_broken"):
        manager.runner("tess_broken")
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
