"""Room in memory for models (inference/model_room.py): a model loads only when its weights fit, idle models are
unloaded for it (the least recently used first), busy ones are not; the plan alone, then the manager with gate
backends of given sizes, then the sizes read from real (tiny) weights."""

import threading
import time

import pytest

from inference import ModelUnavailable, Overloaded, load_settings
from inference.cancel import Deadline
from inference.catalog import Catalog
from inference.manager import READY, UNLOADED, ModelManager
from inference.model_room import GB, Resident, plan_room
from inference.values import OcrWork
from tests.polling import loaded_backend, wait_until

MB = 2**20


def resident(model_id, size_mb, last_used, idle=True, device="cpu", wait_s=None, pinned=False):
    return Resident(model_id, device, int(size_mb * MB), last_used, idle, wait_s, pinned)


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
    # of the models at work, only as many as it takes are asked to make way (the least recently used first)
    with pytest.raises(Overloaded) as refused:
        plan_room("c", "cpu", 600 * MB, [resident("a", 400, 1, idle=False), resident("b", 400, 2, idle=False)], GB, None)
    assert refused.value.holders == ["a"]
    # a model loaded a moment ago stays its time (two clients alternating two models do not reload one per request):
    # the request is told when it may make way
    settling = [resident("a", 400, 1, idle=False, wait_s=3.2), resident("b", 400, 2)]
    with pytest.raises(Overloaded) as refused:
        plan_room("c", "cpu", 700 * MB, settling, budget=GB, free=None)
    assert refused.value.retry_after == 4


def test_a_model_too_large_for_the_room_even_alone_is_refused_with_what_it_needs():
    with pytest.raises(ModelUnavailable, match=r"'big' needs about 2 GB .* limits.model_memory_gb"):
        plan_room("big", "cpu", 2 * GB, [resident("a", 100, 1)], budget=GB, free=None)
    with pytest.raises(ModelUnavailable, match=r"'big' needs about 2 GB of memory for its weights on cuda"):
        plan_room("big", "cuda", 2 * GB, [resident("a", 100, 1, device="cuda")], budget=0, free=GB, total=GB)
    # by the device's free memory: what the device has at all decides "never" (a busy model's working memory, or
    # PyTorch's cache, holds some of it for a while only: come back later)
    with pytest.raises(Overloaded):
        plan_room("b", "cuda", 700 * MB, [resident("a", 400, 1, idle=False, device="cuda")], budget=0, free=100 * MB, total=GB)
    # by free memory an unloaded model frees more than its weights (its caches): it makes way, and the room is measured
    # again, though its weights alone would not make room enough
    assert plan_room("b", "cuda", 700 * MB, [resident("a", 300, 1, device="cuda")], budget=0, free=100 * MB, total=GB) == ["a"]
    # the preloaded models never make way for a request: what is left beside them decides "never"
    pinned = [resident("pre", 700, 1, idle=False, pinned=True)]
    with pytest.raises(ModelUnavailable, match=r"beside the preloaded models \(0.684 GB\)"):
        plan_room("c", "cpu", 400 * MB, pinned, budget=GB, free=None)


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
    manager = ModelManager(Catalog(settings), queue_size=lambda sizing: 2, unload_grace_s=5, memory_gb=budget, resident_s=0)
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


def test_a_busy_model_is_not_unloaded_the_request_waits_and_then_takes_its_turn(sized):
    [running] = sized.submit("a", [OcrWork("long")], Deadline(30))
    gate = loaded_backend(sized, "a")
    assert gate.entered.wait(10)
    with pytest.raises(Overloaded, match=r"'b' needs about .* \(a\)") as refused:  # waited its deadline, in vain
        sized.runner("b", Deadline(0.5))
    assert refused.value.retry_after == 30 and states(sized) == {"a": READY}  # b stays unloaded, a keeps working
    outcome = []
    waiter = threading.Thread(target=lambda: outcome.append(answer(sized, "b", "my turn")))
    waiter.start()  # b waits for the room; its turn come, a takes no new request (one client cannot keep b out)
    assert wait_until(lambda: sized.runner("a").yielding > 0, 10), "a never made way"
    waiting = sized.info("b")  # (/models and the Models panel: not loading yet, waiting for memory)
    assert waiting.state == "loading" and "Waiting for memory" in (waiting.note or ""), waiting
    with pytest.raises(Overloaded, match="making way for another model"):
        sized.submit("a", [OcrWork("more")], Deadline(30))
    [next_page] = sized.submit("a", [OcrWork("page 2")], Deadline(30), continuing=True)  # a request under way goes on
    gate.gate.set()
    assert running.result().text == "long" and next_page.result().text == "page 2"  # then a makes way
    waiter.join(10)
    assert outcome == ["my turn"] and states(sized) == {"b": READY}
    assert "Waiting" not in (sized.info("b").note or "")


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
    outcomes["b"] = None
    try:
        sized.runner("b", Deadline(0.5))
    except Exception as exc:  # b does not fit beside a loading a, which is busy: refused, not loaded over it
        outcomes["b"] = exc
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


def test_a_request_takes_the_room_of_a_model_reading_only_jobs_pages_and_the_pages_are_read_later(sized):
    from inference.errors import Overloaded as Later

    [running] = sized.submit("a", [OcrWork("page 1")], Deadline(30), background=True)
    [queued] = sized.submit("a", [OcrWork("page 2")], Deadline(30), background=True)
    gate = loaded_backend(sized, "a")
    assert gate.entered.wait(10)  # page 1 runs, page 2 waits
    outcome = []
    request = threading.Thread(target=lambda: outcome.append(answer(sized, "b", "the request")))
    request.start()
    with pytest.raises(Later, match="read later"):  # the page that waited goes back to its job (which requeues it)
        queued.result()
    gate.gate.set()  # the page that runs finishes (within the unload's grace)
    assert running.result().text == "page 1"
    request.join(10)
    assert outcome == ["the request"] and states(sized) == {"b": READY}


