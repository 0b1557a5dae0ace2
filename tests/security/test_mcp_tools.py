"""The MCP tools (also the Gradio API's ocr_image, ocr_images): a list of images is counted before any is read (that a
URL's fetch runs off the event loop is in test_ssrf.py, with the faked outside world)."""

from __future__ import annotations

import base64
import json

from tests.helpers import ENGLISH, encode, render_lines
from tests.security.gradio_calls import run

PNG = encode(render_lines(ENGLISH[:1]))
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_a_list_of_images_is_counted_before_any_is_read(open_server):
    limit = 32  # limits.max_batch_files
    # (entries that would each fail alone if read: the count refuses them all first)
    status, body = run(open_server, "/gradio_api/run/ocr_images", [[DATA_URL] + ["not a URL"] * limit, "", ""])
    assert status == 400 and f"Too many files: {limit + 1} sent, at most {limit}" in json.loads(body)["error"]
    status, body = run(open_server, "/gradio_api/run/ocr_images", [[DATA_URL] * 2, "", ""])
    assert status == 200 and [entry["status"] for entry in json.loads(json.loads(body)["data"][0])] == ["success"] * 2
