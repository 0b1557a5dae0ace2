"""With API keys on, what the server says a model needs is the operator's how-to (a command to run on the server):
a user key, which can run none of it, is told what an administrator can do instead, on every REST door (a 503's
``detail``, /v1's error and model list hint, /models' notes); an admin key reads the how-to whole, as everyone does
with keys off. Against the session's keyed server."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import ADMIN_KEY, USER_KEY
from tests.helpers import ENGLISH, encode, render_lines

COMMAND = re.compile(r"python -m |pip install |apt-get install ")
PNG = encode(render_lines(ENGLISH[:1]))


def said(base: str, key: str, fetch: str | None) -> dict[str, str]:
    """What the server says to ``key`` where a model cannot run: by door, only the doors that say something here
    (``fetch``: a model whose weights are not here, whose request is a 503 saying so)."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
        models = http.get("/models").json()
        told = {f"/models {m['id']}": m["note"] for m in models["available"] + models["unavailable"] if m["note"]}
        if fetch:
            ocr = http.post("/ocr", params={"model": fetch}, files={"file": ("page.png", PNG)})
            assert ocr.status_code == 503, ocr.text
            told["/ocr"] = ocr.json()["detail"]
        if not http.get("/v1/models").json()["data"]:  # no model can chat here: each chat door says why
            chat = http.post("/chat", data={"prompt": "What is this?"}, files={"file": ("page.png", PNG)})
            assert chat.status_code == 503, chat.text
            v1 = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "Hi"}]})
            assert v1.status_code == 404, v1.text
            told |= {"/chat": chat.json()["detail"], "/v1": v1.json()["error"]["message"]}
            told["/v1/models"] = http.get("/v1/models").json()["hint"]
    return told


def test_a_user_key_is_told_what_an_administrator_can_do_an_admin_key_how(keyed_server):
    models = httpx.get(f"{keyed_server}/models", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60).json()
    fetch = next((m["id"] for m in models["available"] if "inference.download" in (m["note"] or "")), None)
    admin, user = said(keyed_server, ADMIN_KEY, fetch), said(keyed_server, USER_KEY, fetch)
    if not any(COMMAND.search(text) for text in admin.values()):
        pytest.skip("every configured model's weights and packages are on this host: no how-to to tell")
    assert user.keys() == admin.keys()
    for door, text in user.items():
        assert not COMMAND.search(text), (door, text)
    if "/ocr" in admin:
        assert "python -m inference.download" in admin["/ocr"] and "An administrator can fetch it" in admin["/ocr"]
        assert user["/ocr"].endswith("a request never starts a download. An administrator can fetch it."), user["/ocr"]
    fetched = [door for door, text in admin.items() if "python -m inference.download" in text]
    assert fetched and all("an administrator can fetch" in user[door].lower() for door in fetched), user
