"""REST routes with the tiny vision-language models (CHATVLM_CONFIG=<tiny>/config.yaml)."""

from inference.device import gpu_info
from tests.helpers import ENGLISH, encode, render_lines

PNG = encode(render_lines(ENGLISH))


def chat(client, **data):
    return client.post("/chat", files={"file": ("image.png", PNG)}, data={"prompt": "Describe", **data})


def test_models_and_defaults(tiny_client):
    body = tiny_client.get("/models").json()
    by_id = {m["id"]: m for m in body["available"]}
    assert by_id["qwen3_vl_2b"]["name"] == "Qwen3-VL 2B" and by_id["qwen3_vl_2b"]["params"] == "2B"
    assert by_id["got_ocr"]["name"] == "GOT-OCR 2.0" and by_id["got_ocr"]["params"] == "580M"
    assert {"qwen3_vl_4b", "qwen3_vl_8b"} <= by_id.keys()
    gpu = gpu_info().available
    assert body["defaults"] == {"ocr": "qwen3_vl_2b" if gpu else "embedded", "chat": "qwen3_vl_2b" if gpu else "smolvlm2_500m"}


def test_chat_fields_and_greedy_determinism(tiny_client):
    first = chat(tiny_client, model="qwen3_vl_2b", temperature="0", max_tokens="8")
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) >= {"response", "model", "processing_time", "prompt"}
    assert body["model"] == "qwen3_vl_2b" and body["prompt"] == "Describe" and isinstance(body["response"], str)
    assert chat(tiny_client, model="qwen3_vl_2b", temperature="0", max_tokens="8").json()["response"] == body["response"]


def test_chat_default_follows_the_host_and_honours_max_tokens_in_the_query(tiny_client):
    response = tiny_client.post("/chat?max_tokens=3&temperature=0", files={"file": ("i.png", PNG)}, data={"prompt": "Describe"})
    expected = "qwen3_vl_2b" if gpu_info().available else "smolvlm2_500m"
    assert response.status_code == 200 and response.json()["model"] == expected
    assert len(response.json()["response"]) <= 3


def test_ocr_with_each_vlm(tiny_client):
    for model in ("qwen3_vl_2b", "got_ocr"):
        response = tiny_client.post(f"/ocr?model={model}", files={"file": ("d.png", PNG)}, data={"language": "en"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["model"] == model and isinstance(body["text"], str) and body["language"] == "en"
        assert body["image_size"] == list(render_lines(ENGLISH).size)
        assert "<|im_end|>" not in body["text"] and "<|im_start|>" not in body["text"]


def test_batch_with_a_vlm(tiny_client):
    files = [("files", ("a.png", PNG)), ("files", ("b.jpg", b"broken")), ("files", ("c.png", PNG))]
    body = tiny_client.post("/batch/ocr?model=got_ocr", files=files).json()
    assert (body["total"], body["successful"], body["failed"]) == (3, 2, 1) and body["model"] == "got_ocr"


def test_unload_and_reload(tiny_client):
    assert chat(tiny_client, model="qwen3_vl_8b", max_tokens="2").status_code == 200
    assert "qwen3_vl_8b" in tiny_client.get("/health").json()["loaded_models"]
    assert tiny_client.delete("/models/qwen3_vl_8b").json() == {"status": "success", "message": "Model qwen3_vl_8b unloaded"}
    assert "qwen3_vl_8b" not in tiny_client.get("/models").json()["loaded"]
    assert chat(tiny_client, model="qwen3_vl_8b", max_tokens="2").status_code == 200
    assert "qwen3_vl_8b" in tiny_client.get("/models").json()["loaded"]


def test_got_ocr_cannot_chat(tiny_client):
    response = chat(tiny_client, model="got_ocr")
    assert response.status_code == 400 and "qwen3_vl_2b" in response.json()["detail"]
