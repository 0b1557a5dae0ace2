"""An idle server stays idle: the Gradio queue of the assembled app polls for events every 50 ms and for progress every
100 ms, not every 1 ms and 10 ms (~5% of a core for a server nobody uses)."""

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
