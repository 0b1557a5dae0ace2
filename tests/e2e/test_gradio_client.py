"""Every api_name of the UI, called through gradio_client against the live server."""

import csv
import json
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.helpers import ENGLISH, cer, image_pdf, render_lines
from tests.polling import wait_until


@pytest.fixture(scope="module")
def gradio(live_server):
    return Client(f"{live_server}/", verbose=False)


def test_all_endpoints_are_named(gradio):
    named = gradio.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/ocr", "/ocr_document", "/chat", "/batch_ocr", "/models", "/load_model", "/unload_model"} <= set(named)


def test_ocr(gradio, english_file):
    text, details = gradio.predict(handle_file(str(english_file)), "rapidocr", "", api_name="/ocr")
    assert cer(text, "\n".join(ENGLISH)) <= 0.05
    assert details["model"] == "rapidocr" and details["image_size"][0] > 0 and details["processing_time"] > 0
    assert len(details["lines"]) == len(ENGLISH) and len(details["lines"][0]["box"]) == 4
    assert details["lines"][0]["text"] == text.splitlines()[0]


def test_ocr_error_is_a_readable_message(gradio, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(AppError, match="not an image"):
        gradio.predict(handle_file(str(bad)), "rapidocr", "", api_name="/ocr")


def test_chat_on_an_ocr_engine_says_which_models_can(gradio, english_file):
    with pytest.raises(AppError, match="cannot chat. Models that can"):
        gradio.predict(handle_file(str(english_file)), "What is this?", "rapidocr", 0.7, 64, [], api_name="/chat")


def test_batch_with_downloads(gradio, english_file, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 broken")
    table, totals, downloads = gradio.predict(
        [handle_file(str(english_file)), handle_file(str(bad))], "rapidocr", "", api_name="/batch_ocr"
    )
    assert table["headers"] == ["file", "status", "time_s", "text"]
    statuses = {row[0]: row[1] for row in table["data"]}
    assert statuses == {"document.png": "success", "broken.jpg": "error"}
    assert "**2** files" in totals and "**1** failed" in totals
    csv_path = next(p for p in downloads if p.endswith(".csv"))
    json_path = next(p for p in downloads if p.endswith(".json"))
    with open(csv_path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == ["success", "error"] and "Invoice" in rows[0]["text"]
    with open(json_path, encoding="utf-8") as f:
        assert json.load(f)["successful"] == 1


def test_model_manager_endpoints(gradio):
    table, status = gradio.predict(api_name="/models")
    assert "rapidocr" in [row[0] for row in table["data"]] and "GPU" in status
    table, _, message = gradio.predict("rapidocr", api_name="/load_model")
    assert dict((row[0], row[1]) for row in table["data"])["rapidocr"] == "ready" and "ready" in message
    _, _, message = gradio.predict("rapidocr", api_name="/load_model")  # loaded already: said so, not the old load's time
    assert message == "Model rapidocr is ready: it was already loaded (nothing to do).", message
    table, _, message = gradio.predict("rapidocr", api_name="/unload_model")
    assert dict((row[0], row[1]) for row in table["data"])["rapidocr"] == "unloaded"
    assert message == "Model rapidocr unloaded"
    with pytest.raises(AppError, match="Unknown model 'nope'"):
        gradio.predict("nope", api_name="/load_model")
    with pytest.raises(AppError, match="inference.download qwen3_vl_2b"):  # (an administrator's load: what to do, as REST)
        gradio.predict("qwen3_vl_2b", api_name="/load_model")


def test_a_pdf_through_the_gradio_api_with_progress_page_by_page(gradio, english_file, tmp_path):
    pdf = tmp_path / "two.pdf"
    pdf.write_bytes(image_pdf([render_lines(ENGLISH), render_lines(["Second page here 2024"])]))
    text, details = gradio.predict(handle_file(str(pdf)), "embedded", "", "2", False, api_name="/ocr_document")
    assert [p["page"] for p in details["pages"]] == [2] and "2024" in text and details["pages"][0]["source"] == "ocr"
    text, details = gradio.predict(handle_file(str(pdf)), "embedded", "", "", False, api_name="/ocr_document")
    assert len(details["pages"]) == 2 and cer(text.split("\n\n")[0], "\n".join(ENGLISH)) <= 0.05

    job = gradio.submit([handle_file(str(pdf)), handle_file(str(english_file))], "embedded", "", api_name="/batch_ocr")
    seen = set()
    while not job.done():
        for unit in job.status().progress_data or []:
            if unit.length:
                seen.add((unit.index, unit.length, unit.unit))
        time.sleep(0.02)
    table = job.result()[0]
    assert [row[1] for row in table["data"]] == ["success", "success"] and "2024" in table["data"][0][3]
    assert {length for _, length, _ in seen} == {3} and {unit for _, _, unit in seen} == {"pages"}, seen


@pytest.mark.slow  # a release check: 66 pages of OCR (~12 s); a long batch as a job: tests/browser/test_batch_jobs.py too
def test_a_long_batch_runs_as_a_job_with_progress(gradio, tmp_path):
    pdf = tmp_path / "long.pdf"
    lines = ["The quarterly report of the northern division", "Revenue and costs by region"]  # (pages that take a moment)
    pdf.write_bytes(image_pdf([render_lines([f"P{n}", *lines], font_size=20) for n in range(1, 67)]))  # over 64 pages
    job = gradio.submit([handle_file(str(pdf))], "embedded", "", api_name="/batch_ocr")
    seen = set()
    while not job.done():
        for unit in job.status().progress_data or []:
            if unit.length:
                seen.add((unit.index, unit.length))
        time.sleep(0.05)
    table = job.result()[0]
    assert table["data"][0][1] == "success" and "P66" in table["data"][0][3].replace(" ", "")
    assert {length for _, length in seen} == {66} and any(0 < done < 66 for done, _ in seen), seen  # page by page
    # it ran through the job queue: the server's jobs database holds it, done, with every page
    from tests.conftest import LIVE_DATA_DIR

    with sqlite3.connect(Path(LIVE_DATA_DIR) / "jobs.db") as db:
        rows = db.execute("SELECT state, pages_done, pages_total FROM jobs WHERE pages_total = 66").fetchall()
    assert rows == [("done", 66, 66)]


def test_a_user_error_is_one_log_line_and_never_a_download(gradio, live_server, live_server_log, english_file):
    """A user's error through the Gradio API: no traceback in the server log; each request logged once (the app's
    access line, not uvicorn's too); a model whose weights are absent is refused, not loaded (nor fetched)."""
    before = len(live_server_log.read_text(errors="replace"))
    with pytest.raises(AppError, match="cannot chat"):
        gradio.predict(handle_file(str(english_file)), "What is this?", "rapidocr", 0.7, 64, [], api_name="/chat")
    with pytest.raises(AppError, match="cannot run on this server"):
        gradio.predict(handle_file(str(english_file)), "olmocr_2_7b", "", api_name="/ocr")
    models = httpx.get(f"{live_server}/models", headers={"X-Request-ID": "one-line-probe"}).json()
    assert {m["id"]: m["state"] for m in models["available"]}["olmocr_2_7b"] == "unloaded"  # no load was tried
    assert wait_until(lambda: "request_id=one-line-probe" in live_server_log.read_text(errors="replace"), 10)
    log = live_server_log.read_text(errors="replace")
    assert "Traceback" not in log[before:] and log.count("one-line-probe") == 1
    assert 'HTTP/1.1"' not in log  # uvicorn's own access line ("GET /models HTTP/1.1" 200 OK) is off


def test_the_models_tab_starts_on_a_model_that_can_load(live_server):
    components = httpx.get(f"{live_server}/config", timeout=30).json()["components"]
    [choice] = [c["props"] for c in components if c.get("props", {}).get("elem_id") == "models-choice"]
    # the embedded OCR (the only models whose weights are here, in the tests), not the first configured (LightOnOCR-3)
    assert choice["value"] == "embedded" and choice["choices"][0][1] == "lightonocr_3_1b"