def test_a_jobs_page_makes_a_model_unload_only_when_nobody_has_used_it_for_a_while(sized):
    sized._resident_s = 0.1  # (limits.model_resident_s: a job's page waits until the model was idle 12 times that)
    assert answer(sized, "b", "a request") == "a request"
    with pytest.raises(Overloaded, match=r"'a' needs .* \(b\)"):  # b was just used: the job's page waits for room
        sized.submit("a", [OcrWork("page")], Deadline(30), background=True)
    assert states(sized) == {"b": READY}
    time.sleep(1.3)
    [page] = sized.submit("a", [OcrWork("page")], Deadline(30), background=True)  # b idle 1.2 s: it makes way now
    loaded_backend(sized, "a").gate.set()
    assert page.result().text == "page" and states(sized) == {"a": READY}


def test_a_model_stays_loaded_a_while_before_it_makes_way(sized):
    sized._resident_s = 3600.0  # (the manager's residency, as limits.model_resident_s sets it)
    assert answer(sized, "a", "first") == "first"
    with pytest.raises(Overloaded, match=r"'b' needs .* loaded a moment ago \(a\)") as refused:
        sized.runner("b", Deadline(0.5))
    assert 1 <= refused.value.retry_after <= 30 and states(sized) == {"a": READY}


def test_preloaded_models_never_make_way_for_a_request(sized):
    done = threading.Event()
    sized.preload(["a"], done).join(10)
    assert done.is_set() and states(sized) == {"a": READY}
    with pytest.raises(ModelUnavailable, match=r"'b' needs .* beside the preloaded models"):
        sized.runner("b", Deadline(30))
    assert answer(sized, "c", "beside") == "beside"  # 300 MB fit beside it
    assert sized.unload("a")  # an administrator may unload it
    assert answer(sized, "b", "now") == "now"


def test_a_repository_shipping_its_weights_twice_is_counted_once(tmp_path):
    # (shards named by model.safetensors.index.json, and the same weights consolidated in one more file)
    import json

    import torch
    from safetensors.torch import save_file

    from inference.backends.hf.weights_size import tensor_counts, weight_files

    save_file({"a": torch.zeros(10, 10)}, str(tmp_path / "model-00001-of-00002.safetensors"))
    save_file({"b": torch.zeros(5, dtype=torch.int64)}, str(tmp_path / "model-00002-of-00002.safetensors"))
    save_file({"a": torch.zeros(10, 10), "b": torch.zeros(5, dtype=torch.int64)}, str(tmp_path / "consolidated.safetensors"))
    assert len(weight_files(tmp_path)) == 3  # (no index: every file)
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    files = weight_files(tmp_path)
    assert [f.name for f in files] == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    assert [tensor_counts(f) for f in files] == [{"F32": 100}, {"I64": 5}]
    (tmp_path / "broken.safetensors").write_bytes(b"\xff" * 16)
    assert tensor_counts(tmp_path / "broken.safetensors") is None  # no header: not counted, never an error


def test_a_job_whose_model_made_way_for_a_request_is_read_to_its_end(tiny_settings):
    # room for one tiny model: a job's pages on one, a request for another in the middle of it
    from inference import InferenceService
    from tests.helpers import encode, render_lines
    from tests.scratch import scratch

    settings = tiny_settings.model_copy(deep=True)
    settings.limits.model_memory_gb, settings.limits.model_resident_s = 1.2 * MB / GB, 0.2
    settings.server.data_dir = scratch(prefix="chatvlm-test-room-")
    pages = [render_lines([f"Page {n} of the annual report"]) for n in range(1, 7)]
    tiff = encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    service = InferenceService(settings)
    try:
        job = service.submit_job([("pages.tiff", tiff)], "qwen3_vl_2b")
        deadline = time.monotonic() + 60
        assert wait_until(lambda: service.job(job.id).pages_done >= 1, 60)
        answered = None
        while answered is None and time.monotonic() < deadline:  # (503 while the job's model stays its time)
            try:
                answered = service.ocr(encode(pages[0]), "got_ocr")
            except Overloaded as exc:
                time.sleep(min(exc.retry_after, 0.2))
        assert answered is not None and service.manager.loaded() == ["got_ocr"]  # the job's model made way
        assert wait_until(lambda: service.job(job.id).state in ("done", "failed"), 60, every=0.05)
        status = service.job(job.id)
        assert (status.state, status.pages_done, status.pages_total) == ("done", 6, 6), status
        result = service.job_result(job.id).model_dump(mode="json")["results"][0]
        assert len(result["pages"]) == 6 and not any(page["error"] for page in result["pages"]), result
    finally:
        service.close(grace_s=2)


def test_jobs_pages_that_found_no_room_for_long_take_their_turn(sized):
    # (a model used at least once a minute kept a job at 0 pages for good: never idle long enough for a job's page)
    sized._resident_s = 0.05  # (a job's page waits for b idle 0.6 s, or takes its turn after 3 s without room)
    assert answer(sized, "b", "used") == "used"
    refused, page, deadline = 0, None, time.monotonic() + 30
    while page is None and time.monotonic() < deadline:
        assert answer(sized, "b", "used again") == "used again"  # b never idle long: a job's page waits...
        try:
            [page] = sized.submit("a", [OcrWork("page")], Deadline(30), background=True)
        except Overloaded:
            refused += 1
            time.sleep(0.1)
    assert refused >= 10 and page is not None  # ...for a while, then takes its turn
    loaded_backend(sized, "a").gate.set()
    assert page.result().text == "page" and states(sized) == {"a": READY}
