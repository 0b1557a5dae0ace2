"""The bounds of Gradio's queue in all (ui/queue_bounds.py) on a real Gradio app's queue: a few clients at their share
of large bodies kept every other client's data: URL and MCP calls out (503 'queue is full', with the queue nearly
empty); now only a large body is refused for the bytes held in all, and with its own reason."""

from __future__ import annotations

import gradio as gr

from inference.limit_settings import LimitSettings
from ui.queue_bounds import ALL_BODIES, CLIENT_BODIES, QueueBounds

LARGEST = LimitSettings(max_file_bytes=20 * 1024 * 1024).data_url_bytes  # a Gradio call's largest body


def test_a_few_clients_large_bodies_do_not_keep_the_others_calls_out():
    with gr.Blocks() as blocks:
        gr.Markdown("x")
    bounds = QueueBounds(blocks, LARGEST)
    for n in range(4):  # four clients, each at its share of bodies (direct calls running)
        bounds.unqueued += [(f"key-{n}", bounds.largest, False, None)] * CLIENT_BODIES
    assert bounds.check("victim", 3 * 2**20) is None  # an MCP message, a photo as a data: URL (was: 503)
    assert bounds.check("victim", bounds.largest) is None  # even a largest body
    clients = ALL_BODIES // CLIENT_BODIES
    for n in range(4, clients):
        bounds.unqueued += [(f"key-{n}", bounds.largest, False, None)] * CLIENT_BODIES
    status, detail = bounds.check("victim", bounds.largest)  # the bytes held in all bound the large bodies...
    assert status == 503 and "request bodies" in detail and "queue is full" not in detail, detail
    assert bounds.check("victim", 3 * 2**20) is None  # ...not the others
    status, detail = bounds.check("key-0", 1000)  # a client at its share: its own bound
    assert status == 503 and "This client's calls already carry" in detail, detail


def test_the_waiting_events_refuse_joins_not_direct_calls():
    """Seven keys' 12 cheap joins each filled the 64 waiting places, and then every direct call (/run, MCP) was refused
    too, though a direct call takes no place in the queue."""
    with gr.Blocks() as blocks:
        gr.Markdown("x")
    bounds = QueueBounds(blocks, LARGEST, waiting_events=0)  # (as if the waiting places were all taken)
    assert bounds.check("victim", 1000, joining=True)[0] == 503
    assert bounds.check("victim", 1000) is None  # (was: 503)


def test_following_a_job_has_its_own_places_and_a_few_for_each_client(app):
    """A job's followers wait on it as long as it takes: two clients' 12 followers each kept a third's waiting (16 at
    once); without a limit, four clients' followers took all of Gradio's 40 events at once and every other event
    waited. They share their own 16 places, a client holding 4; the events that read pages keep their own."""
    from ui.queue_bounds import FOLLOWING, FOLLOWS_PER_CLIENT

    blocks = next(route.app.blocks for route in app.routes if hasattr(getattr(route, "app", None), "blocks"))
    fns = {fn.name: fn for fn in blocks.fns.values()}
    for name in ("follow_batch_job", "follow_for_ui"):
        assert (fns[name].concurrency_id, fns[name].concurrency_limit) == (FOLLOWING, 16), name
    assert fns["batch_ocr"].concurrency_limit == fns["batch_for_ui"].concurrency_limit == "default"
    bounds = QueueBounds(blocks, LARGEST)
    bounds.unqueued += [("follower", 300, True, FOLLOWING)] * FOLLOWS_PER_CLIENT
    status, detail = bounds.check("follower", 300, joining=True, concurrency=FOLLOWING)
    assert status == 503 and f"already follows {FOLLOWS_PER_CLIENT} jobs" in detail, detail
    assert bounds.check("follower", 300, joining=True, concurrency="ocr") is None  # (its other events: in)
    assert bounds.check("another", 300, joining=True, concurrency=FOLLOWING) is None


def test_the_bounds_are_checked_before_the_file_inputs(app):
    """The bounds wrap Gradio's calls last, so they refuse a call before the file inputs' guard checks (and, when the
    server fetches URLs, fetches) its files: a refused call fetched and kept its URLs' files first. Only a session of
    another key is refused before them (ui.session_owners: no work, nothing held)."""
    blocks = next(route.app.blocks for route in app.routes if hasattr(getattr(route, "app", None), "blocks"))
    assert blocks.process_api.__code__.co_name == "owned_process_api"
    bounded = blocks.process_api.__wrapped__
    assert bounded.__code__.co_name == "bounded_process_api"
    assert bounded.__wrapped__.__code__.co_name == "process_api"  # (ui.files' guard, inside it)
    assert bounded.__wrapped__.__code__.co_filename.endswith("files.py")


def test_a_clients_queued_events_and_direct_calls_are_bounded_apart():
    """A client at its share of the queue still gets the UI's own quick events (direct calls) in; its direct calls
    have their own bound (40 direct follow_job calls were held at once)."""
    from ui.queue_bounds import DIRECT_PER_CLIENT, EVENTS_PER_CLIENT

    with gr.Blocks() as blocks:
        gr.Markdown("x")
    bounds = QueueBounds(blocks, LARGEST)
    bounds.unqueued += [("queued", 300, True, "x")] * EVENTS_PER_CLIENT + [("direct", 300, False, None)] * DIRECT_PER_CLIENT
    assert bounds.check("queued", 300) is None  # a quick direct call
    status, detail = bounds.check("queued", 300, joining=True)
    assert status == 503 and "already has 12 events in the queue" in detail, detail
    status, detail = bounds.check("direct", 300)
    assert status == 503 and f"already has {DIRECT_PER_CLIENT} calls running" in detail, detail
    assert bounds.check("direct", 300, joining=True) is None


