"""Safe to expose: API keys with roles, browser login, cross-site refusal, rate limits, 405s, request ids, and
error details that never echo unbounded input. Each against a live server (uvicorn on a free port)."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import ADMIN_KEY as ADMIN
from tests.conftest import OTHER_KEY as OTHER
from tests.conftest import USER_KEY as USER  # the keys of the session's keyed_server
from tests.conftest import serve_in_thread
from tests.helpers import ENGLISH, encode, render_lines

PNG = encode(render_lines(ENGLISH[:1]))


@contextmanager
def live(settings, **changes):
    """A live server with these settings changed; yields an HTTP client for it (its base URL set)."""
    settings = settings.model_copy(deep=True)
    for section, values in changes.items():
        for key, value in values.items():
            setattr(getattr(settings, section), key, value)
    with serve_in_thread(settings) as (base, _), httpx.Client(base_url=base, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def keyed(keyed_server):
    """The session's live server with the keys USER, ADMIN and OTHER (tests/conftest.py)."""
    with httpx.Client(base_url=keyed_server, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def open_server(settings):
    """A live server with the repository's settings: no keys."""
    with live(settings) as client:
        yield client


def ocr(client, **kwargs):
    return client.post("/ocr", params={"model": "rapidocr"}, files={"file": ("d.png", PNG)}, **kwargs)


def test_probes_docs_and_api_info_stay_open(keyed):
    for path in ("/health", "/ready", "/info", "/docs", "/redoc", "/openapi.json"):
        assert keyed.get(path).status_code == 200, path
    assert keyed.get("/", headers={"Accept": "*/*"}).json()["message"] == "ChatVLMLLM API"


def test_inference_needs_a_key_and_any_role_may_run_it(keyed):
    missing = ocr(keyed)
    assert missing.status_code == 401 and "API key is required" in missing.json()["detail"]
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    wrong = ocr(keyed, headers={"Authorization": "Bearer not-a-key-at-all"})
    assert wrong.status_code == 401 and "not valid" in wrong.json()["detail"]
    assert ocr(keyed, headers={"Authorization": f"Bearer {USER}"}).status_code == 200
    assert ocr(keyed, headers={"X-API-Key": USER}).status_code == 200
    assert ocr(keyed, headers={"X-API-Key": ADMIN}).status_code == 200
    assert keyed.get("/models").status_code == 401 and keyed.get("/models", headers={"X-API-Key": USER}).status_code == 200


def test_model_management_and_metrics_need_the_admin_role(keyed):
    for method, path in (("post", "/models/rapidocr/load"), ("delete", "/models/rapidocr"), ("get", "/metrics")):
        as_user = getattr(keyed, method)(path, headers={"X-API-Key": USER})
        assert as_user.status_code == 403 and "admin role" in as_user.json()["detail"], path
        assert getattr(keyed, method)(path).status_code == 401
        assert getattr(keyed, method)(path, headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200, path


def test_keys_are_never_logged(keyed, caplog):
    with caplog.at_level(logging.DEBUG):
        ocr(keyed, headers={"X-API-Key": USER})
        ocr(keyed, headers={"Authorization": "Bearer wrong-key-that-is-long"})
        keyed.post("/login", data={"key": ADMIN}, follow_redirects=False)
    assert caplog.records and USER not in caplog.text and ADMIN not in caplog.text
    assert "wrong-key-that-is-long" not in caplog.text


def test_a_browser_signs_in_with_its_key_and_then_uses_the_ui_and_the_api(keyed_server):
    with httpx.Client(base_url=keyed_server, timeout=120) as browser:
        page = browser.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        form = browser.get("/login")
        assert form.status_code == 200 and 'name="key"' in form.text
        refused = browser.post("/login", data={"key": "guess-guess-guess"}, follow_redirects=False)
        assert refused.status_code == 401 and "not valid" in refused.text and "chatvlm_session" not in browser.cookies
        signed_in = browser.post("/login", data={"key": USER, "next": "https://evil.example/"}, follow_redirects=False)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"  # no open redirect (tests/security)
        assert browser.get("/", headers={"Accept": "text/html"}).status_code == 200  # the UI
        assert ocr(browser).status_code == 200  # the session cookie stands for the key
        browser.get("/logout")
        assert ocr(browser).status_code == 401


def test_cross_site_requests_cannot_act(open_server):
    client = open_server
    evil = ocr(client, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403 and "Cross-site" in evil.json()["detail"]
    assert client.delete("/models/rapidocr", headers={"Origin": "http://evil.example"}).status_code == 403
    assert ocr(client, headers={"Origin": str(client.base_url).rstrip("/")}).status_code == 200  # its own pages
    assert ocr(client).status_code == 200  # no Origin: curl, requests, gradio_client
    # CORS stays closed: no page of another site may read answers either
    read = client.get("/health", headers={"Origin": "http://evil.example"})
    assert read.status_code == 200 and "access-control-allow-origin" not in read.headers
    for origin in ("http://evil.example", "http://localhost:3000", "http://127.0.0.1:5173"):  # Gradio's CORS took localhost
        for path in ("/config", "/gradio_api/info", "/health"):
            read = client.get(path, headers={"Origin": origin})
            assert read.status_code == 200 and not any(h.startswith("access-control-") for h in read.headers), (origin, path)


def test_an_allowed_origin_may_call_with_cors(settings):
    allowed = "https://tools.example.org"
    with live(settings, auth={"allowed_origins": [allowed]}) as client:
        response = ocr(client, headers={"Origin": allowed})
        assert response.status_code == 200 and response.headers["access-control-allow-origin"] == allowed
        assert ocr(client, headers={"Origin": "https://other.example.org"}).status_code == 403


def test_rate_limit_per_key_answers_429_with_retry_after(settings):
    with live(settings, auth={"api_keys": [f"user:{USER}", f"admin:{ADMIN}"]}, limits={"rate_limit": "3/minute"}) as client:
        assert [ocr(client, headers={"X-API-Key": USER}).status_code for _ in range(3)] == [200, 200, 200]
        limited = ocr(client, headers={"X-API-Key": USER})
        assert limited.status_code == 429 and "3 per 1 minute" in limited.json()["detail"]
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert ocr(client, headers={"X-API-Key": ADMIN}).status_code == 200  # another key has its own budget
        assert client.get("/health").status_code == 200  # probes are not limited


def test_rate_limit_per_client_address_when_keys_are_off(settings):
    with live(settings, limits={"rate_limit": "2/minute"}) as client:
        assert [ocr(client).status_code for _ in range(3)] == [200, 200, 429]


def test_a_wrong_method_is_405_with_allow(open_server):
    client = open_server
    trace = client.request("TRACE", "/health")
    assert trace.status_code == 405
    wrong = client.get("/ocr")
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"
    assert client.put("/models/rapidocr").status_code == 405 and "DELETE" in client.put("/models/rapidocr").headers["Allow"]


def test_every_response_carries_a_request_id_that_the_log_line_shows(open_server, caplog):
    client = open_server
    with caplog.at_level(logging.INFO, logger="chatvlmllm.access"):
        given = ocr(client, headers={"X-Request-ID": "trace-me-42"})
        made = client.post("/ocr", files={"file": ("x.png", b"not an image")})
    assert given.headers["X-Request-ID"] == "trace-me-42"
    assert made.status_code == 400 and len(made.headers["X-Request-ID"]) == 32
    assert "request_id=trace-me-42" in caplog.text and f"request_id={made.headers['X-Request-ID']}" in caplog.text
    unsafe = "bad id; with spaces and " + "x" * 300
    odd = client.get("/health", headers={"X-Request-ID": unsafe})
    assert odd.headers["X-Request-ID"] != unsafe and len(odd.headers["X-Request-ID"]) == 32  # a made one instead


def test_error_details_never_echo_unbounded_input_or_internal_names(open_server):
    client = open_server
    huge = client.post("/ocr", params={"model": "m" * 60_000}, files={"file": ("d.png", PNG)})
    assert huge.status_code == 404 and len(huge.json()["detail"]) < 400
    nan = client.post(
        "/chat?temperature=nan",
        files={"file": ("d.png", PNG)},
        data={"prompt": "hi", "temperature": "nan", "model": "qwen3_vl_2b"},
    )
    assert nan.status_code == 400 and "temperature" in nan.json()["detail"] and "twice" not in nan.json()["detail"]
    text_as_file = client.post("/ocr", data={"file": "abc"})
    detail = text_as_file.json()["detail"]
    assert text_as_file.status_code == 400 and "'file' must be a file" in detail
    assert "UploadFile" not in detail and "<class" not in detail


def test_a_key_sees_its_own_jobs(keyed):
    def as_(key):
        return {"Authorization": f"Bearer {key}"}

    job = keyed.post("/jobs", files=[("files", ("d.png", PNG))], data={"model": "rapidocr"}, headers=as_(USER))
    assert job.status_code == 202, job.text
    path = f"/jobs/{job.json()['id']}"
    assert httpx.get(keyed.base_url.join(path)).status_code == 401  # a fresh client (this one may hold a session)
    assert keyed.get(path, headers=as_(USER)).status_code == 200
    assert keyed.get(path, headers=as_(ADMIN)).status_code == 200  # an admin sees every job
    for method in ("GET", "DELETE"):
        response = keyed.request(method, path, headers=as_(OTHER))
        assert response.status_code == 404 and "another key" in response.json()["detail"]
    assert keyed.get(path + "/result", headers=as_(OTHER)).status_code == 404
