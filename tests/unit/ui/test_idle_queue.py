"""The assembled app's Gradio queue: up to 16 UI events at once, and an idle server stays idle (the queue polls for
events every 50 ms and for progress every 100 ms, not every 1 ms and 10 ms: ~5% of a core for a server nobody uses)."""

from __future__ import annotations

import inspect

from gradio import queueing

from ui import PROGRESS_POLL_S, QUEUE_POLL_S


def test_the_knobs_set_are_the_ones_gradio_reads():
    assert "self.sleep_when_free" in inspect.getsource(queueing.Queue.start_processing)
    assert "self.progress_update_sleep_when_free" in inspect.getsource(queueing.Queue.start_progress_updates)


def test_the_assembled_apps_queue_polls_gently(app):
    blocks = next(route.app.blocks for route in app.routes if hasattr(getattr(route, "app", None), "blocks"))
    assert blocks._queue.sleep_when_free == QUEUE_POLL_S >= 0.05
    assert blocks._queue.progress_update_sleep_when_free == PROGRESS_POLL_S >= 0.1


def test_the_ui_events_run_up_to_sixteen_at_once(app):
    """The queue is set up before the UI is built (build_ui): its limit still reaches every event declared after it."""
    blocks = next(route.app.blocks for route in app.routes if hasattr(getattr(route, "app", None), "blocks"))
    defaults = [fn for fn in blocks.fns.values() if fn.queue and fn.concurrency_limit == "default"]
    assert len(defaults) >= 5  # the OCR, Chat and Batch tabs' events
    for fn in defaults:
        blocks._queue.create_event_queue_for_fn(fn)  # what Gradio does when such an event is queued
        assert blocks._queue.event_queue_per_concurrency_id[fn.concurrency_id].concurrency_limit == 16, fn.name
