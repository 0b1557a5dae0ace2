"""What an operator sees: Prometheus metrics that move with the work, API docs that work offline, and an OpenAPI
schema that tells the truth."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import ENGLISH, encode, render_lines

PNG = encode(render_lines(ENGLISH[:1]))


def samples(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_prometheus_text_and_move_with_requests(client):
    client.post("/ocr", params={"model": "rapidocr"}, files={"file": ("d.png", PNG)})
    before = samples(client)
    for _ in range(2):
        assert client.post("/ocr", params={"model": "rapidocr"}, files={"file": ("d.png", PNG)}).status_code == 200
    assert client.post("/ocr", params={"model": "rapidocr"}, files={"file": ("x.png", b"junk")}).status_code == 400
    after = samples(client)
    ok = {"route": "/ocr", "model": "rapidocr", "status": "200"}
    assert value(after, "chatvlm_requests_total", **ok) - value(before, "chatvlm_requests_total", **ok) == 2
    assert value(after, "chatvlm_requests_total", route="/ocr", model="rapidocr", status="400") >= 1
    assert value(after, "chatvlm_request_seconds_count", route="/ocr", model="rapidocr") > value(
        before, "chatvlm_request_seconds_count", route="/ocr", model="rapidocr"
    )
    assert (
        value(after, "chatvlm_batch_size_count", model="rapidocr") - value(before, "chatvlm_batch_size_count", model="rapidocr")
        == 2
    )
    assert value(after, "chatvlm_model_state", model="rapidocr", state="ready") == 1.0
    assert value(after, "chatvlm_model_state", model="rapidocr", state="unloaded") == 0.0
    assert value(after, "chatvlm_model_load_seconds", model="rapidocr") > 0
    assert ("chatvlm_queue_waiting", (("model", "rapidocr"),)) in after
    assert ("chatvlm_queue_running", (("model", "rapidocr"),)) in after


def test_tokens_generated_are_counted(tiny_client):
    def tokens(found):
        return value(found, "chatvlm_generated_tokens_total", model="qwen3_vl_2b")

    before = samples(tiny_client)
    response = tiny_client.post(
        "/chat",
        files={"file": ("d.png", PNG)},
        data={"prompt": "Describe", "model": "qwen3_vl_2b", "temperature": "0", "max_tokens": "5"},
    )
    assert response.status_code == 200
    assert tokens(samples(tiny_client)) - tokens(before) == 5  # the tiny model never stops early


def test_api_docs_work_offline(client):
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        outside = [url for url in re.findall(r"""(?:src|href)=["']([^"']+)""", html) if "://" in url]
        assert outside == [], (page, outside)
        assets = re.findall(r"""["'](/static-offline-docs/[^"']+)""", html)
        assert assets, page
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
        assert "cdn." not in html and "fonts.googleapis" not in html


def test_the_schema_documents_every_status_and_never_422(client):
    schema = client.get("/openapi.json").json()
    text = client.get("/openapi.json").text
    assert '"422"' not in text and "HTTPValidationError" not in text
    expected = {
        ("/ocr", "post"): {"200", "400", "403", "404", "413", "503"},
        ("/chat", "post"): {"200", "400", "403", "404", "413", "503"},
        ("/batch/ocr", "post"): {"200", "400", "403", "404", "413", "503"},
        ("/models/{model_name}/load", "post"): {"200", "403", "404", "503"},
        ("/models/{model_name}", "delete"): {"200", "403", "404"},
        ("/ready", "get"): {"200", "503"},
    }
    for (path, method), statuses in expected.items():
        responses = schema["paths"][path][method]["responses"]
        assert set(responses) == statuses, (path, method, set(responses))
        for status in statuses - {"200"}:
            if path != "/ready":
                assert responses[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert "securitySchemes" not in schema.get("components", {})  # keys are off here


def test_with_keys_and_limits_the_schema_shows_security_and_429(settings):
    from fastapi.testclient import TestClient

    from api.server import create_api
    from tests.conftest import LOCAL

    configured = settings.model_copy(deep=True)
    configured.auth.api_keys = ["user:user-key-0123456789"]
    configured.limits.rate_limit = "100/minute"
    with TestClient(create_api(configured), base_url=LOCAL) as client:
        schema = client.get("/openapi.json").json()
    assert set(schema["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    ocr = schema["paths"]["/ocr"]["post"]
    assert {"401", "403", "429"} <= set(ocr["responses"]) and ocr["security"]
    assert "security" not in schema["paths"]["/health"]["get"]  # probes stay open
    assert "429" in schema["paths"]["/models"]["get"]["responses"]  # a read too, when its sender's wrong keys are over
    configured.auth.api_keys = []  # keys off: no wrong-key limit, and reads are not charged to the rate limit
    with TestClient(create_api(configured), base_url=LOCAL) as client:
        schema = client.get("/openapi.json").json()
    assert "429" in schema["paths"]["/ocr"]["post"]["responses"]
    assert "429" not in schema["paths"]["/models"]["get"]["responses"]
