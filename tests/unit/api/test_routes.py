"""Every REST route through FastAPI's test client: the API guide's fields, types and status codes."""

import re

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from inference.device import gpu_info
from tests.conftest import LOCAL
from tests.helpers import ENGLISH, cer, encode


def test_root_serves_json_to_api_clients_and_html_to_browsers(app):
    client = TestClient(app, base_url=LOCAL)  # the assembled app (the UI at /), not started: the root needs no model
    info = client.get("/", headers={"Accept": "*/*"})
    assert info.status_code == 200
    assert info.json() == {"message": "ChatVLMLLM API", "version": "1.0.0", "docs": "/docs", "health": "/health"}
    page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text.lower()


def test_health(client):
    body = client.get("/health").json()
    assert body["status"] == "healthy"
    assert isinstance(body["gpu_available"], bool)
    assert body["gpu_name"] is None or isinstance(body["gpu_name"], str)
    assert body["models_loaded"] == len(body["loaded_models"])


def test_models(client):
    body = client.get("/models").json()
    assert isinstance(body["loaded"], list)
    for model in body["available"]:
        assert {"id", "name", "params"} <= model.keys()
    assert "rapidocr" in [m["id"] for m in body["available"]]


def test_models_say_why_a_model_cannot_run_yet(client):
    # (its weights not here: /models said nothing, where the Models tab and the log said "weights not downloaded")
    handles = {h.id: h for h in client.app.state.service.catalog.handles()}
    body = client.get("/models").json()
    waiting = [m for m in body["available"] if m["state"] == "unloaded" and handles[m["id"]].missing()]
    if not waiting:  # (a host with every configured model's weights: nothing to say)
        pytest.skip("every configured model's weights are on this host")
    for model in waiting:
        assert model["note"] == handles[model["id"]].missing(), model


def test_docs_and_redoc(client):
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/models", "/ocr", "/chat", "/batch/ocr", "/models/{model_name}"} <= paths.keys()


def test_ocr_fields_and_text(client, english_png):
    response = client.post("/ocr", files={"file": ("document.png", english_png, "image/png")})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "embedded" and body["language"] is None
    assert isinstance(body["processing_time"], float) and body["processing_time"] > 0
    assert body["image_size"] == list(Image.open(__import__("io").BytesIO(english_png)).size)
    assert cer(body["text"], "\n".join(ENGLISH)) <= 0.05


@pytest.mark.parametrize("where", ["params", "data"])
def test_ocr_parameters_as_query_or_form(client, english_png, where):
    response = client.post("/ocr", files={"file": ("d.png", english_png)}, **{where: {"model": "rapidocr", "language": "en"}})
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "rapidocr" and response.json()["language"] == "en"


def test_a_parameter_in_both_query_and_form_takes_the_form_value(client, english_png):
    response = client.post(
        "/ocr", files={"file": ("d.png", english_png)}, params={"model": "tesseract"}, data={"model": "rapidocr"}
    )
    assert response.status_code == 200 and response.json()["model"] == "rapidocr"


def test_batch(client, english_png):
    files = [("files", ("doc1.png", english_png)), ("files", ("doc2.jpg", b"not an image")), ("files", ("doc3.png", english_png))]
    body = client.post("/batch/ocr", files=files, params={"model": "rapidocr"}).json()
    assert (body["total"], body["successful"], body["failed"]) == (3, 2, 1)
    assert [r["filename"] for r in body["results"]] == ["doc1.png", "doc2.jpg", "doc3.png"]
    for item in body["results"]:
        assert {"filename", "text", "processing_time", "status"} <= item.keys()
    assert body["results"][1]["status"] == "error" and body["results"][1]["error"]


def test_batch_oversize_file_fails_alone(client, settings, english_png):
    big = b"\0" * (settings.limits.max_file_bytes + 10)
    body = client.post("/batch/ocr", files=[("files", ("ok.png", english_png)), ("files", ("big.png", big))]).json()
    assert [r["status"] for r in body["results"]] == ["success", "error"]
    assert "limit" in body["results"][1]["error"]


