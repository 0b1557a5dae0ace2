"""Small holes (issue 17, point 9): a cancel racing the job worker, Gradio's /call/v2 with an ordinary body, HEAD on
the REST routes, and a parameter given in both the query string and the form."""

from __future__ import annotations

import logging
import time

import pytest

from inference.job_store import JobStore, database_url
from tests.helpers import ENGLISH, encode, render_lines, text_pdf
from tests.security.conftest import ADMIN, USER, live

PNG = encode(render_lines(ENGLISH[:1]))
PDF = text_pdf([["Invoice number 4471 dated March 12"]], font_size=14)


def wait_for(what, timeout_s: float = 60.0, every_s: float = 0.05):
    """Poll until ``what()`` is truthy (bounded); its last value."""
    deadline = time.monotonic() + timeout_s
    while not (value := what()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every_s)
    return value


def problems(caplog) -> list[str]:
    """Tracebacks and errors the server logged."""
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# ---- a) a cancel racing the job worker ---------------------------------------------------------------------------
def test_a_cancel_while_the_workers_read_the_jobs_pages_is_quiet(settings, tmp_path, caplog):
    # A job left queued by an earlier run (as a restart finds it): the restarted server opens it and reads its pages
    # on several threads; the cancel lands while pages are being read (and others wait), and nothing complains.
    from tests.e2e.test_jobs import scanned

    job_id = "0123456789abcdef0123456789abcdef"
    store = JobStore(database_url(tmp_path))
    store.add(job_id, None, "embedded", None, None, False, [("long.pdf", scanned(12, 24)), ("two.png", PNG)])
    store.close()
    with live(settings, server={"data_dir": str(tmp_path)}) as (client, _):
        wait_for(lambda: client.get(f"/jobs/{job_id}").json().get("pages_done", 0) >= 1, 60)
        cancelled = client.delete(f"/jobs/{job_id}")
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled", cancelled.text
        assert cancelled.json()["pages_done"] < 13  # it was cancelled mid-way
        after = client.post("/jobs", files=[("files", ("after.png", b"not an image", "image/png"))]).json()["id"]
        wait_for(lambda: client.get(f"/jobs/{after}").json()["state"] in ("done", "failed"), 120, 0.2)
        assert client.get(f"/jobs/{after}").json()["state"] == "done"  # the workers live and went on
        assert client.get(f"/jobs/{job_id}").status_code == 404
    assert problems(caplog) == []


# ---- b) Gradio's /call/v2 with a body it cannot use --------------------------------------------------------------
BAD_CALLS = [
    ("/gradio_api/call/v2/ocr", {"data": ["x", "embedded", ""]}, 400),
    ("/gradio_api/call/v2/ocr/", {"junk": 1}, 400),
    ("/gradio_api/call/v2/ocr", {}, 400),
    ("/gradio_api/call/v2/no_such_endpoint", {"data": []}, 404),
    ("/gradio_api/call/no_such_endpoint", {"data": []}, 404),
]


@pytest.mark.parametrize("keys", [False, True])
def test_gradio_calls_with_an_unusable_body_get_a_clear_4xx(open_server, keyed_client, keys, caplog):
    client = keyed_client if keys else open_server
    headers = {"Authorization": f"Bearer {USER}"} if keys else {}
    for path, body, status in BAD_CALLS:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == status, (path, body, response.text)
        detail = response.json()["detail"]
        assert isinstance(detail, str) and "Traceback" not in detail and "/usr" not in detail
    assert "named parameters" in client.post(*BAD_CALLS[0][:1], json=BAD_CALLS[0][1], headers=headers).json()["detail"]
    # the same endpoint with its named parameters is still Gradio's to answer
    good = client.post("/gradio_api/call/v2/models", json={}, headers=headers)
    assert good.status_code == 200 and "event_id" in good.json()
    assert problems(caplog) == []


# ---- c) HEAD wherever GET is answered ------------------------------------------------------------------------------
def get_paths(client) -> list[str]:
    paths = client.get("/openapi.json").json()["paths"]
    return [path.replace("{", "").replace("}", "") for path, ops in paths.items() if "get" in ops] + ["/docs"]


def test_head_is_answered_like_get_on_every_rest_route(open_server):
    client = open_server
    paths = get_paths(client)
    assert "/metrics" in paths and "/health" in paths and "/models" in paths
    for path in paths:
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code, (path, head.status_code, got.status_code)
        assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"], path
    refused = client.put("/metrics")
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET, HEAD"


def test_head_keeps_gets_access_rules_with_keys_on(keyed_client):
    client = keyed_client
    assert client.head("/metrics").status_code == 401
    assert client.head("/metrics", headers={"Authorization": f"Bearer {USER}"}).status_code == 403
    assert client.head("/metrics", headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200
    assert client.head("/health").status_code == 200


# ---- d) a parameter in both the query string and the form --------------------------------------------------------
def test_a_parameter_in_both_places_takes_the_form_value(open_server):
    client = open_server
    pdf = {"file": ("contract.pdf", PDF, "application/pdf")}
    read = client.post(
        "/ocr",
        params={"force_ocr": "true", "model": "no-such-model"},
        files=pdf,
        data={"force_ocr": "false", "model": "embedded"},
    )
    assert read.status_code == 200, read.text
    assert read.json()["model"] == "embedded" and read.json()["pages"][0]["source"] == "text-layer"
    same = client.post("/ocr", params={"force_ocr": "false"}, files=pdf, data={"force_ocr": "false"})
    assert same.status_code == 200 and same.json()["pages"][0]["source"] == "text-layer"
    batch = client.post(
        "/batch/ocr",
        params={"force_ocr": "true", "language": "ru"},
        files=[("files", ("contract.pdf", PDF, "application/pdf"))],
        data={"force_ocr": "false", "language": "en"},
    )
    assert batch.status_code == 200 and batch.json()["results"][0]["pages"][0]["source"] == "text-layer"
    job = client.post(
        "/jobs",
        params={"force_ocr": "true", "model": "no-such-model"},
        files=[("files", ("contract.pdf", PDF, "application/pdf"))],
        data={"force_ocr": "false", "model": "embedded"},
    )
    assert job.status_code == 202 and job.json()["model"] == "embedded"
    assert client.delete(f"/jobs/{job.json()['id']}").status_code == 200


def test_a_parameter_is_one_value_as_the_schema_says(open_server):
    client = open_server
    for where in ("params", "data"):  # a boolean is true or false
        response = client.post("/ocr", files={"file": ("d.png", PNG)}, **{where: {"force_ocr": "1"}})
        assert response.status_code == 400 and "force_ocr" in response.json()["detail"], response.text
    # and a parameter repeated in one place is not silently read as one of its values
    for route, file_field in (("/ocr", "file"), ("/batch/ocr", "files"), ("/jobs", "files")):
        form = client.post(
            route, files=[(file_field, ("d.png", PNG, "image/png")), ("model", (None, "embedded")), ("model", (None, "rapidocr"))]
        )
        assert form.status_code == 400 and "more than once in the form" in form.json()["detail"], (route, form.text)
        query = client.post(f"{route}?language=en&language=ru", files=[(file_field, ("d.png", PNG, "image/png"))])
        assert query.status_code == 400 and "more than once in the query" in query.json()["detail"], route
    chat = client.post("/chat", files={"file": ("d.png", PNG)}, data={"prompt": ["a", "b"]})
    assert chat.status_code == 400 and "'prompt' was given more than once" in chat.json()["detail"]
