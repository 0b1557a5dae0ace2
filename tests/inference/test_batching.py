"""Batching: the Batcher itself, and the tiny Qwen3-VL answering concurrent requests in one generate."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from inference import InferenceService
from inference.batching import Batcher
from tests.helpers import ENGLISH, render_lines


def run_together(fn, args_list):
    with ThreadPoolExecutor(max_workers=len(args_list)) as pool:
        futures = [pool.submit(fn, *args) for args in args_list]
        return [f.result() for f in futures]


def test_two_requests_at_once_are_one_batch_and_not_crossed():
    calls = []

    def square_all(xs):
        calls.append(list(xs))
        return [x * x for x in xs]

    batcher = Batcher(square_all, max_batch=8, max_wait_s=0.3)
    assert run_together(batcher.submit, [(3,), (4,)]) == [9, 16]
    assert list(batcher.sizes) == [2] and sorted(calls[0]) == [3, 4]
    batcher.close()


def test_batch_size_is_bounded_and_keys_are_not_mixed():
    batcher = Batcher(lambda xs: [x for x in xs], max_batch=3, max_wait_s=0.3, key=lambda x: x % 2)
    results = run_together(batcher.submit, [(i,) for i in range(8)])
    assert results == list(range(8))
    assert max(batcher.sizes) <= 3 and sum(batcher.sizes) == 8
    batcher.close()


def test_a_failing_request_fails_only_itself():
    def picky(xs):
        if any(x < 0 for x in xs):
            raise ValueError(f"negative input in {xs}")
        return [x + 1 for x in xs]

    batcher = Batcher(picky, max_batch=4, max_wait_s=0.3)

    def submit(x):
        try:
            return batcher.submit(x)
        except ValueError as exc:
            return str(exc)

    assert run_together(submit, [(1,), (-1,), (2,)]) == [2, "negative input in [-1]", 3]
    batcher.close()


def test_waits_at_most_the_configured_time():
    batcher = Batcher(lambda xs: xs, max_batch=8, max_wait_s=0.05)
    started = time.perf_counter()
    assert batcher.submit("alone") == "alone"
    assert time.perf_counter() - started < 1.0 and list(batcher.sizes) == [1]
    batcher.close()


IMAGES = [render_lines(ENGLISH), render_lines(ENGLISH[:1]), Image.new("RGB", (300, 200), "gray")]
PROMPTS = ["Describe this", "What does it say?", "Read all of the text"]
LIMITS = [9, 4, 12]


def answers_one_by_one(service, model):
    return [service.chat(img, p, model, temperature=0.0, max_tokens=n).response
            for img, p, n in zip(IMAGES, PROMPTS, LIMITS, strict=True)]


def test_tiny_model_batched_greedy_equals_unbatched(tiny_service):
    alone = answers_one_by_one(tiny_service, "qwen3_vl_2b")
    with tiny_service.manager.acquire("qwen3_vl_2b") as backend:
        backend.batcher.max_wait_s = 0.5  # make sure the three arrive in one batch on a slow machine
        backend.batcher.sizes.clear()
        try:
            together = run_together(
                lambda img, p, n: tiny_service.chat(img, p, "qwen3_vl_2b", temperature=0.0, max_tokens=n).response,
                list(zip(IMAGES, PROMPTS, LIMITS, strict=True)))
        finally:
            backend.batcher.max_wait_s = backend.options.batch_wait_ms / 1000
        assert max(backend.batcher.sizes) >= 2
    assert together == alone
    assert all(len(answer) <= limit for answer, limit in zip(together, LIMITS, strict=True))


def test_batch_ocr_feeds_the_batched_path(tiny_service):
    with tiny_service.manager.acquire("got_ocr") as backend:
        backend.batcher.sizes.clear()
        backend.batcher.max_wait_s = 0.5
        try:
            result = tiny_service.batch_ocr([(f"{i}.png", IMAGES[0]) for i in range(4)], "got_ocr")
        finally:
            backend.batcher.max_wait_s = backend.options.batch_wait_ms / 1000
        assert result.successful == 4 and max(backend.batcher.sizes) >= 2


def test_sampling_and_greedy_requests_are_batched_apart(tiny_service):
    with tiny_service.manager.acquire("qwen3_vl_4b") as backend:
        backend.batcher.sizes.clear()
        backend.batcher.max_wait_s = 0.3
        try:
            run_together(lambda t: tiny_service.chat(IMAGES[0], "Hi", "qwen3_vl_4b", temperature=t, max_tokens=3),
                         [(0.0,), (0.9,)])
        finally:
            backend.batcher.max_wait_s = backend.options.batch_wait_ms / 1000
        assert list(backend.batcher.sizes) == [1, 1]


@pytest.fixture(scope="module")
def fast_service(tiny_settings):
    settings = tiny_settings.model_copy(deep=True)
    entry = next(m for m in settings.models if m.id == "qwen3_vl_2b")
    # a smaller pixel budget than the default keeps the warm-up's page short (the test images fit in it)
    entry.options.update(fast_path=True, fast_path_batch_sizes=[1, 4], fast_path_prompt_multiple=32, max_pixels=200_000)
    service = InferenceService(settings)
    yield service
    service.manager.unload_all()


def test_fast_path_gives_the_same_greedy_answers(tiny_service, fast_service):
    with fast_service.manager.acquire("qwen3_vl_2b") as backend:
        from inference.backends.base import ChatMessage

        assert backend.inputs(IMAGES[0], [ChatMessage("user", "x")])["input_ids"].shape[1] % 32 == 0  # bucketed
    assert answers_one_by_one(fast_service, "qwen3_vl_2b") == answers_one_by_one(tiny_service, "qwen3_vl_2b")
    together = run_together(
        lambda img, p, n: fast_service.chat(img, p, "qwen3_vl_2b", temperature=0.0, max_tokens=n).response,
        list(zip(IMAGES, PROMPTS, LIMITS, strict=True)))
    assert together == answers_one_by_one(tiny_service, "qwen3_vl_2b")


def test_fast_path_warm_up_compiles_what_requests_then_use(fast_service):
    with fast_service.manager.acquire("qwen3_vl_2b") as backend:
        assert backend.warm_batches == {1, 4, backend.options.max_batch_size}  # the buckets, and max_batch_size
        warm = backend.cache_tokens
        assert warm > 200_000 // (32 * 32)  # sized for a page at the pixel budget
    page = render_lines(ENGLISH * 12, font_size=30)
    assert page.width * page.height > 200_000  # scaled down to the budget, like the warm-up's page
    fast_service.ocr(page, "qwen3_vl_2b")
    run_together(lambda img: fast_service.ocr(img, "qwen3_vl_2b"), [(page,), (IMAGES[0],), (IMAGES[2],)])
    fast_service.chat(IMAGES[1], "What does it say?", "qwen3_vl_2b", temperature=0.0, max_tokens=5)
    assert (backend.cold_requests, backend.cache_tokens) == (0, warm)
    # a request that needs a longer cache than the warm-up built compiles once more, and is counted
    fast_service.chat(IMAGES[1], "Hi", "qwen3_vl_2b", temperature=0.0, max_tokens=warm)
    assert backend.cold_requests == 1 and backend.cache_tokens > warm


def test_unload_with_a_batcher_is_clean(tiny_service):
    tiny_service.load_model("qwen3_vl_8b")
    with tiny_service.manager.acquire("qwen3_vl_8b") as backend:
        worker = backend.batcher._worker
    tiny_service.unload_model("qwen3_vl_8b")
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert threading.active_count() < 200


def test_close_serves_what_was_queued_and_fails_what_comes_after():
    release = threading.Event()
    batcher = Batcher(lambda xs: [release.wait(5) and x for x in xs], max_batch=1, max_wait_s=0.0)
    with ThreadPoolExecutor(max_workers=3) as pool:
        first = pool.submit(batcher.submit, 1)
        time.sleep(0.2)  # the first request is running
        queued = pool.submit(batcher.submit, 2)
        time.sleep(0.2)
        batcher.close()
        late = pool.submit(batcher.submit, 3)
        time.sleep(0.2)
        release.set()
        assert first.result(timeout=5) == 1 and queued.result(timeout=5) == 2
        with pytest.raises(RuntimeError, match="unloaded"):
            late.result(timeout=5)  # fails instead of waiting forever
