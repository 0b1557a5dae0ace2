"""Gradio's event queue holds a bounded number of a client's events, and a bounded number of their bytes: one key
joined 150 ``ocr`` events (all 200) and kept another key's call behind all of them for 189 s, and 40 joins carrying
25 MB each held 2 GB while they waited (ui/queue_bounds.py). The events here wait at a gate model (tests/
gate_backend.py), as events wait behind slow work, without costing the machine anything meanwhile."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import uuid

import httpx
import numpy as np
import pytest
from PIL import Image

from inference import backends
from inference.settings import ModelSpec
from tests.helpers import ENGLISH, encode, render_lines
from tests.polling import loaded_backend, wait_until
from tests.security.conftest import ADMIN, KEYS, OTHER, USER, live
from tests.security.gradio_calls import file_data, fn_index, queue, run, upload
from ui.batch_tab import JOB_PAGES
from ui.queue_bounds import EVENTS_PER_CLIENT, FOLLOWS_PER_CLIENT, UI_EVENTS_AT_ONCE

MAX_FILE = 1024 * 1024  # limits.max_file_bytes here: a client's events carry 2 x 2.33 MiB at most


@pytest.fixture
def gated(settings, monkeypatch):
    """The settings with a gate model: its pages wait until the test opens its gate."""
    monkeypatch.setitem(backends._BACKENDS, "gate", "tests.gate_backend:ConfiguredGate")
    settings = settings.model_copy(deep=True)
    settings.models.append(ModelSpec(id="gate", name="Gate", backend="gate", tasks=["ocr"]))
    return settings


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def noise_png(side: int) -> bytes:
    """A PNG that does not compress: ~3 bytes a pixel."""
    pixels = np.random.default_rng(side).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def join(client, index: int, data: list, headers: dict, chunked: bool = False, session: str | None = None):
    """Joins the queue for event ``index`` (and never listens, unless the caller opens ``session``'s stream: the event
    runs anyway); ``chunked``: the body is sent without a Content-Length."""
    session = session or uuid.uuid4().hex[:12]
    body = {"data": data, "fn_index": index, "session_hash": session, "event_data": None, "trigger_id": None}
    content = json.dumps(body).encode()
    sent = iter([content]) if chunked else content
    headers = {**headers, "Content-Type": "application/json"}
    return client.post("/gradio_api/queue/join", content=sent, headers=headers)


def submitted(client, headers: dict) -> str:
    """A one-page job on the gate model, submitted; its id."""
    page = encode(render_lines(["a page"], font_size=24))
    job = client.post("/jobs", files={"files": ("p.png", page, "image/png")}, data={"model": "gate"}, headers=headers)
    assert job.status_code in (200, 202), job.text
    return job.json()["id"]


def at_the_gate(client, service, headers: dict) -> str:
    """A one-page job whose page waits at the gate model's gate; its id."""
    job_id = submitted(client, headers)
    assert wait_until(lambda: loaded_backend(service.manager, "gate") is not None, 30)
    assert loaded_backend(service.manager, "gate").entered.wait(30)
    return job_id


