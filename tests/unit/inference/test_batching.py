"""Batching on the tiny Qwen3-VL and GOT-OCR: concurrent requests share one generate, answers unchanged."""

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from PIL import Image

from inference import InferenceService
from tests.helpers import ENGLISH, render_lines
from tests.polling import loaded_backend


def run_together(fn, args_list):
    with ThreadPoolExecutor(max_workers=len(args_list)) as pool:
        futures = [pool.submit(fn, *args) for args in args_list]
        return [f.result() for f in futures]


@contextmanager
def batch_window(service, model, seconds):
    """The model's runner with a longer wait for batch-mates (so concurrent test requests surely meet)."""
    runner = service.manager.runner(model)
    runner.max_wait_s, runner.batch_sizes = seconds, type(runner.batch_sizes)(maxlen=1000)
    try:
        yield runner
    finally:
        runner.max_wait_s = runner.backend.batch_wait_s


IMAGES = [render_lines(ENGLISH), render_lines(ENGLISH[:1]), Image.new("RGB", (300, 200), "gray")]
PROMPTS = ["Describe this", "What does it say?", "Read all of the text"]
LIMITS = [9, 4, 12]


def answers_one_by_one(service, model):
    return [
        service.chat(img, p, model, temperature=0.0, max_tokens=n).response
        for img, p, n in zip(IMAGES, PROMPTS, LIMITS, strict=True)
    ]


def test_tiny_model_batched_greedy_equals_unbatched(tiny_service):
    alone = answers_one_by_one(tiny_service, "qwen3_vl_2b")
    with batch_window(tiny_service, "qwen3_vl_2b", 0.5) as runner:
        together = run_together(
            lambda img, p, n: tiny_service.chat(img, p, "qwen3_vl_2b", temperature=0.0, max_tokens=n).response,
            list(zip(IMAGES, PROMPTS, LIMITS, strict=True)),
        )
        assert max(runner.batch_sizes) >= 2
    assert together == alone
    assert all(len(answer) <= limit for answer, limit in zip(together, LIMITS, strict=True))


def test_batch_ocr_feeds_the_batched_path(tiny_service):
    with batch_window(tiny_service, "got_ocr", 0.5) as runner:
        result = tiny_service.batch_ocr([(f"{i}.png", IMAGES[0]) for i in range(4)], "got_ocr")
        assert result.successful == 4 and max(runner.batch_sizes) >= 2


def test_ocr_and_chat_requests_share_a_batch(tiny_service):
    with batch_window(tiny_service, "qwen3_vl_2b", 0.5) as runner:
        run_together(
            lambda kind: (
                tiny_service.ocr(IMAGES[0], "qwen3_vl_2b")
                if kind == "ocr"
                else tiny_service.chat(IMAGES[1], "Hi", "qwen3_vl_2b", temperature=0.0, max_tokens=3)
            ),
            [("ocr",), ("chat",)],
        )
        assert list(runner.batch_sizes) == [2]  # both greedy: one generate


def test_sampling_and_greedy_requests_are_batched_apart(tiny_service):
    with batch_window(tiny_service, "qwen3_vl_4b", 0.3) as runner:
        run_together(lambda t: tiny_service.chat(IMAGES[0], "Hi", "qwen3_vl_4b", temperature=t, max_tokens=3), [(0.0,), (0.9,)])
        assert list(runner.batch_sizes) == [1, 1]


@pytest.fixture(scope="module")
def fast_service(tiny_settings):
    settings = tiny_settings.model_copy(deep=True)
    entry = next(m for m in settings.models if m.id == "qwen3_vl_2b")
    # a smaller pixel budget than the default keeps the warm-up's page short (the test images fit in it)
    entry.options.update(fast_path=True, fast_path_batch_sizes=[1, 4], fast_path_prompt_multiple=32, max_pixels=200_000)
    service = InferenceService(settings)
    yield service
    service.close(grace_s=5)


def test_fast_path_gives_the_same_greedy_answers(tiny_service, fast_service):
    from inference import ChatMessage

    fast_service.load_model("qwen3_vl_2b")
    backend = loaded_backend(fast_service.manager, "qwen3_vl_2b")
    assert backend.inputs(IMAGES[0], [ChatMessage("user", "x")])["input_ids"].shape[1] % 32 == 0  # bucketed
    assert answers_one_by_one(fast_service, "qwen3_vl_2b") == answers_one_by_one(tiny_service, "qwen3_vl_2b")
    together = run_together(
        lambda img, p, n: fast_service.chat(img, p, "qwen3_vl_2b", temperature=0.0, max_tokens=n).response,
        list(zip(IMAGES, PROMPTS, LIMITS, strict=True)),
    )
    assert together == answers_one_by_one(tiny_service, "qwen3_vl_2b")


def test_fast_path_warm_up_compiles_what_requests_then_use(fast_service):
    fast_service.load_model("qwen3_vl_2b")
    fast = loaded_backend(fast_service.manager, "qwen3_vl_2b").fast
    assert fast.warm_batches == {1, 4, fast.options.max_batch_size}  # the buckets, and max_batch_size
    warm = fast.cache_tokens
    assert warm > 200_000 // (32 * 32)  # sized for a page at the pixel budget
    page = render_lines(ENGLISH * 12, font_size=30)
    assert page.width * page.height > 200_000  # scaled down to the budget, like the warm-up's page
    fast_service.ocr(page, "qwen3_vl_2b")
    run_together(lambda img: fast_service.ocr(img, "qwen3_vl_2b"), [(page,), (IMAGES[0],), (IMAGES[2],)])
    fast_service.chat(IMAGES[1], "What does it say?", "qwen3_vl_2b", temperature=0.0, max_tokens=5)
    assert (fast.cold_requests, fast.cache_tokens) == (0, warm)
    # a request that needs a longer cache than the warm-up built compiles once more, and is counted
    fast_service.chat(IMAGES[1], "Hi", "qwen3_vl_2b", temperature=0.0, max_tokens=warm)
    assert fast.cold_requests == 1 and fast.cache_tokens > warm


def test_unload_closes_the_runner_and_its_workers(tiny_service):
    tiny_service.load_model("qwen3_vl_8b")
    workers = tiny_service.manager.runner("qwen3_vl_8b")._threads
    tiny_service.unload_model("qwen3_vl_8b")
    for worker in workers:
        worker.join(timeout=5)
    assert not any(worker.is_alive() for worker in workers)
