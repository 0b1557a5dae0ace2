"""Every jobs endpoint carries examples in the OpenAPI schema (issue #20, point 7): the request's fields (priority
among them) and the Idempotency-Key header, and an example of each answer that the answer's own model accepts."""

from __future__ import annotations

import json
import re

from inference.idempotency import KEY_PATTERN, MAX_KEY_CHARS, check_key
from inference.results import BatchResult, JobList, JobStatus

OPERATIONS = {
    ("post", "/jobs"): {"202": JobStatus, "200": JobStatus},
    ("get", "/jobs"): {"200": JobList},
    ("get", "/jobs/{job_id}"): {"200": JobStatus},
    ("get", "/jobs/{job_id}/result"): {"200": BatchResult},
    ("delete", "/jobs/{job_id}"): {"200": JobStatus},
}


def example(answer: dict) -> object:
    return answer["content"]["application/json"]["example"]


def test_every_jobs_endpoint_has_examples_its_models_accept(app):
    schema = app.openapi()
    for (method, path), models in OPERATIONS.items():
        operation = schema["paths"][path][method]
        for code, model in models.items():
            model.model_validate(example(operation["responses"][code]))  # raises if the example is not a valid answer
        for parameter in operation.get("parameters", []):
            assert parameter["schema"].get("examples"), (method, path, parameter["name"])
        for code, answer in operation["responses"].items():
            if code in ("409", "429") and method == "post":
                assert example(answer)["detail"], (path, code)

    events = schema["paths"]["/jobs/{job_id}/events"]["get"]
    stream = events["responses"]["200"]["content"]["text/event-stream"]["example"]
    blocks = [block for block in stream.split("\n\n") if block]
    assert [line.split(": ", 1)[1] for block in blocks for line in block.splitlines() if line.startswith("event: ")] == [
        "state",
        "page",
        "page",
        "end",
    ]
    for block in blocks:  # each event's data is JSON, as a client parses it
        json.loads(next(line for line in block.splitlines() if line.startswith("data: "))[6:])

    submit = schema["paths"]["/jobs"]["post"]
    form = submit["requestBody"]["content"]["multipart/form-data"]
    assert {"files", "model", "language", "pages", "priority"} <= set(form["example"]) and form["example"]["priority"] in (
        "low",
        "normal",
        "high",
    )
    body = schema["components"]["schemas"][form["schema"]["$ref"].rsplit("/", 1)[1]]
    assert set(form["example"]) <= set(body["properties"])  # only fields the body has
    header = next(p for p in submit["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and not header.get("required")
    assert header["schema"]["maxLength"] == MAX_KEY_CHARS and header["schema"]["pattern"] == KEY_PATTERN  # as checked
    key = header["schema"]["examples"][0]
    assert check_key(key) == key and re.fullmatch(header["schema"]["pattern"], key)
    assert "Idempotency-Key" in submit["responses"]["409"]["description"]
    assert example(submit["responses"]["200"])["id"] == example(submit["responses"]["202"])["id"]
