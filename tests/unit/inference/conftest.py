"""The jobs' store on both of its databases, for the store's tests: SQLite (one process) and PostgreSQL (many); runners
over the gate backend (tests/gate_backend.py), for the runner's tests."""

from __future__ import annotations

import pytest

from inference.job_store import JobStore, database_url
from inference.page_results import PageRead
from inference.runner import Runner


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        store = JobStore(database_url(tmp_path))
    else:
        store = JobStore(request.getfixturevalue("postgres_service").url)
    yield store
    store.close()


def page_read(idx: int, page: int, text: str = "x") -> PageRead:
    """A page read by the model, as a worker writes it."""
    return PageRead(idx, page, (10, 20), "ocr", 0.1, text=text)


@pytest.fixture
def make():
    """Runners built by the test (``make(backend, max_queue)``), their gates opened and closed at its end."""
    runners = []

    def build(backend, max_queue: int = 16) -> Runner:
        runner = Runner(backend, name="gate", max_queue=max_queue)
        runners.append((runner, backend))
        return runner

    yield build
    for runner, backend in runners:
        backend.gate.set()
        runner.close(grace_s=5)


@pytest.fixture
def detections(monkeypatch):
    """The shapes of the images RapidOCR's detector is given meanwhile (its own detect_and_crop, counted on its way)."""
    from rapidocr import RapidOCR

    detect, calls = RapidOCR.detect_and_crop, []

    def counted(self, *args, **kwargs):
        calls.append(args[0].shape)
        return detect(self, *args, **kwargs)

    monkeypatch.setattr(RapidOCR, "detect_and_crop", counted)
    return calls
