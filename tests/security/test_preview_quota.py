"""The OCR tab's page previews are files the server keeps for the browser: they count on the client's quota of kept
files (limits.upload_mb_per_key) as its uploads do. Before, a small PDF of many noisy pages made ~100 KB-1 MB of
previews a page, kept for upload_ttl_s, whatever the quota (an attack pass): one upload, hundreds of times its size."""

from __future__ import annotations

import io
import json
import uuid

import httpx
import numpy as np
import pytest
from PIL import Image

from .conftest import live
from .gradio_calls import file_data, fn_index, upload

pytestmark = pytest.mark.slow  # (12 previews of noisy pages, a release's check, ~9 s; previews' budget: test_image_formats.py)

QUOTA_MB = 1


def noisy_pdf(pages: int) -> bytes:
    """A PDF of ``pages`` pages, each a different picture of noise (JPEG, small), which renders to large previews."""
    rng = np.random.default_rng(7)
    images = [Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)) for _ in range(pages)]
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=40, quality=20)
    return out.getvalue()


def queued(client: httpx.Client, api_name: str, data: list, session: str) -> tuple[dict, list[str]]:
    """One event of ``session`` through the browser's queue: (its process_completed message, the warnings shown)."""
    index = fn_index(client, api_name)
    joined = client.post(
        "/gradio_api/queue/join",
        json={"data": data, "fn_index": index, "session_hash": session, "event_data": None, "trigger_id": None},
    )
    assert joined.status_code == 200, joined.text
    warnings = []
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            if message.get("msg") == "log" and message.get("level") == "warning":
                warnings.append(message.get("log", ""))
            if message.get("msg") == "process_completed":
                return message, warnings
    raise AssertionError("the stream ended before the event did")


def test_previews_count_on_the_clients_quota_of_kept_files(settings):
    with live(settings, limits={"upload_mb_per_key": QUOTA_MB}) as (client, _):
        pdf = noisy_pdf(12)
        uploaded = upload(client, "noise.pdf", pdf)
        assert uploaded.status_code == 200, uploaded.text
        document = file_data(uploaded.json()[0])
        session = uuid.uuid4().hex[:11]
        counted, _ = queued(client, "pages_in", [document], session)
        assert counted["success"], counted
        kept, refused = 0, []
        for number in range(1, 13):
            done, warnings = queued(client, "overlay_for", [None, document, None, False, number], session)
            assert done["success"], done
            value = (done["output"]["data"][0] or {}).get("value")
            if value:
                kept += len(client.get(value["url"]).content)
            refused += warnings
        assert refused, f"no preview refused: {kept} bytes of previews kept from a {len(pdf)}-byte upload"
        assert all("limits.upload_mb_per_key" in said for said in refused), refused
        assert len(pdf) + kept <= QUOTA_MB * 1024 * 1024
        assert client.get("/health").status_code == 200