def test_a_client_holds_a_bounded_share_of_the_ui_queue(gated):
    flooder, heavy, victim = ({"Authorization": f"Bearer {key}"} for key in (USER, ADMIN, OTHER))
    small = data_url(encode(render_lines(["a page"], font_size=24)))
    big = data_url(noise_png(540))  # ~0.85 MiB of PNG, ~1.1 MiB as a data: URL
    assert 0.8 * MAX_FILE < len(big) * 3 / 4 < MAX_FILE
    limits = {"max_queue_per_model": 64, "max_file_bytes": MAX_FILE}  # (the gate model's runner holds every page)
    with live(gated, limits=limits, auth={"api_keys": KEYS}) as (client, service):
        tool = fn_index(client, "ocr_image", victim)  # the MCP tool's Gradio endpoint: takes a data: URL
        joins = [join(client, tool, [small, "gate", ""], flooder) for _ in range(EVENTS_PER_CLIENT + 4)]
        assert wait_until(lambda: loaded_backend(service.manager, "gate") is not None, 30)
        accepted = [r for r in joins if r.status_code == 200]
        refused = [r for r in joins if r.status_code != 200]
        assert len(accepted) == EVENTS_PER_CLIENT, [r.status_code for r in joins]  # (was: every join 200)
        assert {r.status_code for r in refused} == {503}, [r.text for r in refused]
        assert "already has 12 events in the queue" in refused[0].json()["detail"], refused[0].text
        assert refused[0].headers.get("retry-after", "").isdigit()
        status, text = run(client, "/gradio_api/run/batch_jobs", [], flooder)  # a quick call that skips the queue: in
        assert status == 200, (status, text)  # (the UI's own such events must not be refused by the queue's count)

        # another key's bodies, queued or called directly: four data: URLs of ~1.1 MiB (4.4 of 4.7 MiB) are held
        runner = service.manager.runner("gate")
        assert [join(client, tool, [big, "gate", ""], heavy).status_code for _ in range(2)] == [200, 200]
        direct = [threading.Thread(target=run, args=(client, "/gradio_api/run/ocr_image", [big, "gate", ""], heavy))]
        direct.append(threading.Thread(target=run, args=(client, "/gradio_api/run/ocr_image", [big, "gate", ""], heavy)))
        for thread in direct:
            thread.start()
        assert wait_until(lambda: runner.waiting == EVENTS_PER_CLIENT - 1 + 4, 30), runner.waiting  # (one at the gate)
        status, text = run(client, "/gradio_api/run/ocr_image", [big, "gate", ""], heavy)  # a fifth: refused
        assert status == 503 and "would pass 4.7 MiB" in text, (status, text)  # (was: 200 each, held in memory)
        assert join(client, tool, [big, "gate", ""], heavy).status_code == 503
        chunked = join(client, tool, [small, "gate", ""], heavy, chunked=True)  # counted as the bytes that came
        assert chunked.status_code == 200, chunked.text  # (not as the largest body: it would pass the bound)

        # a third key is not kept waiting behind them: its call is queued and answered
        page = data_url(encode(render_lines(ENGLISH[:2], font_size=28)))
        done = queue(client, tool, [page, "embedded", ""], victim)
        assert done["success"], done
        assert "Invoice number 4471" in done["output"]["data"][0], done["output"]

        loaded_backend(service.manager, "gate").gate.set()  # the held events run to their end...
        for thread in direct:
            thread.join(30)
        assert wait_until(lambda: join(client, tool, [small, "gate", ""], flooder).status_code == 200, 30)  # ...and free


def test_following_a_job_cancelled_meanwhile_is_a_409_without_a_traceback(gated, capsys):
    """A follower of a job cancelled while it followed got a 500 (the job's state) with a traceback printed, or a 404
    saying the job never existed (a cancel deletes it)."""
    owner = {"Authorization": f"Bearer {USER}"}
    with live(gated, auth={"api_keys": KEYS}) as (client, service):
        job_id = at_the_gate(client, service, owner)
        followed: list = []
        follower = threading.Thread(target=lambda: followed.append(run(client, "/gradio_api/run/follow_job", [job_id], owner)))
        follower.start()
        time.sleep(2.5)  # (the call has come, and the follower polled the running job: every 0.5 s)
        assert follower.is_alive()
        cancelled = client.delete(f"/jobs/{job_id}", headers=owner)
        assert cancelled.json()["state"] == "cancelled", cancelled.text
        follower.join(30)
        loaded_backend(service.manager, "gate").gate.set()
    status, text = followed[0]
    assert status == 409 and "was cancelled" in text, (status, text)
    assert "Traceback" not in capsys.readouterr().err


def test_following_a_job_that_failed_says_why_without_a_traceback(gated, capsys, monkeypatch):
    """A job whose model cannot load fails; its follower is told so (the job's error, not a 500 with a traceback)."""
    from tests.gate_backend import GateBackend

    monkeypatch.setattr(GateBackend, "load_error", "the gate model's weights are broken")
    owner = {"Authorization": f"Bearer {USER}"}
    with live(gated, auth={"api_keys": KEYS}) as (client, service):
        job_id = submitted(client, owner)
        status, text = run(client, "/gradio_api/run/follow_job", [job_id], owner)
        assert client.get(f"/jobs/{job_id}", headers=owner).json()["state"] == "failed"
    assert "The job failed" in text and "weights are broken" in text, (status, text)
    assert "Traceback" not in text and "Traceback" not in capsys.readouterr().err


def test_a_follower_that_left_gives_its_place_back(gated, monkeypatch):
    """A follow whose browser tab closed (its stream of the queue closed) held its place while the job ran: after as
    many reloads as a client's follows, the user's own Follow was refused (503) until the job ended."""
    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "0.25")  # (Gradio sees a stream closed at its next message)
    owner = {"Authorization": f"Bearer {USER}"}
    with live(gated, auth={"api_keys": KEYS}) as (client, service):
        job_id = at_the_gate(client, service, owner)
        index = fn_index(client, "follow_job", owner)
        for _ in range(FOLLOWS_PER_CLIENT):  # a tab follows the job, and is closed once its follow runs
            session = uuid.uuid4().hex[:12]
            assert join(client, index, [job_id], owner, session=session).status_code == 200
            with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}, headers=owner) as stream:
                assert any("process_starts" in line for line in stream.iter_lines())
        assert wait_until(lambda: join(client, index, [job_id], owner).status_code == 200, 10)  # (was: 503 to the end)
        assert client.get(f"/jobs/{job_id}", headers=owner).json()["state"] == "running"  # (only its following ended)
        loaded_backend(service.manager, "gate").gate.set()


