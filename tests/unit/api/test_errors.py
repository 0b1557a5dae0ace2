"""Bad input: each case gets its 4xx and a readable detail, and the next good request still works."""

import json

import pytest
from PIL import Image

from tests.helpers import encode, needs_tesseract

OCR_CASES = [
    ("zero bytes", {"file": ("empty.jpg", b"")}, {}, 400, "empty"),
    ("text named .jpg", {"file": ("fake.jpg", b"just some text")}, {}, 400, "not an image"),
    (
        "truncated png",
        {"file": ("cut.png", encode(Image.effect_noise((300, 300), 60).convert("RGB"))[:4000])},
        {},
        400,
        "truncated",
    ),
    ("decompression bomb", {"file": ("bomb.png", encode(Image.new("1", (12000, 12000))))}, {}, 400, "pixels"),
    (
        "unknown model",
        {"file": ("d.png", None)},
        {"model": "qwen99"},
        404,
        "Models that can do OCR: lightonocr_3_1b, lightonocr_3_0_8b, lightonocr_3_4b, qwen3_vl_2b, qwen3_vl_4b",
    ),
    ("missing file", {}, {"model": "rapidocr"}, 400, "'file' is required"),
    ("bad language", {"file": ("d.png", None)}, {"language": "<b>"}, 400, "language"),
]


@pytest.mark.parametrize(("name", "files", "params", "status", "words"), OCR_CASES, ids=[c[0] for c in OCR_CASES])
def test_bad_ocr_requests(client, english_png, name, files, params, status, words):
    files = {k: (fn, data if data is not None else english_png) for k, (fn, data) in files.items()}
    response = client.post("/ocr", files=files or None, params=params, data={} if files else {"x": "1"})
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and words in detail
    assert "Traceback" not in detail and "/" not in detail.replace("/models", "")
    assert client.post("/ocr", files={"file": ("ok.png", english_png)}).status_code == 200


def test_oversize_file_is_413(client, settings, english_png):
    big = b"\x89PNG" + b"\0" * settings.limits.max_file_bytes
    response = client.post("/ocr", files={"file": ("big.png", big)})
    assert response.status_code == 413 and "limit" in response.json()["detail"]
    assert client.post("/ocr", files={"file": ("ok.png", english_png)}).status_code == 200


def test_too_many_batch_files(client, settings, english_png):
    files = [("files", (f"{i}.png", english_png)) for i in range(settings.limits.max_batch_files + 1)]
    response = client.post("/batch/ocr", files=files)
    assert response.status_code == 400 and "Too many files" in response.json()["detail"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"prompt": "hi", "temperature": "2.0"}, "temperature"),
        ({"prompt": "hi", "temperature": "warm"}, "temperature"),
        ({"prompt": "hi", "max_tokens": "-5"}, "max_tokens"),
        ({"temperature": "0.5"}, "prompt"),
    ],
)
def test_bad_chat_parameters(client, english_png, data, words):
    response = client.post("/chat", files={"file": ("d.png", english_png)}, data={"model": "rapidocr", **data})
    assert response.status_code == 400 and words in response.json()["detail"]


def test_unknown_model_on_delete(client):
    response = client.delete("/models/nope")
    assert response.status_code == 404 and "rapidocr" in response.json()["detail"]


def test_unknown_route_is_404(client):
    assert client.get("/no/such/route").status_code == 404


