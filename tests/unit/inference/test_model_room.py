"""Room in memory for models (inference/model_room.py): a model loads only when its weights fit, idle models are
unloaded for it (the least recently used first), busy ones are not; the plan alone, then the manager with gate
backends of given sizes, then the sizes read from real (tiny) weights."""

import threading

import pytest

from inference import ModelUnavailable, Overloaded, load_settings
from inference.cancel import Deadline
from inference.catalog import Catalog
from inference.manager import READY, UNLOADED, ModelManager
from inference.model_room import GB, Resident, plan_room
from inference.values import OcrWork
from tests.polling import loaded_backend

MB = 2**20


def resident(model_id, size_mb, last_used, idle=True, device="cpu"):
    return Resident(model_id, device, int(size_mb * MB), last_used, idle)


def test_a_model_that_fits_unloads_nothing():
    assert plan_room("c", "cpu", 300 * MB, [resident("a", 300, 1), resident("b", 300, 2)], budget=GB, free=None) == []
    assert plan_room("c", "cpu", 300 * MB, [resident("a", 900, 1)], budget=0, free=400 * MB) == []
    assert plan_room("c", "cpu", 300 * MB, [resident("a", 900, 1)], budget=0, free=None) == []  # nothing known: no check


def test_idle_models_are_unloaded_least_recently_used_first_and_only_as_many_as_needed():
    residents = [resident("new", 200, 9), resident("old", 200, 1), resident("mid", 200, 5), resident("busy", 200, 0, idle=False)]
    # 1 GB less 800 MB in use: 224 MB free
    assert plan_room("c", "cpu", 500 * MB, residents, budget=GB, free=None) == ["old", "mid"]
    assert plan_room("c", "cpu", 400 * MB, residents, budget=GB, free=None) == ["old"]
    # by the device's free memory: what an unloaded model frees counts, models on other devices do not
    on_gpu = [resident("gpu_old", 500, 1, device="cuda"), resident("cpu_old", 500, 0)]
    assert plan_room("c", "cuda", 600 * MB, on_gpu, budget=0, free=200 * MB) == ["gpu_old"]


def test_busy_models_are_never_unloaded_the_request_is_told_to_come_back():
    residents = [resident("a", 400, 1, idle=False), resident("b", 400, 2)]
    with pytest.raises(Overloaded, match=r"'c'.*\(a\)") as refused:
        plan_room("c", "cpu", 700 * MB, residents, budget=GB, free=None)  # b frees 400 of them: not enough
    assert refused.value.retry_after == 30


def test_a_model_too_large_for_the_room_even_alone_is_refused_with_what_it_needs():
    with pytest.raises(ModelUnavailable, match=r"'big' needs about 2 GB .* limits.model_memory_gb"):
        plan_room("big", "cpu", 2 * GB, [resident("a", 100, 1)], budget=GB, free=None)
    with pytest.raises(ModelUnavailable, match=r"'big' needs about 2 GB of memory for its weights on cuda"):
        plan_room("big", "cuda", 2 * GB, [resident("a", 100, 1, device="cuda")], budget=0, free=GB)


# ---- the manager, with gate backends of given sizes (tests/gate_backend.py) ----------------------------------------
SIZED_CONFIG = """
limits: {max_batch_files: 2, model_memory_gb: 1}
models:
  - {id: a, name: A, backend: sized_gate, tasks: [ocr], options: {weights_mb: 600}}
  - {id: b, name: B, backend: sized_gate, tasks: [ocr], options: {weights_mb: 600}}
  - {id: c, name: C, backend: sized_gate, tasks: [ocr], options: {weights_mb: 300}}
  - {id: huge, name: Huge, backend: sized_gate, tasks: [ocr], options: {weights_mb: 1500}}
  - {id: small, name: Small engine, backend: sized_gate, tasks: [ocr]}
"""


@pytest.fixture
def sized(tmp_path, monkeypatch):
    import inference.backends as backends

    monkeypatch.setitem(backends._BACKENDS, "sized_gate", "tests.gate_backend:SizedGate")
    path = tmp_path / "config.yaml"
    path.write_text(SIZED_CONFIG)
    settings = load_settings(path, env={})
    budget = settings.limits.model_memory_gb
    manager = ModelManager(Catalog(settings), queue_size=lambda sizing: 2, unload_grace_s=5, memory_gb=budget)
    yield manager
    for model_id in manager.loaded():
        loaded_backend(manager, model_id).gate.set()
    manager.shutdown(grace_s=5)


