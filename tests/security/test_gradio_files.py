"""Issue 17, point 1: a Gradio file input opens only files Gradio itself received (its upload folder).

A hostile client names a server path in a file input (``{"path": "/some/private.pdf", "meta": {...}}``) instead of
uploading: an absolute path, ``..`` out of the upload folder, a symlink inside it pointing out, the server's data
directory (absolute and relative), a file that does not exist, in every file input (the image, the document, one
of a batch's files, a picture in the chat history), through every door: the direct API (``/run``, ``/api``, with a
trailing slash), the simple queue API (``/call``), the browser's queue (a UI event by index) and MCP. Each is
refused with the same sentence, whether the file exists or not, and nothing of it comes back. A real upload still
works, through raw HTTP and through gradio_client. Keys off and keys on."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import uuid
from pathlib import Path

import gradio
import pytest
from gradio_client import Client, handle_file

from api.gradio_calls import NO_PROXY
from tests.helpers import ENGLISH, encode, render_lines, text_pdf
from ui.files import NO_URLS, NOT_A_FILE, NOT_RECEIVED

from .conftest import KEYS, OTHER, USER, live
from .gradio_calls import call, file_data, fn_index, queue, run, upload

MARK = "PRIVATEWORD"
PNG = encode(render_lines(ENGLISH[:1]))

# every file input of every named endpoint: api_name -> the event's data with the file input ``f`` (``u``: a real
# upload, where the event needs another file beside the attack)
CASES = {
    "ocr": lambda f, u: [f, "", ""],
    "ocr_document": lambda f, u: [f, "", "", "", False],
    "batch_ocr": lambda f, u: [[u, f], "", ""],
    "chat": lambda f, u: [f, "What does it say?", "", 0.7, 16, []],
    "chat (history)": lambda f, u: [u, "And now?", "", 0.7, 16, [{"role": "user", "content": [f]}]],
}
DOORS = ["/gradio_api/run/{}", "/gradio_api/api/{}", "/gradio_api/run/{}/"]


@pytest.fixture(scope="module")
def private(tmp_path_factory) -> Path:
    """A private PDF outside Gradio's upload folder, whose text layer says MARK."""
    path = tmp_path_factory.mktemp("private") / "salaries.pdf"
    path.write_bytes(text_pdf([[f"{MARK} salaries 2026"]]))
    return path


@pytest.fixture(scope="module", params=["keys off", "keys on"])
def server(request, settings, private):
    keys_on = request.param == "keys on"
    with live(settings, auth={"api_keys": KEYS if keys_on else []}) as (client, service):
        headers = {"Authorization": f"Bearer {USER}"} if keys_on else {}
        folder = Path(gradio.utils.get_upload_folder()).resolve()
        link_dir = folder / f"chatvlm-attack-{uuid.uuid4().hex}"
        link_dir.mkdir(parents=True)
        (link_dir / "innocent.pdf").symlink_to(private)
        service.jobs  # noqa: B018 (the jobs database now exists in the data directory)
        jobs_db = service.data_dir / "jobs.db"
        assert jobs_db.exists()
        attacks = {
            "absolute": str(private),
            "missing": str(private.with_name("missing.pdf")),
            "system": "/etc/passwd",
            "dot-dot": os.path.join(str(folder), os.path.relpath(private, folder)),
            "symlink": str(link_dir / "innocent.pdf"),
            "data dir": str(jobs_db),
            "data dir, relative": os.path.relpath(jobs_db),
            "a folder in the upload folder": str(link_dir),
        }
        assert ".." in attacks["dot-dot"] and ".." in attacks["data dir, relative"]
        uploaded = upload(client, "page.png", PNG, headers)
        assert uploaded.status_code == 200, uploaded.text
        try:
            yield client, service, headers, attacks, file_data(uploaded.json()[0])
        finally:
            shutil.rmtree(link_dir, ignore_errors=True)


def base(client) -> str:
    return str(client.base_url).rstrip("/")


def leaks(text: str) -> bool:
    return MARK in text or "root:" in text or "SQLite" in text or "sqlite" in text


def test_server_paths_are_refused_by_every_file_input_through_every_door(server):
    client, _, headers, attacks, good = server
    for name, make in CASES.items():
        api_name = name.split()[0]
        for attack, path in attacks.items():
            data = make(file_data(path), good)
            # each door as a client that names no session (Gradio makes one per call) and as one that keeps its own
            session = None if attack == "absolute" else f"attacker-{uuid.uuid4().hex[:8]}"
            for door in DOORS:
                status, body = run(client, door.format(api_name), data, headers, session)
                assert not leaks(body), (name, attack, door, body)
                assert status == 400 and json.loads(body)["error"] == NOT_RECEIVED, (name, attack, door, body)
            event, payload = call(client, api_name, data, headers, session)
            assert not leaks(payload), (name, attack, payload)
            assert event == "error" and NOT_RECEIVED in payload, (name, attack, event, payload)


