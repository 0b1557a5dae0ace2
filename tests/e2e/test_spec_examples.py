"""The API guide's curl and requests examples, against a live `python app.py` on a free port.

The examples are copied from the guide with only the port changed, and the model
ids replaced by ones this server's config offers (the guide's Qwen ids need the
vision-language backend and their weights).
"""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import time

import httpx
import pytest
import requests

from tests.helpers import ENGLISH, cer, encode, render_lines

OCR_MODEL, CHAT_MODEL = "rapidocr", "rapidocr"


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs")
    jpeg = encode(render_lines(ENGLISH), "JPEG", quality=92)
    for name in ("document.jpg", "image.jpg", "doc1.jpg", "doc2.jpg", "doc3.jpg", "test.jpg"):
        (folder / name).write_bytes(jpeg)
    return folder


def curl(command: str, cwd) -> tuple[int, dict]:
    out = subprocess.run(command + ' -s -w "\\n%{http_code}"', shell=True, cwd=cwd, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    body, _, status = out.rpartition("\n")
    return int(status), json.loads(body)


def test_curl_examples(live_server, docs):
    base = live_server.replace("127.0.0.1", "localhost")
    status, body = curl(f'curl -X POST "{base}/ocr?model={OCR_MODEL}" \\\n  -F "file=@document.jpg"', docs)
    assert status == 200 and body["model"] == OCR_MODEL and cer(body["text"], "\n".join(ENGLISH)) <= 0.05
    assert {"text", "model", "processing_time", "image_size", "language"} <= body.keys()

    status, body = curl(f'curl -X POST "{base}/batch/ocr?model={OCR_MODEL}" \\\n  -F "files=@doc1.jpg" \\\n'
                        '  -F "files=@doc2.jpg" \\\n  -F "files=@doc3.jpg"', docs)
    assert status == 200 and (body["total"], body["successful"], body["failed"]) == (3, 3, 0)

    status, body = curl(f'curl -X POST "{base}/chat" \\\n  -F "file=@image.jpg" \\\n  -F "prompt=What\'s in this image?" '
                        f'\\\n  -F "model={CHAT_MODEL}" \\\n  -F "temperature=0.7"', docs)
    assert status == 400 and "cannot chat" in body["detail"]  # this config has no chat model

    status, body = curl(f'curl -X DELETE "{base}/models/{OCR_MODEL}"', docs)
    assert status == 200 and body == {"status": "success", "message": f"Model {OCR_MODEL} unloaded"}

    status, body = curl(f'curl -X POST {base}/ocr?model={OCR_MODEL} -F "file=@test.jpg"', docs)  # troubleshooting
    assert status == 200
    for path in ("/", "/health", "/models"):
        status, body = curl(f"curl {base}{path}", docs)
        assert status == 200
    assert curl(f"curl {base}/", docs)[1]["docs"] == "/docs"


def test_requests_examples(live_server, docs, monkeypatch):
    monkeypatch.chdir(docs)
    url = live_server

    # OCR
    with open('document.jpg', 'rb') as f:
        response = requests.post(f'{url}/ocr', files={'file': f}, params={'model': OCR_MODEL})
        assert "Invoice" in response.json()['text']

    # Chat
    with open('image.jpg', 'rb') as f:
        response = requests.post(f'{url}/chat', files={'file': f},
                                 data={'prompt': 'Describe this image', 'model': CHAT_MODEL, 'temperature': 0.7})
        assert response.status_code == 400 and "cannot chat" in response.json()['detail']

    # Batch
    files = [('files', open('doc1.jpg', 'rb')), ('files', open('doc2.jpg', 'rb'))]  # noqa: SIM115 (as in the guide)
    response = requests.post(f'{url}/batch/ocr', files=files, params={'model': OCR_MODEL})
    assert response.json()['successful'] == 2
    for _, f in files:
        f.close()

    # Error handling
    with pytest.raises(requests.exceptions.HTTPError) as error:
        response = requests.post(f'{url}/ocr', files={'file': ('x.jpg', b'')})
        response.raise_for_status()
    assert "empty" in error.value.response.json()['detail']

    # Concurrent requests, with the default model
    def process_image(image_path):
        with open(image_path, 'rb') as f:
            response = requests.post(f'{url}/ocr', files={'file': f})
            return response.json()

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
        results = list(executor.map(process_image, ['doc1.jpg', 'doc2.jpg', 'doc3.jpg']))
    assert all("Invoice" in r["text"] for r in results)


def test_concurrent_ocr_while_health_answers(live_server, english_png):
    """8 OCR requests at once all succeed, and /health keeps answering meanwhile."""
    page = encode(render_lines(ENGLISH * 6, font_size=30))
    httpx.post(f"{live_server}/models/rapidocr/load", timeout=120)

    def ocr(_):
        return httpx.post(f"{live_server}/ocr", files={"file": ("p.png", page)}, timeout=300)

    health_latencies = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(ocr, i) for i in range(8)]
        while not all(f.done() for f in futures):
            t0 = time.perf_counter()
            assert httpx.get(f"{live_server}/health", timeout=10).status_code == 200
            health_latencies.append(time.perf_counter() - t0)
            time.sleep(0.05)
        responses = [f.result() for f in futures]
    assert [r.status_code for r in responses] == [200] * 8
    assert all("Invoice" in r.json()["text"] for r in responses)
    assert len(health_latencies) >= 3 and max(health_latencies) < 2.0, health_latencies
