"""The runner: admission, batching, deadlines, cancellation, failures and shutdown.

Its backend is tests/gate_backend.py: a small real one whose batches wait at a gate the test opens, so each
test controls when work runs without sleeping.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from inference.cancel import Deadline
from inference.errors import Cancelled, ModelUnavailable, OutOfMemory, Overloaded, TimedOut
from inference.runner import Runner, RunnerClosed, collate, is_out_of_memory
from inference.streams import TextStream
from inference.values import ChatMessage, ChatParams, ChatWork, OcrWork
from tests.gate_backend import GateBackend
from tests.polling import wait_until


def work(label: str) -> OcrWork:
    return OcrWork(image=label)


def deadline(seconds: float = 30.0) -> Deadline:
    return Deadline(seconds)


# ---- collate: a pure function ----------------------------------------------------------------------------
def test_collate_takes_the_oldest_and_those_that_share_its_key():
    assert collate(["greedy", "hot", "greedy", "greedy"], max_batch=8) == [0, 2, 3]
    assert collate(["greedy", "greedy", "greedy"], max_batch=2) == [0, 1]
    assert collate(["hot", "greedy"], max_batch=8) == [0]
    assert collate([], max_batch=4) == []
    assert collate([("stream", 1), ("stream", 2)], max_batch=8) == [0]  # a stream runs alone


def test_out_of_memory_is_recognised_by_type_and_by_message():
    import torch

    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    assert not is_out_of_memory(ValueError("bad pixel values"))


# ---- admission and batching -------------------------------------------------------------------------------
def test_requests_waiting_together_run_as_one_batch(make):
    backend = GateBackend(max_batch=8, wait_s=0.0)
    runner = make(backend)
    first = runner.submit([work("a")], deadline())[0]
    backend.entered.wait(5)  # "a" is running alone; these three wait together
    rest = runner.submit([work("b"), work("c"), work("d")], deadline())
    backend.gate.set()
    assert [t.result().text for t in [first, *rest]] == ["a", "b", "c", "d"]
    assert backend.batches == [["a"], ["b", "c", "d"]] and list(runner.batch_sizes) == [1, 3]


def test_the_backend_knows_whether_its_work_is_all_the_runner_has(make):
    backend = GateBackend(workers=2)
    runner = make(backend)
    first = runner.submit([work("a")], deadline())[0]
    backend.entered.wait(5)
    assert backend.alone()  # "a" runs, nothing beside it, nothing waits: its engines may all work on it
    rest = runner.submit([work("b"), work("c")], deadline())
    assert wait_until(lambda: runner.running == 2, 5)
    assert not backend.alone()  # "b" runs beside it and "c" waits: each keeps to its own engine
    backend.gate.set()
    assert [t.result().text for t in [first, *rest]] == ["a", "b", "c"]
    assert wait_until(lambda: runner.running == 0, 5) and backend.alone()


def test_other_sampling_settings_wait_for_their_own_batch(make):
    backend = GateBackend(max_batch=8)
    runner = make(backend)
    blocker = runner.submit([work("blocker")], deadline())[0]
    backend.entered.wait(5)
    hot = ChatWork(messages=[ChatMessage("user", "hot")], params=ChatParams(0.9, 4))
    tickets = runner.submit([work("g1"), hot, work("g2")], deadline())
    backend.gate.set()
    blocker.result()
    for ticket in tickets:
        ticket.result()
    assert backend.batches[1:] == [["g1", "g2"], ["hot"]]


def test_a_full_queue_refuses_at_once_with_retry_after(make):
    backend = GateBackend()
    runner = make(backend, max_queue=2)
    running = runner.submit([work("running")], deadline())[0]
    backend.entered.wait(5)
    runner.submit([work("w1"), work("w2")], deadline())
    started = time.monotonic()
    with pytest.raises(Overloaded, match="busy") as refused:
        runner.submit([work("w3")], deadline())
    assert time.monotonic() - started < 0.5 and refused.value.retry_after >= 1
    with pytest.raises(Overloaded):  # a batch is admitted whole or not at all
        runner.submit([work("x"), work("y")], deadline())
    backend.gate.set()
    assert running.result().text == "running"


def test_a_cancelled_queued_request_never_reaches_the_backend(make):
    backend = GateBackend()
    runner = make(backend)
    running = runner.submit([work("running")], deadline())[0]
    backend.entered.wait(5)
    queued = runner.submit([work("left")], deadline())[0]
    assert runner.waiting == 1
    queued.cancel()
    assert runner.waiting == 0  # its place in the queue is free at once
    with pytest.raises(Cancelled):
        queued.result()
    backend.gate.set()
    running.result()
    later = runner.submit([work("later")], deadline())[0]
    assert later.result().text == "later"
    assert ["left"] not in backend.batches and runner.dropped == 1


def test_a_request_past_its_deadline_is_dropped_from_the_queue(make):
    backend = GateBackend()
    runner = make(backend)
    runner.submit([work("running")], deadline())
    backend.entered.wait(5)
    short = runner.submit([work("late")], Deadline(0.05))[0]
    with pytest.raises(TimedOut, match="time limit"):
        short.result()
    assert runner.waiting == 0
    backend.gate.set()
    assert runner.submit([work("next")], deadline())[0].result().text == "next"
    assert ["late"] not in backend.batches


def test_a_running_request_past_its_deadline_is_stopped(make):
    backend = GateBackend()  # the gate never opens: only the stop signal ends the batch
    runner = make(backend)
    ticket = runner.submit([work("slow")], Deadline(0.2))[0]
    with pytest.raises(TimedOut):
        ticket.result()
    assert backend.stop_seen.wait(5)  # the backend saw its stop signal and returned
    backend.gate.set()
    assert runner.submit([work("after")], deadline())[0].result().text == "after"  # the worker is free again


def test_a_request_cancelled_while_its_batch_renders_leaves_the_batch_whole(make):
    # (a large image is decoded when its turn comes, OcrWork.render: ~0.6 s at 40 Mpx, each of the batch in turn; a
    # request of the batch cancelled meanwhile had let its work go, readying it raised AttributeError, and the batch ran
    # one request at a time)
    rendering, rendered = threading.Event(), threading.Event()

    def render() -> str:
        rendering.set()
        assert rendered.wait(5)
        return "a"

    backend = GateBackend(max_batch=3)
    backend.gate.set()
    runner = make(backend)
    first, gone, last = runner.submit([OcrWork(None, render=render), work("b"), work("c")], deadline())
    assert rendering.wait(5)
    gone.cancel()
    rendered.set()
    assert (first.result().text, last.result().text) == ("a", "c")
    assert list(runner.batch_sizes) == [3]  # (the cancelled one's row stopped, as when it is cancelled running)


# ---- failures -----------------------------------------------------------------------------------------------
def test_a_failing_request_fails_alone():
    def fail(labels):
        return ValueError(f"bad input in {labels}") if "bad" in labels else None

    backend = GateBackend(max_batch=8, fail=fail)
    backend.gate.set()
    runner = Runner(backend, name="gate", max_queue=8)
    try:
        tickets = runner.submit([work("ok1"), work("bad"), work("ok2")], deadline())
        assert tickets[0].result().text == "ok1" and tickets[2].result().text == "ok2"
        with pytest.raises(ValueError, match=r"\['bad'\]"):
            tickets[1].result()
    finally:
        runner.close(grace_s=5)


def test_out_of_memory_in_a_batch_retries_alone_and_alone_becomes_a_clear_error():
    import torch

    def fail(labels):
        if len(labels) > 1 or labels == ["huge"]:
            return torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return None

    backend = GateBackend(max_batch=8, fail=fail)
    backend.gate.set()
    runner = Runner(backend, name="gate", max_queue=8)
    try:
        tickets = runner.submit([work("a"), work("b")], deadline())
        assert [t.result().text for t in tickets] == ["a", "b"]  # the batch did not fit; each one alone did
        with pytest.raises(OutOfMemory, match="ran out of accelerator memory") as error:
            runner.submit([work("huge")], deadline())[0].result()
        assert "GiB" not in str(error.value) and backend.released == 2
        assert runner.submit([work("c")], deadline())[0].result().text == "c"  # still serving
    finally:
        runner.close(grace_s=5)


# ---- streams -----------------------------------------------------------------------------------------------
def test_a_stream_gives_pieces_and_stops_when_cancelled(make):
    backend = GateBackend()
    runner = make(backend)
    chat = ChatWork(messages=[ChatMessage("user", "s")], params=ChatParams(0.0, 10))
    ticket = runner.submit([chat], deadline(), streaming=True)[0]
    assert ticket.next_piece(timeout=5) == "x"
    ticket.cancel()
    with pytest.raises(Cancelled):
        ticket.result()
    # the worker is free again at once: the next request runs
    backend.gate.set()
    assert runner.submit([work("next")], deadline())[0].result().text == "next"


def test_a_stream_stops_when_the_task_reading_it_ends_between_two_pieces(make):
    """Gradio holds an event's generator while the event's task sends a piece out; a job cancelled there ends the
    task outside the generator, which then waits at its ``yield`` for a reader that never comes and is not closed."""
    import asyncio

    runner = make(GateBackend())  # its stream goes on (10 s) until it is stopped
    chat = ChatWork(messages=[ChatMessage("user", "s")], params=ChatParams(0.0, 10_000))

    async def answer():  # the UI's handler: the stream read in the task of the event
        stream = TextStream(runner.submit([chat], deadline(), streaming=True)[0], "gate", "s")
        with stream.close_with_task():
            async for text in stream:
                yield text

    async def event(held, sending):
        await anext(held)
        sending.set()
        await asyncio.sleep(3600)  # sending the piece out, when the job is cancelled

    async def main():
        held, sending = answer(), asyncio.Event()  # the generator kept, as Gradio keeps it: never resumed or closed
        task = asyncio.create_task(event(held, sending))
        await sending.wait()
        task.cancel()
        stopped = await asyncio.to_thread(wait_until, lambda: runner.running == 0, 5)
        return held, stopped

    held, stopped = asyncio.run(main())
    assert stopped, "the generation went on after the task reading it ended"
    del held


# ---- shutdown and the submit/close race ----------------------------------------------------------------------
def test_close_serves_what_is_queued_then_refuses(make):
    backend = GateBackend()
    runner = Runner(backend, name="gate", max_queue=8)
    tickets = runner.submit([work("a"), work("b")], deadline())
    backend.entered.wait(5)
    closer = threading.Thread(target=runner.close, args=(10,))
    closer.start()
    with pytest.raises(RunnerClosed):  # stops admitting at once...
        while True:
            runner.submit([work("late")], deadline())[0].cancel()
    backend.gate.set()  # ...and serves what it had
    closer.join(10)
    assert [t.result().text for t in tickets] == ["a", "b"] and not closer.is_alive()


def test_close_after_its_grace_fails_the_queued_and_stops_the_running():
    backend = GateBackend()  # the gate never opens
    runner = Runner(backend, name="gate", max_queue=8)
    running, queued = runner.submit([work("a"), work("b")], deadline())
    backend.entered.wait(5)
    runner.close(grace_s=0.1)
    with pytest.raises(ModelUnavailable, match="unloaded before this request finished"):
        queued.result()
    with pytest.raises(ModelUnavailable, match="unloaded before this request finished"):
        running.result()
    assert backend.stop_seen.is_set()  # close() waited for the stopped worker


def test_submit_racing_close_never_leaves_a_caller_waiting():
    """Many callers submit while the runner closes: each gets an answer or a clear refusal, none hangs."""
    backend = GateBackend(max_batch=4, workers=2)
    backend.gate.set()
    runner = Runner(backend, name="gate", max_queue=1000)
    outcomes: list[str] = []
    served = threading.Event()

    def caller(i: int) -> None:
        for j in range(200):
            try:
                outcomes.append(runner.submit([work(f"{i}-{j}")], deadline())[0].result().text and "ok")
                served.set()
            except (RunnerClosed, ModelUnavailable) as exc:
                outcomes.append(type(exc).__name__)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(caller, i) for i in range(8)]
        assert served.wait(10)
        runner.close(grace_s=5)
        for future in futures:
            future.result(timeout=30)  # raises TimeoutError if a caller hung
    assert len(outcomes) == 8 * 200 and "ok" in outcomes and "RunnerClosed" in outcomes


def test_a_request_goes_before_the_job_pages_that_wait(make):
    backend = GateBackend(max_batch=2)
    runner = make(backend)
    running = runner.submit([work("job-1")], deadline(), background=True)
    assert backend.entered.wait(10)  # job-1 runs (held at the gate)
    waiting = runner.submit([work(f"job-{n}") for n in range(2, 6)], deadline(), background=True)
    [request] = runner.submit([work("request")], deadline())
    backend.gate.set()
    for ticket in [*running, *waiting, request]:
        ticket.future.result(timeout=10)
    order = [label for batch in backend.batches for label in batch]
    assert order.index("request") <= 2, backend.batches  # in the first batch after the running one, not after 4 pages
    assert backend.batches[1][0] == "request", backend.batches
