"""The bounds of Gradio's queue in all (ui/queue_bounds.py) on a real Gradio app's queue: a few clients at their share
of large bodies kept every other client's data: URL and MCP calls out (503 'queue is full', with the queue nearly
empty); now only a large body is refused for the bytes held in all, and with its own reason."""

from __future__ import annotations

import gradio as gr

from ui.queue_bounds import ALL_BODIES, CLIENT_BODIES, QueueBounds

MAX_FILE = 20 * 1024 * 1024


def test_a_few_clients_large_bodies_do_not_keep_the_others_calls_out():
    with gr.Blocks() as blocks:
        gr.Markdown("x")
    bounds = QueueBounds(blocks, MAX_FILE)
    for n in range(4):  # four clients, each at its share of bodies (direct calls running)
        bounds.unqueued += [(f"key-{n}", bounds.largest)] * CLIENT_BODIES
    assert bounds.check("victim", 3 * 2**20) is None  # an MCP message, a photo as a data: URL (was: 503)
    assert bounds.check("victim", bounds.largest) is None  # even a largest body
    clients = ALL_BODIES // CLIENT_BODIES
    for n in range(4, clients):
        bounds.unqueued += [(f"key-{n}", bounds.largest)] * CLIENT_BODIES
    status, detail = bounds.check("victim", bounds.largest)  # the bytes held in all bound the large bodies...
    assert status == 503 and "request bodies" in detail and "queue is full" not in detail, detail
    assert bounds.check("victim", 3 * 2**20) is None  # ...not the others
    status, detail = bounds.check("key-0", 1000)  # a client at its share: its own bound
    assert status == 429 and "would pass" in detail, detail