def states(manager):
    return {s.id: s.state for s in manager.statuses() if s.state != UNLOADED}


def answer(manager, model_id, text):
    [ticket] = manager.submit(model_id, [OcrWork(text)], Deadline(30))
    loaded_backend(manager, model_id).gate.set()
    return ticket.result().text


def test_a_model_that_does_not_fit_beside_an_idle_one_takes_its_place(sized):
    assert answer(sized, "a", "first") == "first"
    assert answer(sized, "c", "beside") == "beside"  # 600 + 300 MB: both fit in 1 GB
    assert states(sized) == {"a": READY, "c": READY}
    assert answer(sized, "b", "second") == "second"  # 600 more: a (least recently used) goes, c stays
    assert states(sized) == {"b": READY, "c": READY}
    assert answer(sized, "c", "used") == "used"  # c used since b: b is now the least recently used
    assert answer(sized, "a", "again") == "again"  # and back: b goes, c stays
    assert states(sized) == {"a": READY, "c": READY}
    assert answer(sized, "b", "last") == "last"  # c is the least recently used now: c then a go (300 MB is not enough)
    assert states(sized) == {"b": READY}
    assert answer(sized, "small", "any") == "any"  # a model of unknown size is not counted
    assert states(sized) == {"b": READY, "small": READY}


def test_a_busy_model_is_not_unloaded_for_another_and_its_request_finishes(sized):
    [running] = sized.submit("a", [OcrWork("long")], Deadline(30))
    gate = loaded_backend(sized, "a")
    assert gate.entered.wait(10)
    with pytest.raises(Overloaded, match=r"'b' needs about .* \(a\)") as refused:
        sized.runner("b", Deadline(30))
    assert refused.value.retry_after == 30
    assert states(sized) == {"a": READY}  # b stays unloaded, and a keeps working
    gate.gate.set()
    assert running.result().text == "long"
    assert answer(sized, "b", "now") == "now"  # a is idle now: it makes room
    assert states(sized) == {"b": READY}


def test_a_model_larger_than_the_room_is_refused_and_unloads_nothing(sized):
    assert answer(sized, "a", "kept") == "kept"
    with pytest.raises(ModelUnavailable, match="'huge' needs about 1.46 GB"):
        sized.runner("huge")
    assert states(sized) == {"a": READY}
    with pytest.raises(ModelUnavailable, match="'huge' needs"):  # and again (a refused load is no failed state)
        sized.load("huge")
    assert sized.status("huge").state == UNLOADED


def test_two_models_loading_at_once_do_not_both_take_the_same_room(sized, monkeypatch):
    from tests.gate_backend import GateBackend

    monkeypatch.setattr(GateBackend, "load_gate", threading.Event())
    monkeypatch.setattr(GateBackend, "loads_started", threading.Event())
    outcomes = {}

    def load(model_id):
        try:
            outcomes[model_id] = sized.runner(model_id, Deadline(30))
        except Exception as exc:
            outcomes[model_id] = exc

    first = threading.Thread(target=load, args=("a",))
    first.start()
    assert GateBackend.loads_started.wait(10)  # a is loading (its room taken), not loaded yet
    load("b")  # b does not fit beside a loading a, which is busy: refused, not loaded over it
    assert isinstance(outcomes["b"], Overloaded)
    GateBackend.load_gate.set()
    first.join(10)
    assert states(sized) == {"a": READY}


# ---- real weights: the size the room counts is what the loaded model holds ---------------------------------------
def test_the_weights_size_is_read_from_the_files_and_matches_the_loaded_model(tiny_service):
    from inference.backends.hf.weights_size import weights_memory

    handle = tiny_service.catalog.handle("got_ocr")
    device, size = handle.backend_class.memory_needs(handle.spec)
    tiny_service.load_model("got_ocr")
    model = loaded_backend(tiny_service.manager, "got_ocr").model
    held = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    assert device == "cpu" and 0.9 * held <= size <= 1.1 * held  # fp32 on the CPU, as loaded
    options = handle.backend_class.Options.model_validate({**handle.spec.options, "precision": "bf16"})
    assert weights_memory(handle.spec, options) == ("cpu", size // 2)  # the precision it loads in decides
