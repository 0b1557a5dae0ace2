"""The API guide's curl and requests examples, as written, against live servers.

`tiny_server` is `CHATVLM_CONFIG=<tiny>/config.yaml python app.py`: the guide's model ids
(qwen3_vl_2b, qwen3_vl_4b, qwen3_vl_8b) are tiny random models there, so every example runs
verbatim, with only the port changed. Their text is gibberish: assert on fields and types.
"""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import time

import httpx
import pytest
import requests

from inference.device import gpu_info
from tests.helpers import ENGLISH, encode, render_lines


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs")
    jpeg = encode(render_lines(ENGLISH), "JPEG", quality=92)
    for name in ("document.jpg", "image.jpg", "doc1.jpg", "doc2.jpg", "doc3.jpg", "test.jpg"):
        (folder / name).write_bytes(jpeg)
    return folder


def curl(command: str, base: str, cwd) -> tuple[int, dict]:
    command = command.replace("http://localhost:8000", base)
    out = subprocess.run(
        command + ' -s -w "\\n%{http_code}"', shell=True, cwd=cwd, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    body, _, status = out.rpartition("\n")
    return int(status), json.loads(body)


def test_curl_examples(tiny_server, docs):
    base = tiny_server.replace("127.0.0.1", "localhost")
    status, body = curl(
        '''curl -X POST "http://localhost:8000/ocr?model=qwen3_vl_2b" \\
  -F "file=@document.jpg"''',
        base,
        docs,
    )
    assert status == 200 and body["model"] == "qwen3_vl_2b" and isinstance(body["text"], str)
    assert set(body) >= {"text", "model", "processing_time", "image_size", "language"} and body["language"] is None

    status, body = curl(
        '''curl -X POST "http://localhost:8000/chat" \\
  -F "file=@image.jpg" \\
  -F "prompt=What's in this image?" \\
  -F "model=qwen3_vl_4b" \\
  -F "temperature=0.7"''',
        base,
        docs,
    )
    assert status == 200 and body["model"] == "qwen3_vl_4b" and body["prompt"] == "What's in this image?"
    assert isinstance(body["response"], str) and body["processing_time"] > 0

    status, body = curl(
        '''curl -X POST "http://localhost:8000/batch/ocr?model=qwen3_vl_2b" \\
  -F "files=@doc1.jpg" \\
  -F "files=@doc2.jpg" \\
  -F "files=@doc3.jpg"''',
        base,
        docs,
    )
    assert status == 200 and (body["total"], body["successful"], body["failed"]) == (3, 3, 0)
    assert [r["filename"] for r in body["results"]] == ["doc1.jpg", "doc2.jpg", "doc3.jpg"]

    curl('''curl -X POST http://localhost:8000/ocr?model=qwen3_vl_8b -F "file=@test.jpg"''', base, docs)
    status, body = curl('''curl -X DELETE "http://localhost:8000/models/qwen3_vl_8b"''', base, docs)
    assert status == 200 and body == {"status": "success", "message": "Model qwen3_vl_8b unloaded"}

    status, body = curl("curl http://localhost:8000/health", base, docs)
    assert status == 200 and body["status"] == "healthy" and body["gpu_available"] is gpu_info().available
    status, body = curl("curl http://localhost:8000/models", base, docs)
    assert {"got_ocr", "qwen3_vl_2b"} <= {m["id"] for m in body["available"]}
    status, body = curl("curl http://localhost:8000/", base, docs)
    assert body == {"message": "ChatVLMLLM API", "version": "1.0.0", "docs": "/docs", "health": "/health"}


def test_requests_examples(tiny_server, docs, monkeypatch):
    monkeypatch.chdir(docs)
    url = tiny_server
    printed = []
    print = printed.append  # noqa: A001  (the guide's examples print; keep what they print)

    # OCR
    with open("document.jpg", "rb") as f:
        response = requests.post(f"{url}/ocr", files={"file": f}, params={"model": "qwen3_vl_2b"})
        print(response.json()["text"])

    # Chat
    with open("image.jpg", "rb") as f:
        response = requests.post(
            f"{url}/chat", files={"file": f}, data={"prompt": "Describe this image", "model": "qwen3_vl_4b", "temperature": 0.7}
        )
        print(response.json()["response"])

    # Batch
    files = [
        ("files", open("doc1.jpg", "rb")),  # noqa: SIM115 (as in the guide)
        ("files", open("doc2.jpg", "rb")),  # noqa: SIM115
    ]
    response = requests.post(f"{url}/batch/ocr", files=files, params={"model": "qwen3_vl_2b"})
    print(f"Processed {response.json()['successful']} files")
    for _, f in files:
        f.close()

    assert all(isinstance(p, str) for p in printed) and printed[-1] == "Processed 2 files"

    # Error handling
    try:
        response = requests.post(f"{url}/ocr", files={"file": ("x.jpg", b"")})
        response.raise_for_status()
        result = response.json()
        raise AssertionError(f"an empty file was accepted: {result}")
    except requests.exceptions.HTTPError as e:
        assert e.response.status_code == 400 and "empty" in e.response.json()["detail"]

    # Concurrent requests
    def process_image(image_path):
        with open(image_path, "rb") as f:
            response = requests.post(f"{url}/ocr", files={"file": f})
            return response.json()

    image_paths = ["doc1.jpg", "doc2.jpg", "doc3.jpg"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
        results = list(executor.map(process_image, image_paths))
    assert all("Invoice" in r["text"] for r in results)  # the default OCR model on a CPU host is the embedded engine


@pytest.mark.slow  # a release check: a load test (8 OCR requests at once)
def test_concurrent_ocr_while_health_answers(live_server):
    """8 OCR requests at once all succeed, and /health keeps answering meanwhile."""
    page = encode(render_lines(ENGLISH * 6, font_size=30))
    # the model the requests below use (the live server's default) is loaded first: they time the reading, not the load
    assert httpx.post(f"{live_server}/models/embedded/load", timeout=120).status_code == 200

    def ocr(_):
        return httpx.post(f"{live_server}/ocr", files={"file": ("p.png", page)}, timeout=300)

    health_latencies = []
    # one client for the health checks: each of httpx.get's loads the CA certificates (~25 ms of CPU, taken from the OCR)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool, httpx.Client(timeout=10) as http:
        futures = [pool.submit(ocr, i) for i in range(8)]
        while not all(f.done() for f in futures):
            t0 = time.perf_counter()
            assert http.get(f"{live_server}/health").status_code == 200
            health_latencies.append(time.perf_counter() - t0)
            time.sleep(0.05)
        responses = [f.result() for f in futures]
    assert [r.status_code for r in responses] == [200] * 8
    assert all("Invoice" in r.json()["text"] for r in responses)
    assert len(health_latencies) >= 3 and max(health_latencies) < 2.0, health_latencies
