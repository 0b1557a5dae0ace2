import pytest

from inference import ConfigError, InferenceService, load_settings
from inference.registry import Registry

MINIMAL = """
models:
  - id: rapidocr
    name: RapidOCR
    backend: rapidocr
    tasks: [ocr]
"""


def write(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_repository_config_is_valid(settings):
    assert settings.server.port == 8000
    assert {"rapidocr", "tesseract"} <= {m.id for m in settings.models}


def test_env_overrides_port_and_defaults(tmp_path):
    path = write(tmp_path, MINIMAL)
    settings = load_settings(path, env={"PORT": "7860", "CHATVLM_OCR_MODEL": "rapidocr"})
    assert settings.server.port == 7860 and settings.defaults.ocr_model == "rapidocr"
    assert load_settings(path, env={"GRADIO_SERVER_PORT": "7861"}).server.port == 7861
    assert load_settings(path, env={"SPACE_ID": "someone/chatvlmllm"}).server.port == 7860  # a Hugging Face Space


def test_config_chosen_by_environment(tmp_path):
    path = write(tmp_path, MINIMAL.replace("name: RapidOCR", "name: Chosen"))
    assert load_settings(env={"CHATVLM_CONFIG": str(path)}).models[0].name == "Chosen"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL + "unknown_key: 1\n", "unknown_key"),
        (MINIMAL.replace("backend: rapidocr", "backend: nosuch"), "unknown backend 'nosuch'"),
        (MINIMAL.replace("tasks: [ocr]", "tasks: [chat]"), "cannot do chat"),
        (MINIMAL + "    options: {workers: -1}\n", "workers"),
        (MINIMAL + "defaults: {temperature: 3}\n", "temperature"),
        ("models: [", "not valid YAML"),
    ],
)
def test_invalid_config_is_a_clear_error(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        Registry(load_settings(write(tmp_path, text), env={}))


def test_bad_port_env(tmp_path):
    with pytest.raises(ConfigError, match="PORT"):
        load_settings(write(tmp_path, MINIMAL), env={"PORT": "eighty"})


def test_default_model_must_exist(tmp_path):
    settings = load_settings(write(tmp_path, MINIMAL), env={"CHATVLM_OCR_MODEL": "ghost"})
    with pytest.raises(ConfigError, match="ghost"):
        InferenceService(settings)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_preload_from_config_and_environment(tmp_path):
    path = write(tmp_path, "server: {preload: [rapidocr]}\n" + MINIMAL)
    assert load_settings(path, env={}).server.preload == ["rapidocr"]
    assert load_settings(path, env={"CHATVLM_PRELOAD": " rapidocr, tesseract ,"}).server.preload == ["rapidocr", "tesseract"]
    assert load_settings(path, env={"CHATVLM_PRELOAD": ""}).server.preload == []  # set but empty: nothing


def test_preload_must_name_registry_models(tmp_path):
    settings = load_settings(write(tmp_path, MINIMAL), env={"CHATVLM_PRELOAD": "rapidocr,ghost"})
    with pytest.raises(ConfigError, match="'ghost'"):
        InferenceService(settings)


def test_queue_bound_auto_explicit_and_from_the_environment(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("limits: {max_batch_files: 8}\nmodels:\n  - {id: r, name: R, backend: rapidocr, tasks: [ocr]}\n")
    auto = load_settings(path, env={}).limits
    assert auto.max_queue_per_model == "auto" and auto.queue_size(1) == 8 and auto.queue_size(32) == 128
    assert load_settings(path, env={"CHATVLM_MAX_QUEUE": "20"}).limits.queue_size(32) == 20
    with pytest.raises(ConfigError, match="CHATVLM_MAX_QUEUE.*at least max_batch_files"):
        load_settings(path, env={"CHATVLM_MAX_QUEUE": "4"})
    with pytest.raises(ConfigError, match="CHATVLM_MAX_QUEUE.*valid integer"):
        load_settings(path, env={"CHATVLM_MAX_QUEUE": "lots"})
    path.write_text(
        "limits: {max_batch_files: 8, max_queue_per_model: 2}\nmodels:\n  - {id: r, name: R, backend: rapidocr, tasks: [ocr]}\n"
    )
    with pytest.raises(ConfigError, match="max_queue_per_model"):
        load_settings(path, env={})
