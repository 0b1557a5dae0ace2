"""A job's client told of its progress instead of polling: live page events (GET /jobs/{id}/events, server-sent
events) through a slow client and a late one (with and without Last-Event-ID), and a signed webhook (callback_url)
to a real receiver on loopback (the address guard opened by configuration) that verifies the signature and fails
the first two attempts. One real server with keys on (issue 20, points 2 and 3)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.e2e.test_jobs import scanned, wait_for
from tests.helpers import encode, render_lines
from tests.security.conftest import KEYS, OTHER, USER, live

SECRET = "test-callback-secret-0123456789"


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def server(settings, tmp_path_factory):
    jobs = {"callback_secret": SECRET, "callback_allow_private": True, "callback_backoff_s": 0.3}
    data = {"data_dir": str(tmp_path_factory.mktemp("events-data"))}
    with live(settings, auth={"api_keys": KEYS}, jobs=jobs, server=data) as (client, service):
        yield client


def events(lines, pause: float = 0.0):
    """(event, data, id) of each server-sent event in a stream's ``lines``, read ``pause`` seconds apart (a slow
    client)."""
    event, data, event_id = None, [], None
    for line in lines:
        if line.startswith(":") or line.startswith("retry:"):
            continue
        if line == "":
            if event is not None:
                yield event, json.loads("\n".join(data)), event_id
                time.sleep(pause)
            event, data, event_id = None, [], None
        else:
            field, _, value = line.partition(": ")
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
            elif field == "id":
                event_id = int(value)


def stream(client: httpx.Client, job_id: str, key: str = USER, pause: float = 0.0, **headers) -> list:
    with client.stream("GET", f"/jobs/{job_id}/events", headers={**auth(key), **headers}, timeout=60) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        return list(events(response.iter_lines(), pause))


def submit(client: httpx.Client, content: bytes, name: str = "a.pdf", key: str = USER, **data) -> dict:
    response = client.post("/jobs", files=[("files", (name, content))], data=data, headers=auth(key))
    assert response.status_code == 202, response.text
    return response.json()


@pytest.fixture(scope="module")
def six_pages(server) -> tuple[str, list]:
    """A 6-page scanned job followed from its submit to its end by a client that reads one event per 0.2 s."""
    job = submit(server, scanned(6, 24))
    return job["id"], stream(server, job["id"], pause=0.2)


def test_a_slow_client_gets_every_page_once_in_order_then_the_end(server, six_pages):
    job_id, seen = six_pages
    names = [event for event, _, _ in seen]
    assert names[0] == "state" and seen[0][1]["state"] in ("queued", "running"), seen[0]  # it followed the job live
    assert names[-1] == "end" and names.count("end") == 1, names
    assert seen[-1][1] == {
        "state": "done",
        "pages_done": 6,
        "pages_total": 6,
        "error": None,
        "result_url": f"/jobs/{job_id}/result",
    }
    pages = [(data, event_id) for event, data, event_id in seen if event == "page"]
    assert sorted(data["page"] for data, _ in pages) == [1, 2, 3, 4, 5, 6]  # each page once
    ids = [event_id for _, event_id in pages]
    assert ids == sorted(ids) == [data["pages_done"] for data, _ in pages] and ids[-1] == 6
    for data, _ in pages:
        assert data["file"] == "a.pdf" and data["pages_total"] == 6 and data["error"] is None
        assert f"page {data['page']} of the annual" in data["text"].lower(), data
    states = [data["state"] for event, data, _ in seen if event == "state"]
    assert states == sorted(set(states), key=["queued", "running"].index)  # each change once, in order


def test_a_late_client_gets_the_pages_already_read_or_only_those_after_last_event_id(server, six_pages):
    job_id, live_events = six_pages
    pages = {event_id: data for event, data, event_id in live_events if event == "page"}
    late = stream(server, job_id)
    assert [event for event, _, _ in late] == ["page"] * 6 + ["end"]  # ended already: no state event, every page
    assert {event_id: data for event, data, event_id in late if event == "page"} == pages
    after = stream(server, job_id, **{"Last-Event-ID": "4"})
    assert [(event, event_id) for event, _, event_id in after] == [("page", 5), ("page", 6), ("end", None)]
    assert [data for _, data, _ in after[:2]] == [pages[5], pages[6]]
    with server.stream("GET", f"/jobs/{job_id}/events", params={"after": 5}, headers=auth(USER)) as response:
        assert [event_id for _, _, event_id in events(response.iter_lines())] == [6, None]


def test_events_follow_the_owner_rule_and_a_deleted_job_ends_its_streams(server):
    job = submit(server, scanned(40, 24), "long.pdf")
    assert server.get(f"/jobs/{job['id']}/events", headers=auth(OTHER)).status_code == 404  # another key's job
    assert server.get("/jobs/0123abcd/events", headers=auth(USER)).status_code == 404
    assert server.get(f"/jobs/{job['id']}/events").status_code == 401
    url = f"/jobs/{job['id']}/events"
    with httpx.Client(base_url=str(server.base_url), timeout=60) as other:
        opened = []
        try:
            for _ in range(8):  # the most one key may hold open
                response = other.send(other.build_request("GET", url, headers=auth(USER)), stream=True)
                lines = response.iter_lines()
                opened.append((response, lines))
                assert response.status_code == 200 and next(lines) == "retry: 2000"  # the stream is counted now
            ninth = server.get(url, headers=auth(USER))
            assert ninth.status_code == 429 and "streams" in ninth.json()["detail"] and ninth.headers["Retry-After"]
            assert server.delete(f"/jobs/{job['id']}", headers=auth(USER)).status_code == 200
            for _, lines in opened:
                tail = list(events(lines))
                assert tail[-1][0] == "end" and tail[-1][1]["state"] == "cancelled", tail[-1]
        finally:
            for response, _ in opened:
                response.close()
    assert server.get(url, headers=auth(USER)).status_code == 404


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver: answers 500 to the first two calls, then 200; keeps what it was sent."""

    calls: list[tuple[float, dict, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.calls.append((time.monotonic(), dict(self.headers), body))
        self.send_response(500 if len(self.calls) <= 2 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def verify(secret: str, header: str, body: bytes, tolerance_s: int = 300) -> bool:
    """The README's check of X-ChatVLM-Signature (the same lines)."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", "")) and abs(time.time() - int(parts["t"])) <= tolerance_s


def test_a_signed_callback_is_retried_until_it_is_answered_2xx(server):
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        hook = f"http://127.0.0.1:{receiver.server_address[1]}/hooks/ocr?token=abc"
        job = submit(server, encode(render_lines(["Callback 42"])), "note.png", callback_url=hook)
        assert job["callback"] == {
            "attempts": 0,
            "last_status": None,
            "last_error": None,
            "delivered": False,
            "next_attempt_at": None,
        }
        done = wait_for(
            lambda: server.get(f"/jobs/{job['id']}", headers=auth(USER)).json(), lambda b: b["callback"]["delivered"], 30
        )
        assert done["callback"] == {**done["callback"], "attempts": 3, "last_status": 200, "next_attempt_at": None}
        calls = Receiver.calls
        assert len(calls) == 3  # two failures, one success, and no more
        for _, headers, body in calls:
            assert verify(SECRET, headers["X-ChatVLM-Signature"], body), headers
            assert not verify("another-secret-0123456789", headers["X-ChatVLM-Signature"], body)
            assert headers["Content-Type"] == "application/json"
            assert json.loads(body) == {
                "id": job["id"],
                "state": "done",
                "pages_done": 1,
                "pages_total": 1,
                "result_url": f"/jobs/{job['id']}/result",
            }
        gaps = [b[0] - a[0] for a, b in zip(calls, calls[1:], strict=False)]
        assert gaps[0] >= 0.3 and gaps[1] >= 0.6, gaps  # backoff: callback_backoff_s, then twice it
    finally:
        receiver.shutdown()
        receiver.server_close()


def test_a_bad_callback_url_is_refused_at_submit(server):
    png = encode(render_lines(["x"]))
    for url, expected in [
        ("ftp://example.com/hook", "http:// or https://"),
        ("http://user:secret@example.com/hook", "user name or password"),
        ("not a url at all", "http:// or https://"),
        ("http://example.com/" + "a" * 2100, ""),
    ]:
        response = server.post("/jobs", files=[("files", ("a.png", png))], data={"callback_url": url}, headers=auth(USER))
        assert response.status_code in (400, 422) and expected in response.text, (url, response.text)
        assert "user:secret" not in response.text  # a URL's password is never echoed
