"""Issue 17, point 4 (and point 7's Gradio half): one rate-limit budget per key (per client address when keys are
off), whatever the door. Once a key has used its budget on one door, every other door refuses it: REST (429 with
Retry-After), /v1 (429, OpenAI's body), jobs, Gradio's direct API under every alias (/run, /run/ with a trailing
slash, /api), its simple queue API (/call, /call/v2), the browser's queue, gradio_client, MCP's tools/call and
Gradio's upload; another key still has its own. Gradio uploads are deleted after ``limits.upload_ttl_s``."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from pathlib import Path

import gradio
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.helpers import ENGLISH, encode, render_lines

from .conftest import KEYS, OTHER, USER, live
from .gradio_calls import call, file_data, fn_index, queue, run, upload

PNG = encode(render_lines(ENGLISH[:1]))
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
LIMITED = "Too many requests"


def base(client) -> str:
    return str(client.base_url).rstrip("/")


def mcp_call(client, headers: dict, tool: str, arguments: dict):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def attempt():
        async with (
            streamablehttp_client(f"{base(client)}/gradio_api/mcp/", headers=headers) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await session.call_tool(tool, arguments)

    result = asyncio.run(attempt())
    return result.isError, " ".join(getattr(part, "text", "") for part in result.content)


def rest_ocr(client, headers: dict):
    return client.post("/ocr", params={"model": "rapidocr"}, files={"file": ("d.png", PNG)}, headers=headers)


def assert_429(response, what: str) -> None:
    assert response.status_code == 429, (what, response.status_code, response.text)
    assert 1 <= int(response.headers["Retry-After"]) <= 3600, what
    assert LIMITED in response.text, (what, response.text)


@pytest.fixture(scope="module")
def keyed(settings):
    with live(settings, auth={"api_keys": KEYS}, limits={"rate_limit": "4/hour"}) as (client, _):
        yield client


def test_every_door_refuses_a_key_whose_budget_is_used(keyed):
    client, user = keyed, {"Authorization": f"Bearer {USER}"}
    uploaded = upload(client, "page.png", PNG, user)  # 1 of 4: an upload counts
    assert uploaded.status_code == 200, uploaded.text
    image = file_data(uploaded.json()[0])
    assert [rest_ocr(client, user).status_code for _ in range(3)] == [200, 200, 200]  # 2, 3, 4 of 4

    # REST, /v1, jobs
    assert_429(rest_ocr(client, user), "/ocr")
    assert_429(client.post("/chat", data={"prompt": "What is it?"}, files={"file": ("d.png", PNG)}, headers=user), "/chat")
    assert_429(client.post("/batch/ocr", files=[("files", ("d.png", PNG))], headers=user), "/batch/ocr")
    assert_429(client.post("/jobs", files=[("files", ("d.png", PNG))], headers=user), "/jobs")
    openai = client.post(
        "/v1/chat/completions",
        headers=user,
        json={
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "What is it?"}, {"type": "image_url", "image_url": {"url": DATA_URL}}],
                }
            ]
        },
    )
    assert_429(openai, "/v1/chat/completions")
    assert openai.json()["error"]["type"] == "rate_limit_error"

    # Gradio's direct API, under each of its paths
    for door, data in (
        ("/gradio_api/run/ocr", [image, "", ""]),
        ("/gradio_api/run/ocr/", [image, "", ""]),
        ("/gradio_api/api/ocr", [image, "", ""]),
        ("/gradio_api/api/ocr_image", [DATA_URL, "", ""]),
        ("/gradio_api/run/ocr_document", [image, "", "", "", False]),
        ("/gradio_api/run/batch_ocr", [[image], "", ""]),
        ("/gradio_api/run/chat", [image, "What is it?", "", 0.7, 16, []]),
    ):
        status, body = run(client, door, data, user)
        assert status == 429 and json.loads(body)["error"].startswith(LIMITED), (door, status, body)
    direct = client.post("/gradio_api/run/ocr", json={"data": [image, "", ""]}, headers=user)
    assert direct.status_code == 429 and int(direct.headers["Retry-After"]) >= 1, direct.headers

    # the simple queue API, the browser's queue, gradio_client
    event, payload = call(client, "ocr", [image, "", ""], user)
    assert event == "error" and LIMITED in payload, (event, payload)
    posted = client.post("/gradio_api/call/v2/ocr", json={"image_path": image, "model_id": "", "hint": ""}, headers=user)
    stream = client.get(f"/gradio_api/call/v2/ocr/{posted.json()['event_id']}", headers=user).text
    assert "event: error" in stream and LIMITED in stream, stream
    done = queue(client, fn_index(client, "ocr_for_ui", user), [image, None, "", False, "rapidocr", []], user)  # UI
    assert done["success"] is True and LIMITED in done["output"]["data"][-1], done  # said beside the result
    with pytest.raises(AppError, match=LIMITED):
        Client(f"{base(client)}/", headers=user, verbose=False).predict(DATA_URL, "", "", api_name="/ocr_image")

    # MCP, and the upload
    failed, text = mcp_call(client, user, "ocr_image", {"image": DATA_URL, "model": "rapidocr"})
    assert failed and LIMITED in text, text
    assert_429(upload(client, "again.png", PNG, user), "/gradio_api/upload")

    # another key has its own budget, on every door
    other = {"Authorization": f"Bearer {OTHER}"}
    theirs = file_data(upload(client, "page.png", PNG, other).json()[0])
    status, body = run(client, "/gradio_api/run/ocr", [theirs, "rapidocr", ""], other)
    assert status == 200 and "Invoice" in body, body
    failed, text = mcp_call(client, other, "ocr_image", {"image": DATA_URL, "model": "rapidocr"})
    assert not failed and "Invoice" in text, text
    assert rest_ocr(client, other).status_code == 200


@pytest.fixture(scope="module")
def open_server(settings):
    with live(settings, limits={"rate_limit": "3/hour"}) as (client, _):
        yield client


def test_with_keys_off_the_client_address_has_one_budget_across_doors(open_server):
    client = open_server
    failed, text = mcp_call(client, {}, "ocr_image", {"image": DATA_URL, "model": "rapidocr"})  # 1 of 3
    assert not failed, text
    status, body = run(client, "/gradio_api/run/ocr_image", [DATA_URL, "rapidocr", ""])  # 2 of 3
    assert status == 200, body
    assert rest_ocr(client, {}).status_code == 200  # 3 of 3
    assert_429(rest_ocr(client, {}), "/ocr")
    status, body = run(client, "/gradio_api/run/ocr_image", [DATA_URL, "rapidocr", ""])
    assert status == 429 and json.loads(body)["error"].startswith(LIMITED), body
    failed, text = mcp_call(client, {}, "ocr_image", {"image": DATA_URL, "model": "rapidocr"})
    assert failed and LIMITED in text, text
    assert_429(upload(client, "page.png", PNG), "/gradio_api/upload")


@pytest.mark.slow  # a release check: waits out the uploads' lifetime on a server of its own (~5 s)
def test_gradio_uploads_are_deleted_after_their_ttl(settings):
    with live(settings, limits={"upload_ttl_s": 2}) as (client, _):
        config = json.dumps(client.get("/config").json())
        folder = str(Path(gradio.utils.get_upload_folder()).resolve())
        examples = set(re.findall(re.escape(folder) + r"/[0-9a-f]+/[\w.-]+", config))
        assert examples and all(Path(p).exists() for p in examples)  # the UI's example images
        uploaded = upload(client, "page.png", PNG)
        path = Path(uploaded.json()[0])
        assert path.exists()
        deadline = time.monotonic() + 30
        while path.exists() and time.monotonic() < deadline:
            time.sleep(0.25)
        assert not path.exists(), "the upload is still there after its TTL"
        status, body = run(client, "/gradio_api/run/ocr", [file_data(str(path)), "rapidocr", ""])
        assert status == 400 and "no longer on the server" in json.loads(body)["error"], body
        assert all(Path(p).exists() for p in examples)  # the examples are kept