def test_unload(client, english_png):
    client.post("/ocr", files={"file": ("d.png", english_png)}, params={"model": "rapidocr"})
    assert "rapidocr" in client.get("/models").json()["loaded"]
    body = client.delete("/models/rapidocr").json()
    assert body == {"status": "success", "message": "Model rapidocr unloaded"}
    assert "rapidocr" not in client.get("/health").json()["loaded_models"]
    again = client.delete("/models/rapidocr")
    assert again.status_code == 200 and "not loaded" in again.json()["message"]
    assert client.post("/ocr", files={"file": ("d.png", english_png)}, params={"model": "rapidocr"}).status_code == 200
    assert "rapidocr" in client.get("/models").json()["loaded"]


def test_load_route(client):
    body = client.post("/models/rapidocr/load").json()
    assert body["id"] == "rapidocr" and body["state"] == "ready"


def test_chat_on_an_ocr_engine_and_on_missing_weights(client, english_png):
    response = client.post(
        "/chat",
        files={"file": ("d.png", english_png)},
        data={"prompt": "What's in this image?", "model": "rapidocr", "temperature": 0.7},
    )
    assert response.status_code == 400
    assert "cannot chat" in response.json()["detail"] and "Models that can" in response.json()["detail"]
    default = client.post("/chat", files={"file": ("d.png", english_png)}, data={"prompt": "Describe"})
    fetch = "qwen3_vl_2b" if gpu_info().available else "smolvlm2_500m"  # the model `auto` would use here
    assert default.status_code == 503 and f"python -m inference.download {fetch}" in default.json()["detail"]


def test_jpeg_with_exif_rotation_reports_upright_size(client):
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(Image.new("RGB", (120, 40), "white"), "JPEG", exif=exif.tobytes())
    assert client.post("/ocr", files={"file": ("r.jpg", data)}).json()["image_size"] == [40, 120]


def test_a_request_never_starts_a_download_an_admin_load_may(client, english_png):
    # a user's request for a model whose weights are absent: refused at once, the model not even tried (no load,
    # no download); the administrator's load is what fetches (offline here: it says what to run)
    response = client.post("/ocr?model=qwen3_vl_8b", files={"file": ("d.png", english_png)})
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "qwen3_vl_8b" in detail and "not downloaded" in detail and "POST /models/qwen3_vl_8b/load" in detail
    assert "python -m inference.download qwen3_vl_8b" in detail  # (no filesystem path, and routes not taken for one)
    states = {m["id"]: m["state"] for m in client.get("/models").json()["available"]}
    assert states["qwen3_vl_8b"] == "unloaded"
    response = client.post("/models/qwen3_vl_8b/load")
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "Qwen/Qwen3-VL-8B-Instruct" in detail and "Hugging Face cache" in detail
    assert "python -m inference.download qwen3_vl_8b" in detail
    states = {m["id"]: m["state"] for m in client.get("/models").json()["available"]}
    assert states["qwen3_vl_8b"] == "error"
    client.post("/models/qwen3_vl_8b/unload")  # the error cleared: others' tests see it unloaded


def test_every_path_of_the_schema_refuses_the_other_methods_with_the_ones_it_documents(app):
    """The 405's Allow header of each REST path is what the OpenAPI schema documents for it (HEAD beside GET), and
    each documented method gets through the guard (the assembled app: Gradio at / would take the rest)."""
    client = TestClient(app, base_url=LOCAL)
    paths = app.openapi()["paths"]
    assert len(paths) >= 15
    for path, operations in paths.items():
        url = re.sub(r"\{[^/}]+\}", "x", path)
        documented = {method.upper() for method in operations} | ({"HEAD"} if "get" in operations else set())
        refused = client.request("PATCH", url)
        assert refused.status_code == 405, (path, refused.status_code)
        assert set(refused.headers["Allow"].split(", ")) == documented, (path, refused.headers["Allow"])
        for method in documented - {"HEAD"}:
            assert client.request(method, url).status_code != 405, (path, method)
        options = client.request("OPTIONS", url)  # (not a CORS preflight: the methods it takes)
        assert options.status_code == 204 and set(options.headers["Allow"].split(", ")) == documented | {"OPTIONS"}