def test_a_batch_ocr_call_given_up_cancels_its_job(gated):
    """/batch_ocr's long batch runs as a job, which a call given up cancels (as its documentation says): a direct call
    whose connection closed left its job to run to its end, for nobody."""
    owner = {"Authorization": f"Bearer {USER}"}
    pages = [render_lines([f"page {n}"], font_size=24) for n in range(JOB_PAGES + 1)]
    pdf = io.BytesIO()
    pages[0].save(pdf, format="PDF", save_all=True, append_images=pages[1:])
    with live(gated, auth={"api_keys": KEYS}) as (client, service):
        uploaded = upload(client, "long.pdf", pdf.getvalue(), owner)
        assert uploaded.status_code == 200, uploaded.text
        data = [[file_data(uploaded.json()[0])], "gate", ""]
        before = {job["id"] for job in client.get("/jobs", headers=owner).json()["jobs"]}  # (earlier tests' jobs)
        with httpx.Client(base_url=str(client.base_url), timeout=3) as impatient, pytest.raises(httpx.ReadTimeout):
            impatient.post("/gradio_api/run/batch_ocr", json={"data": data}, headers=owner)  # (gives up after 3 s)
        made = [job["id"] for job in client.get("/jobs", headers=owner).json()["jobs"] if job["id"] not in before]
        assert len(made) == 1, made  # (the call had made its job)
        assert wait_until(lambda: client.get(f"/jobs/{made[0]}", headers=owner).status_code == 404, 10)  # (was: ran on)
        loaded_backend(service.manager, "gate").gate.set()


def test_a_place_that_frees_goes_to_the_client_with_the_fewest_events_running(gated):
    """Gradio took each type of event's waiting events first come first served: two clients' long events filled an
    event's 16 places and its queue, and a third client's event waited behind all of theirs. The queue now takes them
    in turns between clients (ui.queue_bounds.in_turns)."""
    flooder, second, third = ({"Authorization": f"Bearer {key}"} for key in (USER, ADMIN, OTHER))
    small = data_url(encode(render_lines(["a page"], font_size=24)))
    with live(gated, limits={"max_queue_per_model": 64}, auth={"api_keys": KEYS}) as (client, service):
        tool = fn_index(client, "ocr_image", third)

        def joined(data: list, headers: dict) -> tuple[str, str]:
            session = uuid.uuid4().hex[:12]
            response = join(client, tool, data, headers, session=session)
            assert response.status_code == 200, response.text
            return session, response.json()["event_id"]

        floods = [joined([small, "gate", ""], flooder) for _ in range(EVENTS_PER_CLIENT)]
        assert wait_until(lambda: loaded_backend(service.manager, "gate") is not None, 30)
        runner = service.manager.runner("gate")
        assert wait_until(lambda: runner.waiting == EVENTS_PER_CLIENT - 1, 30)  # (all running: one at the gate)
        for _ in range(EVENTS_PER_CLIENT):
            joined([small, "gate", ""], second)
        assert wait_until(lambda: runner.waiting == UI_EVENTS_AT_ONCE - 1, 30)  # (the event's 16 places taken)
        session, _ = joined([data_url(encode(render_lines(ENGLISH[:2], font_size=28))), "embedded", ""], third)
        done: list = []

        def listen() -> None:
            with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}, headers=third) as stream:
                for line in stream.iter_lines():
                    if line.startswith("data:") and json.loads(line[5:]).get("msg") == "process_completed":
                        done.append(json.loads(line[5:]))
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        cancelled = client.post(  # one of the flooder's events ends: its place frees
            "/gradio_api/cancel", json={"session_hash": floods[0][0], "fn_index": tool, "event_id": floods[0][1]}, headers=flooder
        )
        assert cancelled.status_code == 200, cancelled.text
        listener.join(30)  # (was: the second client's next event took the place, and this one waited at the gate)
        loaded_backend(service.manager, "gate").gate.set()
    assert done and done[0]["success"], done
    assert "Invoice number 4471" in done[0]["output"]["data"][0], done