def test_the_refusal_does_not_tell_whether_the_file_exists(server):
    client, _, headers, attacks, _ = server
    answers = {
        run(client, "/gradio_api/run/ocr_document", [file_data(attacks[a]), "", "", "", False], headers)
        for a in ("absolute", "missing", "system", "data dir")
    }
    assert len(answers) == 1 and NOT_RECEIVED in answers.pop()[1]


def test_the_ui_own_events_through_the_queue_refuse_them_too(server):
    client, _, headers, attacks, _ = server
    index = fn_index(client, "ocr_for_ui", headers)  # the OCR tab's button: image, document, pages, force, model, langs
    for attack in ("absolute", "symlink", "dot-dot"):
        done = queue(client, index, [None, file_data(attacks[attack]), "", False, "embedded", []], headers)
        assert not leaks(json.dumps(done)), (attack, done)
        assert done["success"] is False and done["output"]["error"] == NOT_RECEIVED, (attack, done)


def test_mcp_calls_refuse_them_too(server):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    client, _, headers, attacks, _ = server

    async def attempt(tool: str, arguments: dict):
        async with (
            streamablehttp_client(f"{base(client)}/gradio_api/mcp/", headers=headers) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await session.call_tool(tool, arguments)

    for tool, arguments in (  # the UI's API events are not tools, but an agent may name them
        (
            "ocr_document",
            {"document_path": file_data(attacks["absolute"]), "model_id": "", "hint": "", "page_spec": "", "force_ocr": False},
        ),
        ("ocr", {"image_path": file_data(attacks["symlink"]), "model_id": "", "hint": ""}),
        ("ocr_image", {"image": attacks["absolute"]}),
    ):
        result = asyncio.run(attempt(tool, arguments))
        text = " ".join(getattr(part, "text", "") for part in result.content)
        assert result.isError and not leaks(text), (tool, text)


def test_urls_are_not_fetched_when_the_server_does_not_fetch_urls(server):
    client, _, headers, _, _ = server
    status, body = run(client, "/gradio_api/run/ocr", [file_data(f"{base(client)}/health"), "", ""], headers)
    assert status == 400 and json.loads(body)["error"] == NO_URLS


def test_a_real_upload_still_works(server, private):
    client, _, headers, _, _ = server
    uploaded = upload(client, "salaries.pdf", private.read_bytes(), headers)
    assert uploaded.status_code == 200
    status, body = run(client, "/gradio_api/run/ocr_document", [file_data(uploaded.json()[0]), "", "", "", False], headers)
    assert status == 200 and MARK in body
    gradio_client = Client(f"{base(client)}/", headers=headers, verbose=False)
    text, details = gradio_client.predict(handle_file(str(private)), "", "", "", False, api_name="/ocr_document")
    assert MARK in text and details["pages"][0]["source"] == "text-layer"


def test_an_upload_is_only_for_the_key_that_sent_it(server):
    client, _, headers, _, _ = server
    other = {"Authorization": f"Bearer {OTHER}"} if headers else {}
    pdf = text_pdf([[f"{MARK} of another key {uuid.uuid4().hex}"]])  # bytes nobody else sent
    theirs = upload(client, "salaries.pdf", pdf, other).json()[0]
    data = [file_data(theirs), "", "", "", False]
    status, body = run(client, "/gradio_api/run/ocr_document", data, other)
    assert status == 200 and MARK in body  # the uploader's own file
    status, body = run(client, "/gradio_api/run/ocr_document", data, headers)
    if headers:  # keys on: another key names it
        assert status == 400 and json.loads(body)["error"] == NOT_RECEIVED and not leaks(body), body
        mine = upload(client, "salaries.pdf", pdf, headers).json()[0]  # the same bytes, sent by this key
        assert mine == theirs and run(client, "/gradio_api/run/ocr_document", data, headers)[0] == 200
    else:  # keys off: every client is the same (anonymous) user
        assert status == 200 and MARK in body


def test_gradios_file_route_serves_an_upload_to_the_key_that_sent_it_only(server):
    # (any key that knew an upload's path was served it by /gradio_api/file=: an attack pass)
    client, _, headers, _, _ = server
    other = {"Authorization": f"Bearer {OTHER}"} if headers else {}
    secret = f"{MARK} of another key {uuid.uuid4().hex}".encode()
    theirs = upload(client, "notes.txt", secret, other).json()[0]
    assert client.get(f"/gradio_api/file={theirs}", headers=other).content == secret  # the uploader's own file
    missing = client.get(f"/gradio_api/file={theirs}.gone", headers=headers)
    for path in (f"/gradio_api/file={theirs}", f"/gradio_api/file={os.path.dirname(theirs)}/./{os.path.basename(theirs)}"):
        answer = client.get(path, headers=headers)
        if headers:  # keys on: another key is answered as for a file the server does not have
            assert answer.status_code == missing.status_code == 403 and secret not in answer.content, answer.text[:200]
            assert answer.json()["detail"].startswith("File not allowed"), answer.text[:200]
        else:  # keys off: every client is the same (anonymous) user
            assert answer.content == secret
    nul = client.get(f"/gradio_api/file={theirs}%00x", headers=headers)  # (no file has that name: not a 500)
    assert nul.status_code == 403 and nul.json()["detail"].startswith("File not allowed"), nul.text[:200]


def test_gradio_fetches_no_url_for_a_client(server):
    # /gradio_api/file=<url> made Gradio fetch any URL for any client and answer with it (20 redirects, no size or
    # time bound, 100.64.0.0/10 taken for public: a cloud's metadata service); /proxy= is Spaces' own
    client, _, headers, _, _ = server
    for path in (
        f"/gradio_api/file={base(client)}/health",
        "/gradio_api/file=http://100.100.100.200/latest/meta-data/",
        "/gradio_api/file=HTTPS://example.com/a.png",
        f"/gradio_api/file/{base(client)}/health",  # (Gradio's older route)
        f"/gradio_api/file%2F{base(client)}/health",
        f"/gradio_api/proxy={base(client)}/health",
    ):
        for method in ("GET", "HEAD"):
            response = client.request(method, path, headers=headers)
            assert response.status_code == 403, (path, method, response.status_code)
        assert client.get(path, headers=headers).json()["detail"] == NO_PROXY


def test_gradios_recording_route_is_not_offered(server):
    # (it kept each file it was sent in the system's temporary folder for good; this app records nothing)
    client, _, headers, _, _ = server
    response = client.post("/gradio_api/process_recording", files={"video": ("a.webm", b"x" * 1000)}, headers=headers)
    assert response.status_code == 404


def test_file_references_are_counted_before_gradio_makes_a_file_for_each(server):
    # Gradio makes a temporary file for each reference to an upload, before any handler could count them
    client, _, headers, _, good = server
    folder = Path(gradio.utils.get_upload_folder())
    before = sum(1 for _ in folder.rglob("*"))
    status, body = run(client, "/gradio_api/run/batch_ocr", [[good] * 500, "", ""], headers)
    assert status == 400 and "Too many files in one call" in json.loads(body)["error"]
    assert sum(1 for _ in folder.rglob("*")) < before + 10


def test_a_call_leaves_no_file_behind(server):
    # (Gradio 6 made an empty temporary file in its upload folder for each file an input passed on, never deleted)
    client, _, headers, _, good = server
    folder = Path(gradio.utils.get_upload_folder())
    before = set(folder.iterdir())
    status, body = run(client, "/gradio_api/run/batch_ocr", [[good] * 3, "", ""], headers)
    assert status == 200, body
    assert [p.name for p in set(folder.iterdir()) - before if p.is_file()] == []


def test_a_references_url_is_not_what_is_read(server):
    # (Gradio decoded a data: URL in a reference's url field, before any check of ours, and read it instead of the
    # upload the path names: a 0.6 MB PNG of 12,000 x 12,000 took 1.3 GB and 5 s before the pixel limit refused it)
    client, _, headers, _, good = server
    other = "data:image/png;base64," + base64.b64encode(encode(render_lines(["Other words 777"]))).decode()
    status, body = run(client, "/gradio_api/run/ocr", [{"path": good["path"], "url": other}, "", ""], headers)  # (no meta)
    assert status == 200, body
    text = json.loads(body)["data"][0]
    assert "777" not in text and ENGLISH[0].split()[0].lower() in text.lower(), text  # the upload's own text


def test_a_file_input_that_is_no_file_object_is_a_400(server):
    client, _, headers, _, _ = server
    for value in ("/etc/passwd", 5):
        status, body = run(client, "/gradio_api/run/ocr", [value, "", ""], headers)
        assert status == 400 and json.loads(body)["error"] == NOT_A_FILE and "passwd" not in body, body
