"""server.preload: models load in the background at start-up while the server already answers; /ready says
when they are in."""

from fastapi.testclient import TestClient

from tests.conftest import LOCAL


def states(client) -> dict[str, dict]:
    return {m["id"]: m for m in client.get("/models").json()["available"]}


def test_preloaded_models_load_in_the_background_and_ready_says_when(tiny_settings, tmp_path):
    from api.server import create_api

    settings = tiny_settings.model_copy(deep=True)
    settings.server.preload = ["qwen3_vl_4b"]
    app = create_api(settings)
    with TestClient(app, base_url=LOCAL) as client:
        assert client.get("/health").status_code == 200  # answers while the models load
        assert states(client)["qwen3_vl_2b"]["state"] == "unloaded"  # not preloaded: loads on first use
        assert app.state.service.wait_for_preload(120)
        ready = client.get("/ready")
        assert ready.status_code == 200 and ready.json() == {"ready": True, "detail": "ready", "models": {"qwen3_vl_4b": "ready"}}
        assert states(client)["qwen3_vl_4b"]["load_seconds"] > 0
        assert client.get("/health").json()["loaded_models"] == ["qwen3_vl_4b"]
    # shutdown: the server stopped admitting, served what it had, and unloaded its models
    assert app.state.service.manager.loaded() == [] and app.state.service.readiness().ready is False


def test_a_failed_preload_keeps_the_server_serving_and_not_ready(tiny_settings, tmp_path):
    from api.server import create_api

    settings = tiny_settings.model_copy(deep=True)
    missing = next(m for m in settings.models if m.id == "qwen3_vl_8b")
    missing.source = str(tmp_path / "no-such-model")  # a preload that fails must not stop the others or the server
    settings.server.preload = ["qwen3_vl_8b", "qwen3_vl_4b"]
    app = create_api(settings)
    with TestClient(app, base_url=LOCAL) as client:
        assert app.state.service.wait_for_preload(120)
        failed = states(client)["qwen3_vl_8b"]
        assert failed["state"] == "error" and "config.json" in failed["error"]
        assert str(tmp_path) not in failed["error"]  # paths go to the log, not to clients
        assert states(client)["qwen3_vl_4b"]["state"] == "ready"
        ready = client.get("/ready")
        assert ready.status_code == 503 and "qwen3_vl_8b" in ready.json()["detail"]


def test_no_preload_loads_nothing_and_is_ready_at_once(tiny_settings):
    from api.server import create_api

    with TestClient(create_api(tiny_settings), base_url=LOCAL) as client:
        assert client.get("/ready").status_code == 200
        assert client.get("/health").json()["models_loaded"] == 0
