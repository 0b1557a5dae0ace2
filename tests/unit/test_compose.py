"""docker-compose.yml's `scale` profile, read as compose reads it (its ${VAR:-default} and $$ resolved): the store and
the broker keep their data, the replicas and workers get settings this server accepts, and the workers serve models
of the registry they are given."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from inference import load_settings
from tests.conftest import ROOT

ENV = {"POSTGRES_PASSWORD": "s3cretpass", "CHATVLM_SESSION_SECRET": "shared-secret-0123456789abcdef-0123"}


def interpolated(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation: ${NAME:-default}, ${NAME} and $NAME take the variable's value (or the default, or
    nothing), and $$ is one $."""

    def value(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1) or match.group(3)) or (match.group(2) or "")

    return re.sub(r"\$\$|\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)", value, text)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(interpolated((ROOT / "docker-compose.yml").read_text(), ENV))


@pytest.fixture(scope="module")
def scale(compose) -> dict:
    return {name: service for name, service in compose["services"].items() if "scale" in service.get("profiles", [])}


def command_of(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else command


def test_the_store_and_the_broker_keep_their_data_in_volumes(compose, scale):
    redis = command_of(scale["redis"])
    assert redis[redis.index("--appendonly") + 1] == "yes"
    assert [volume.split(":")[1] for volume in scale["redis"]["volumes"]] == ["/data"]
    assert [volume.split(":")[1] for volume in scale["postgres"]["volumes"]] == ["/var/lib/postgresql/data"]
    for service in ("redis", "postgres"):
        assert scale[service]["volumes"][0].split(":")[0] in compose["volumes"]
    assert scale["postgres"]["environment"]["POSTGRES_PASSWORD"] == ENV["POSTGRES_PASSWORD"]  # from .env, not the file


def test_replicas_and_workers_get_settings_this_server_accepts(tmp_path, compose, scale):
    config = tmp_path / "scale.yaml"
    config.write_text(compose["configs"]["scale-config"]["content"])
    assert command_of(scale["replica"]) == ["python", "app.py"]
    for name in ("replica", "worker"):
        service = scale[name]
        assert service["deploy"]["replicas"] == 2
        assert {"source": "scale-config", "target": "/config/scale.yaml"} in service["configs"]
        env = {key: str(value) for key, value in service["environment"].items()}
        assert env["CHATVLM_CONFIG"] == "/config/scale.yaml"
        assert env["CHATVLM_SESSION_SECRET"] == ENV["CHATVLM_SESSION_SECRET"]
        settings = load_settings(config, env=env)
        assert settings.jobs.distributed
        assert settings.jobs.broker_url == "redis://redis:6379/0"
        assert settings.jobs.database_url == f"postgresql+psycopg://chatvlm:{ENV['POSTGRES_PASSWORD']}@postgres:5432/chatvlm"
        assert {"postgres", "redis"} <= set(service["depends_on"])


def test_workers_serve_models_of_the_registry(tmp_path, compose, scale):
    command = command_of(scale["worker"])
    assert command[:3] == ["python", "-m", "inference.worker"]
    served = command[command.index("--models") + 1].split(",")
    config = tmp_path / "scale.yaml"
    config.write_text(compose["configs"]["scale-config"]["content"])
    registry = {spec.id for spec in load_settings(config, env={}).models}
    assert served and set(served) <= registry, set(served) - registry


def test_only_the_load_balancer_is_published_and_it_fronts_the_replicas(compose, scale):
    published = {name for name, service in scale.items() if service.get("ports")}
    assert published == {"lb"}
    assert scale["lb"]["ports"] == ["8000:8000"]
    nginx = compose["configs"]["lb-config"]["content"]
    upstreams = dict(re.findall(r"upstream (\w+)\s*\{([^}]*)\}", nginx))
    assert all("server replica:8000;" in body for body in upstreams.values()) and len(upstreams) == 2
    gradio = re.search(r"location /gradio_api/ \{ proxy_pass http://(\w+);", nginx).group(1)
    assert "hash $remote_addr consistent;" in upstreams[gradio]  # Gradio's events stay on one replica per client
