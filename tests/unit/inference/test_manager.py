import threading
import time

import pytest

from inference import ModelUnavailable, UnknownModel, load_settings
from inference.backends.ocr.tesseract import find_tessdata
from inference.cancel import Deadline
from inference.catalog import Catalog
from inference.manager import ERROR, READY, UNAVAILABLE, UNLOADED, ModelManager
from inference.values import OcrWork
from tests.helpers import ENGLISH, render_lines
from tests.polling import loaded_backend, unload_all

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

needs_tesseract = pytest.mark.skipif(
    find_tessdata("auto") is None, reason="Tesseract's English data is not installed (.ci/run installs it)"
)


@pytest.fixture
def manager(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    manager = ModelManager(Catalog(load_settings(path, env={})))
    yield manager
    unload_all(manager, grace_s=5)


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
        time.sleep(0.002)  # a reader, not a spin that takes the loader's turns on the GIL (a load takes ~0.5 s)
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


# ---- loads, shutdown and waiting, with the gate backend (tests/gate_backend.py) ------------------------------
GATE_CONFIG = """
limits: {max_batch_files: 2}
models:
  - {id: gate, name: Gate, backend: gate, tasks: [ocr]}
"""


@pytest.fixture
def gated(tmp_path, monkeypatch):
    """A manager over one gate model whose loads wait for ``GateBackend.load_gate``; queue bound 2."""
    import inference.backends as backends
    from tests.gate_backend import GateBackend

    monkeypatch.setitem(backends._BACKENDS, "gate", "tests.gate_backend:ConfiguredGate")
    monkeypatch.setattr(GateBackend, "load_gate", threading.Event())
    monkeypatch.setattr(GateBackend, "loads_started", threading.Event())
    monkeypatch.setattr(GateBackend, "load_error", None)
    monkeypatch.setattr(GateBackend, "loads", 0)
    path = tmp_path / "config.yaml"
    path.write_text(GATE_CONFIG)
    manager = ModelManager(Catalog(load_settings(path, env={})), queue_size=lambda sizing: 2, unload_grace_s=5)
    yield manager, GateBackend
    GateBackend.load_gate.set()
    manager.shutdown(grace_s=5)


def in_thread(fn, *args):
    """Run fn in a thread; returns (thread, outcome list that gets its result or exception)."""
    outcome = []

    def run():
        try:
            outcome.append(fn(*args))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_requests_that_waited_for_a_failed_load_get_its_error_instead_of_loading_again(gated):
    manager, gate = gated
    gate.load_error = "the weights are broken"
    first, first_outcome = in_thread(manager.runner, "gate")
    assert gate.loads_started.wait(10)
    waiters = [in_thread(manager.runner, "gate", Deadline(30)) for _ in range(2)]
    slot = manager._slots["gate"]
    with slot.cond:
        assert slot.cond.wait_for(lambda: len(slot.pending) == 2, 10)  # both wait for the load
    gate.load_gate.set()
    for thread, _ in [(first, first_outcome), *waiters]:
        thread.join(10)
    outcomes = [first_outcome[0], *(outcome[0] for _, outcome in waiters)]
    assert all(isinstance(o, ModelUnavailable) and "weights are broken" in str(o) for o in outcomes)
    assert gate.loads == 1  # one load, not one per waiter


def test_requests_waiting_for_a_load_are_bounded_and_the_rest_refused_at_once(gated):
    from inference import Overloaded

    manager, gate = gated
    loader, _ = in_thread(manager.runner, "gate")
    assert gate.loads_started.wait(10)
    waiters = [in_thread(manager.runner, "gate", Deadline(30)) for _ in range(2)]
    slot = manager._slots["gate"]
    with slot.cond:
        assert slot.cond.wait_for(lambda: len(slot.pending) == 2, 10)
    with pytest.raises(Overloaded, match="being loaded"):  # the bound (2) is full: refused without waiting
        manager.runner("gate", Deadline(30))
    with pytest.raises(Overloaded):
        manager.check_room("gate", 1)
    gate.load_gate.set()
    for thread, _ in [(loader, None), *waiters]:
        thread.join(10)
    assert all(outcome[0] is manager.runner("gate") for _, outcome in waiters)


def test_one_client_holds_at_most_its_share_of_the_places_waiting_for_a_load(gated):
    """While a model loads, one client's requests could take every place waiting for it (the others 503 'busy'
    until the load ended): it holds its share of them, as of the runner's queue (inference.shares)."""
    from inference import Overloaded
    from tests.unit.inference.test_runner_turns import as_caller

    manager, gate = gated  # (2 places: one client may hold 1)
    loader, _ = in_thread(manager.runner, "gate")
    assert gate.loads_started.wait(10)
    first = in_thread(as_caller, "a", lambda: manager.runner("gate", Deadline(30)))
    slot = manager._slots["gate"]
    with slot.cond:
        assert slot.cond.wait_for(lambda: len(slot.pending) == 1, 10)
    with pytest.raises(Overloaded, match="This client already has 1 requests waiting for model 'gate' to be ready"):
        as_caller("a", lambda: manager.runner("gate", Deadline(30)))
    with pytest.raises(Overloaded, match="This client already has"):
        as_caller("a", lambda: manager.check_room("gate", 1))
    as_caller("b", lambda: manager.check_room("gate", 5))  # another's batch: it waits for the load in one place
    other = in_thread(as_caller, "b", lambda: manager.runner("gate", Deadline(30)))  # (was: refused, 'busy')
    with slot.cond:
        assert slot.cond.wait_for(lambda: len(slot.pending) == 2, 10)
    gate.load_gate.set()
    for thread, _ in [(loader, None), first, other]:
        thread.join(10)
    assert first[1][0] is other[1][0] is manager.runner("gate")


def test_a_cancelled_request_does_not_start_a_load(gated):
    from inference import Cancelled, CancelToken

    manager, gate = gated
    gate.load_gate.set()
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        manager.submit("gate", [OcrWork("x")], Deadline(30), cancel=token)
    assert gate.loads == 0 and manager.status("gate").state == UNLOADED


def test_shutdown_stops_admitting_everywhere_and_nothing_loads_again(gated):
    manager, gate = gated
    gate.load_gate.set()
    [ticket] = manager.submit("gate", [OcrWork("before")], Deadline(30))
    gate_backend = loaded_backend(manager, "gate")
    gate_backend.gate.set()
    assert ticket.result().text == "before"
    manager.shutdown(grace_s=5)
    assert manager.status("gate").state == UNLOADED
    with pytest.raises(ModelUnavailable, match="shutting down"):
        manager.submit("gate", [OcrWork("after")], Deadline(30))
    assert gate.loads == 1 and manager.status("gate").state == UNLOADED