def request_from(host: str):
    from starlette.requests import Request

    return Request({"type": "http", "method": "POST", "path": "/gradio_api/queue/join", "headers": [], "client": (host, 1)})


def event_types(*names: str) -> tuple[gr.Blocks, list]:
    """A Gradio app with an event of each of these types (concurrency ids; 3 places each), and its queue made for
    them; (the app, the events' functions)."""
    with gr.Blocks() as blocks:
        button, out = gr.Button(), gr.Textbox()
        for name in names:
            button.click(lambda: "x", None, out, concurrency_limit=3, concurrency_id=name)
    fns = list(blocks.fns.values())
    for fn in fns:
        blocks._queue.create_event_queue_for_fn(fn)
    return blocks, fns


def test_the_next_event_to_run_is_taken_in_turns_between_clients():
    """Gradio runs a type of event's waiting events first come first served: one client's many long events kept
    another client's next one waiting behind all of them. The next now goes to the client with the fewest running."""
    from gradio.queueing import Event

    blocks, (fn,) = event_types("work")
    queue = blocks._queue
    kind = queue.event_queue_per_concurrency_id["work"]
    flood, other, third = (request_from(host) for host in ("10.0.0.1", "10.0.0.2", "10.0.0.3"))
    running = [Event(None, fn, flood, None) for _ in range(2)]
    queue.active_jobs = [[event] for event in running] + [None] * 38
    kind.current_concurrency = 2  # (two of its three places taken by the flooding client)
    waiting = [Event(None, fn, flood, None) for _ in range(5)] + [Event(None, fn, other, None), Event(None, fn, third, None)]
    kind.queue = list(waiting)
    original = queue.get_events
    QueueBounds(blocks, LARGEST).install()
    events, _, _ = queue.get_events()
    assert events == [waiting[5]]  # the other client's event (first come first served: the flooder's sixth)
    queue.active_jobs[2] = events
    kind.current_concurrency = 2  # (as if one of the flooder's had ended: a place free again)
    assert queue.get_events()[0] == [waiting[6]]  # the third client's, then...
    queue.active_jobs[3] = [waiting[6]]
    kind.current_concurrency = 2
    assert queue.get_events()[0] == [waiting[0]]  # ...the flooder's earliest, each client having one running or more
    kind.queue = list(waiting)
    kind.current_concurrency = 3  # (no place free: nothing is taken, and the waiting events stay as they came)
    assert queue.get_events() is None and kind.queue == waiting
    assert original is not queue.get_events


def test_a_request_the_turns_cannot_read_leaves_the_queue_first_come_first_served(caplog):
    """The turns are taken inside Gradio's loop that starts every event: an error there would stop the whole queue."""
    from gradio.queueing import Event

    class Unreadable:  # (a request whose state cannot be read)
        @property
        def scope(self):
            raise RuntimeError("unreadable")

    blocks, (fn,) = event_types("work")
    queue = blocks._queue
    queue.active_jobs = [None] * 40
    waiting = [Event(None, fn, Unreadable(), None), Event(None, fn, request_from("10.0.0.2"), None)]
    queue.event_queue_per_concurrency_id["work"].queue = list(waiting)
    QueueBounds(blocks, LARGEST).install()
    assert queue.get_events()[0] == [waiting[0]]
    assert "could not take its events in turns" in caplog.text


def test_turns_count_a_clients_events_of_the_same_type_and_leave_the_order_of_those_not_taken():
    """A client's follows (another type, waiting on jobs) do not hold back its other events; and an event brought to
    the front of its type but not taken (Gradio took another type's) goes back to its place among those that came."""
    from gradio.queueing import Event

    blocks, (work, other) = event_types("work", "other")
    queue = blocks._queue
    follower, newcomer = request_from("10.0.0.1"), request_from("10.0.0.2")
    queue.active_jobs = [[Event(None, other, follower, None)] for _ in range(2)] + [None] * 38  # (its 2 of "other")
    works = [Event(None, work, follower, None), Event(None, work, newcomer, None)]
    queue.event_queue_per_concurrency_id["work"].queue = list(works)
    QueueBounds(blocks, LARGEST).install()
    assert queue.get_events()[0] == [works[0]]  # (counting every type, the newcomer's would have gone first)

    queue.active_jobs = [[Event(None, work, follower, None)]] + [None] * 39  # (the follower has one of "work" running)
    works = [Event(None, work, follower, None), Event(None, work, follower, None), Event(None, work, newcomer, None)]
    others = [Event(None, other, newcomer, None)]
    queue.event_queue_per_concurrency_id["work"].queue = list(works)
    queue.event_queue_per_concurrency_id["other"].queue = list(others)
    for _ in range(20):  # (Gradio looks at the types in a random order)
        taken = queue.get_events()[0]
        if taken == others:
            assert queue.event_queue_per_concurrency_id["work"].queue == works  # (the newcomer's went back to its place)
            return
        assert taken == [works[2]]
        queue.event_queue_per_concurrency_id["work"].queue = list(works)
        queue.event_queue_per_concurrency_id["other"].queue = list(others)
    raise AssertionError("Gradio never took the other type's event")
