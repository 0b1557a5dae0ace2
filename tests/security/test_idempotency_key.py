"""The Idempotency-Key header of POST /jobs from a hostile client: too long, empty, not ASCII, stuffed with
control characters or kilobytes: 400 with a clear detail, never a 500 or a traceback, and nothing reserved (the
same key, sent right, still makes a job)."""

from __future__ import annotations

from tests.helpers import encode, render_lines

PNG = encode(render_lines(["Key 5"]))


def post(client, key: bytes | str):
    return client.post("/jobs", files=[("files", ("a.png", PNG))], headers=[(b"Idempotency-Key", key)])


def test_odd_idempotency_keys_are_refused_with_400(client):
    for bad in (
        b"a" * 201,
        b"x" * 8000,
        b"",
        b"   ",
        b"caf\xc3\xa9",
        b"\xff\xfe\xfd",
        b"tab\there",
        "\u00e9t\u00e9".encode("latin-1"),
    ):
        response = post(client, bad)
        assert response.status_code == 400, (bad[:20], response.status_code, response.text[:200])
        detail = response.json()["detail"]
        assert "Idempotency-Key" in detail and "Traceback" not in detail and len(detail) < 300, detail
    exactly = post(client, "k" * 200)
    assert exactly.status_code == 202, exactly.text
    again = post(client, "k" * 200)
    assert again.status_code == 200 and again.json()["id"] == exactly.json()["id"]


def test_a_refused_key_reserves_nothing(client):
    assert post(client, b"sec-\xff").status_code == 400
    assert post(client, "sec-ok").status_code == 202  # a new key works at once
    assert client.post("/jobs", headers={"Idempotency-Key": "sec-nobody"}).status_code == 400  # no files: refused...
    assert post(client, "sec-nobody").status_code == 202  # ...and its key is free