def test_unexpected_failure_is_a_500_that_leaks_nothing(client, english_png, monkeypatch):
    import rapidocr

    def engine_crash(self, *args, **kwargs):  # a fault inside the third-party OCR engine
        raise RuntimeError("onnxruntime exploded at /secret/path/model.onnx")

    assert client.post("/models/rapidocr/load").status_code == 200
    monkeypatch.setattr(rapidocr.RapidOCR, "detect_and_crop", engine_crash)
    response = client.post("/ocr", files={"file": ("d.png", english_png)}, params={"model": "rapidocr"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error. The server log has the details."}
    monkeypatch.undo()
    assert client.post("/ocr", files={"file": ("d.png", english_png)}).status_code == 200


ODD_SHAPES = [(1, 1), (3, 3), (1, 10000), (10000, 8)]


@pytest.mark.parametrize("model", ["embedded", "rapidocr", pytest.param("tesseract", marks=needs_tesseract)])
def test_odd_image_shapes_are_read_not_crashed_on(client, model):
    """Engines resize images; a side that rounds to nothing used to be a 500."""
    for size in ODD_SHAPES:
        image = encode(Image.new("RGB", size, "white"))
        response = client.post("/ocr", params={"model": model}, files={"file": ("odd.png", image)})
        assert response.status_code == 200, (size, response.json())
        assert response.json()["image_size"] == list(size)


def test_odd_image_shapes_with_the_vision_language_models(tiny_client):
    for size in ODD_SHAPES:
        image = encode(Image.new("RGB", size))
        for model in ("qwen3_vl_2b", "got_ocr"):
            response = tiny_client.post("/ocr", params={"model": model}, files={"file": ("odd.png", image)})
            assert response.status_code == 200, (size, model, response.json())
        response = tiny_client.post(
            "/chat", params={"model": "qwen3_vl_2b", "max_tokens": 2}, data={"prompt": "hi"}, files={"file": ("odd.png", image)}
        )
        assert response.status_code == 200, (size, response.json())


def test_a_second_file_is_refused_not_read_instead_of_the_first(client, english_png):
    for route, data in (("/ocr", {}), ("/chat", {"prompt": "Hi", "model": "rapidocr"})):
        files = [("file", ("a.png", english_png)), ("file", ("b.png", english_png))]
        response = client.post(route, files=files, data=data)
        assert response.status_code == 400, (route, response.text)
        assert "'file' was given more than once" in response.json()["detail"] and "/batch/ocr" in response.json()["detail"]


def test_messages_keep_the_routes_they_name(tiny_client):
    # (paths are cut out of messages; the server's own routes are not paths of its disk)
    pdf = encode(Image.new("RGB", (200, 100), "white"), "PDF")
    response = tiny_client.post("/chat", files={"file": ("r.pdf", pdf)}, data={"prompt": "Hi", "model": "qwen3_vl_2b"})
    detail = response.json()["detail"]
    assert "is a PDF: OCR reads PDFs (/ocr, /batch/ocr, /jobs)" in detail and "<path>" not in detail


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "the body must be a JSON object"),
        (b"[1, 2]", "the body must be a JSON object"),
        (b'{"model": "x",}', "not valid JSON (Expecting property name enclosed in double quotes at character 14)"),
        (b'{"messages": 5}', "messages: Input should be a valid list"),
    ],
)
def test_openai_bodies_that_are_no_request_say_what_is_wrong(client, body, words):
    response = client.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]


def test_openai_bodies_that_cost_the_server_are_refused_at_once(tiny_client):
    # (unbounded lists were validated item by item: a 10 MiB body of empty stop objects held ~5 GB; a seed past 64
    # bits and an unpaired surrogate were 500s from torch and the tokenizer)
    def ask(**extra):
        body = {"model": "qwen3_vl_2b", "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}], **extra}
        content = json.dumps(body)  # (ASCII: an unpaired surrogate goes as JSON's escape)
        return tiny_client.post("/v1/chat/completions", content=content, headers={"Content-Type": "application/json"})

    cases = [
        ({"stop": [{}] * 300_000}, "more than 200,000 items"),  # (refused as it streams in: api/body_limit.py)
        ({"stop": [{}] * 50_000}, "stop"),  # (under that: refused at the list's length, not item by item)
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"messages": [1] * 100_000}, "messages"),
        ({"messages": [{"role": "user", "content": [1] * 100_000}]}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}] * 200}, "messages"),
        ({"seed": 2**80}, "seed"),
        ({"messages": [{"role": "user", "content": "hi \ud800"}]}, "not valid Unicode"),
        ({"messages": [{"role": "system", "content": "\udfff"}, {"role": "user", "content": "hi"}]}, "not valid Unicode"),
    ]
    for extra, words in cases:
        response = ask(**extra)
        assert response.status_code == 400, (words, response.text[:300])
        assert words in response.json()["error"]["message"], (words, response.text[:300])
    assert ask(seed=2**63 - 1, stop=["x"] * 4).status_code == 200
    unknown = ask(model="q\ud800")  # echoed in the message: replaced, not a 500 that cannot encode it
    assert unknown.status_code == 404 and "Unknown model 'q?'" in unknown.json()["error"]["message"]


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("OCR reads PDFs (/ocr, /batch/ocr, /jobs); here", "OCR reads PDFs (/ocr, /batch/ocr, /jobs); here"),
        ("POST /models/qwen3_vl_2b/load, or GET /jobs/{id}/events.", "POST /models/qwen3_vl_2b/load, or GET /jobs/{id}/events."),
        ("see /jobs/0123456789abcdef0123456789abcdef/result", "see /jobs/0123456789abcdef0123456789abcdef/result"),
        ("cannot open /jobs/jobs.sqlite3", "cannot open <path>"),  # (a data directory at /jobs: a path)
        ("cannot open /jobs/.env or /models/../load", "cannot open <path> or <path>"),
        ("read /gradio_api/etc/shadow", "read <path>"),
        ("weights in /models/qwen/model.safetensors", "weights in <path>"),
    ],
)
def test_messages_keep_the_servers_routes_and_lose_its_paths(message, shown):
    from inference.errors import redact_paths

    assert redact_paths(message) == shown
