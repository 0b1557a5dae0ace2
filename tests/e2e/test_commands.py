"""The command-line entry points: weight prefetch and the server's start-up on a bad config."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(args, **env):
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
    )


def test_download_local_and_offline_and_unknown(tiny_config):
    done = run(["-m", "inference.download", "qwen3_vl_2b", "rapidocr"], CHATVLM_CONFIG=str(tiny_config))
    assert done.returncode == 0 and "local folder" in done.stdout and "nothing to fetch" in done.stdout
    offline = run(["-m", "inference.download", "got_ocr"])
    assert offline.returncode == 1 and "could not fetch stepfun-ai/GOT-OCR-2.0-hf" in offline.stderr
    unknown = run(["-m", "inference.download", "nope"])
    assert unknown.returncode == 2 and "Unknown model 'nope'" in unknown.stderr


def test_the_api_guides_model_loader_fetches_as_the_download_command_does(tiny_config):
    def load(model_id, **env):
        return run(["-c", f"from models import ModelLoader; ModelLoader.load_model({model_id!r})"], **env)

    assert load("qwen3_vl_2b", CHATVLM_CONFIG=str(tiny_config)).stdout.startswith("qwen3_vl_2b: local folder")
    offline = load("got_ocr")
    assert offline.returncode == 1 and "could not fetch stepfun-ai/GOT-OCR-2.0-hf" in offline.stderr
    unknown = load("nope")
    assert unknown.returncode == 2 and "Unknown model 'nope'" in unknown.stderr and "Traceback" not in unknown.stderr


def test_server_refuses_a_bad_config_with_a_clear_message(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        "models:\n  - {id: q, name: Q, backend: transformers, source: Qwen/X, tasks: [chat], options: {precision: fp12}}\n"
    )
    result = run(["app.py"], CHATVLM_CONFIG=str(config), PORT="1")
    assert result.returncode == 2
    assert "Configuration error" in result.stderr and "precision" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow  # a release check: the builder from scratch (~10 s of CPU); every tiny-model test uses its models
def test_tiny_model_builder_runs_on_its_own(tmp_path, tiny_build):
    """`python -m tests.tiny_models DIR`, as the README documents it, builds what the session's tiny models are
    (the session builds them in-process, with the same function)."""
    folder = tmp_path / "tiny"
    done = run(["-m", "tests.tiny_models", str(folder)])
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"CHATVLM_CONFIG={folder}/config.yaml" in done.stdout
    built = sorted(p.name for p in tiny_build.iterdir() if p.name != "data")  # (data/: a server's jobs on that config)
    assert sorted(p.name for p in folder.iterdir()) == built
    for name in ("qwen3_vl_tiny", "got_ocr_tiny"):
        assert (folder / name / "config.json").is_file() and list((folder / name).glob("*.safetensors"))
    config = (folder / "config.yaml").read_text()
    assert config.count(str(folder / "qwen3_vl_tiny")) == 3 and str(folder / "got_ocr_tiny") in config
