"""Headers that keep a browser from being turned against the server's users (api/headers.py), on every kind of answer.

- A file a client uploaded to Gradio is served back inline under the type its name says: an HTML page named ``.png``
  came back as ``image/png`` with nothing telling the browser not to guess. Every answer now says ``nosniff``.
- Any site could show the UI in a frame and lay it under its own buttons. Every answer now names who may frame it:
  the server itself, ``auth.allowed_origins`` and ``server.frame_ancestors`` (a Space adds huggingface.co).
  (A browser refusing such a frame: tests/browser/test_frames.py.)"""

from __future__ import annotations

import httpx
import pytest

from inference import load_settings
from inference.errors import ConfigError
from tests.conftest import ROOT

from .conftest import USER, live
from .gradio_calls import upload

PAGE = b"<html><body><script>document.title = 'ran'</script></body></html>"


def answers(client) -> dict[str, object]:
    """One answer of each kind the server gives: REST JSON, its errors, the UI page, Gradio's API, a served upload."""
    stored = upload(client, "picture.png", PAGE).json()[0]
    return {
        "REST JSON": client.get("/models"),
        "REST 404": client.get("/jobs/nope"),
        "REST 400": client.post("/ocr", files={"file": ("x.png", b"not an image")}),
        "unknown route": client.get("/nowhere"),
        "wrong Host": client.get("/health", headers={"Host": "evil.example"}),
        "UI page": client.get("/", headers={"Accept": "text/html"}),
        "Gradio config": client.get("/gradio_api/info"),
        "served upload": client.get(f"/gradio_api/file={stored}"),
        "API docs": client.get("/docs"),
    }


def test_every_answer_says_nosniff_and_who_may_frame_it(open_server):
    got = answers(open_server)
    assert got["served upload"].content == PAGE  # (the upload itself is served back: the case the header is for)
    assert got["wrong Host"].status_code == 400 and got["REST 400"].status_code == 400
    for kind, response in got.items():
        assert response.headers.get("x-content-type-options") == "nosniff", kind
        assert response.headers.get("content-security-policy") == "frame-ancestors 'self'", kind


def test_the_origins_allowed_to_frame_it_are_the_configured_ones(settings):
    framers = {
        "auth": {"allowed_origins": ["https://app.example.com"]},
        "server": {"frame_ancestors": ["https://wiki.example.org:8443"]},
    }
    with live(settings, **framers) as (client, _):
        for response in (client.get("/", headers={"Accept": "text/html"}), client.get("/health")):
            assert response.headers["content-security-policy"] == (
                "frame-ancestors 'self' https://app.example.com https://wiki.example.org:8443"
            )


def test_a_space_is_framed_by_huggingface_and_a_bad_origin_is_refused():
    config = ROOT / "config.yaml"
    assert load_settings(config, env={}).server.frame_ancestors == []
    on_space = load_settings(config, env={"SPACE_ID": "someone/ocr", "CHATVLM_FRAME_ANCESTORS": "https://a.example"})
    assert on_space.server.frame_ancestors == ["https://a.example", "https://huggingface.co"]
    for bad in ("https://a.example; script-src *", "evil.example", "https://a.example/page"):  # no directive smuggled
        with pytest.raises(ConfigError, match="CHATVLM_FRAME_ANCESTORS"):
            load_settings(config, env={"CHATVLM_FRAME_ANCESTORS": bad})


def test_an_answer_to_a_keyed_request_is_kept_by_no_shared_cache(keyed_client):
    stored = upload(keyed_client, "page.png", PAGE, headers={"Authorization": f"Bearer {USER}"}).json()[0]
    for how in ({"Authorization": f"Bearer {USER}"}, {"X-API-Key": USER}):
        for path in ("/models", f"/gradio_api/file={stored}"):
            response = keyed_client.get(path, headers=how)
            assert response.status_code == 200, (path, response.text[:200])
            assert response.headers.get("cache-control") == "private", (path, how.keys(), response.headers)
    with httpx.Client(base_url=keyed_client.base_url, timeout=60) as browser:  # (its own cookies: a browser's sign-in)
        signed = browser.post("/login", data={"key": USER}, follow_redirects=False)
        assert signed.status_code == 303 and browser.cookies, signed.text[:200]
        response = browser.get("/models")
        assert response.status_code == 200 and response.headers.get("cache-control") == "private", response.headers
    assert "cache-control" not in keyed_client.get("/health").headers  # (no key: nothing private in it)
