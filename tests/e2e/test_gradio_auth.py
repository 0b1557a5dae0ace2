"""With API keys on, gradio_client works with a key in its headers, and the Gradio API's model actions need the
admin role, like their REST routes."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.conftest import ADMIN_KEY as ADMIN
from tests.conftest import USER_KEY as USER  # keyed_server: the session's server with these keys


def client(base: str, key: str) -> Client:
    return Client(f"{base}/", headers={"Authorization": f"Bearer {key}"}, verbose=False)


def test_gradio_api_needs_a_key(keyed_server):
    assert httpx.get(f"{keyed_server}/gradio_api/info").status_code == 401
    with pytest.raises(Exception, match="credentials were not provided"):
        Client(f"{keyed_server}/", verbose=False)


def test_a_user_key_runs_inference_through_gradio_client(keyed_server, english_file):
    text, details = client(keyed_server, USER).predict(handle_file(str(english_file)), "rapidocr", "", api_name="/ocr")
    assert "Invoice" in text and details["model"] == "rapidocr"


def test_model_actions_need_the_admin_role(keyed_server):
    with pytest.raises(AppError, match="needs an admin key"):
        client(keyed_server, USER).predict("rapidocr", api_name="/load_model")
    table, _, message = client(keyed_server, ADMIN).predict("rapidocr", api_name="/load_model")
    assert "ready" in message
    table, _, message = client(keyed_server, ADMIN).predict("rapidocr", api_name="/unload_model")
    assert message == "Model rapidocr unloaded"
