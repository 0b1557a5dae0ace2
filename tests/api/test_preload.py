"""server.preload: models load in the background at start-up while the server already answers."""

import time

from fastapi.testclient import TestClient


def states(client) -> dict[str, dict]:
    return {m["id"]: m for m in client.get("/models").json()["available"]}


def wait_for(client, model_id: str, wanted: set[str], seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        model = states(client)[model_id]
        if model["state"] in wanted:
            return model
        time.sleep(0.2)
    raise AssertionError(f"{model_id} stayed {model['state']}")


def test_preloaded_models_are_ready_before_any_request(tiny_settings, tmp_path):
    from app import create_app

    settings = tiny_settings.model_copy(deep=True)
    missing = next(m for m in settings.models if m.id == "qwen3_vl_8b")
    missing.source = str(tmp_path / "no-such-model")  # a preload that fails must not stop the others or the server
    settings.server.preload = ["qwen3_vl_8b", "qwen3_vl_4b"]
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200  # answers while the models load
        assert states(client)["qwen3_vl_2b"]["state"] == "unloaded"  # not preloaded: loads on first use
        ready = wait_for(client, "qwen3_vl_4b", {"ready"})
        assert ready["load_seconds"] > 0
        failed = wait_for(client, "qwen3_vl_8b", {"error"})
        assert "no-such-model" in failed["error"]
        assert client.get("/health").json()["loaded_models"] == ["qwen3_vl_4b"]


def test_no_preload_loads_nothing(tiny_settings):
    from app import create_app

    with TestClient(create_app(tiny_settings)) as client:
        time.sleep(0.5)
        assert client.get("/health").json()["models_loaded"] == 0
