"""One settings object, read from config.yaml and validated at start-up.

Environment variables override only what a host decides: which config file (``CHATVLM_CONFIG``), the port (``PORT`` or
``GRADIO_SERVER_PORT``; 7860 on a Hugging Face Space, recognised by its ``SPACE_ID``), the interface (``CHATVLM_HOST``
or ``GRADIO_SERVER_NAME``; 0.0.0.0 on a Space), the Host names it answers to (``CHATVLM_ALLOWED_HOSTS``; a Space's own
``SPACE_HOST`` always), the proxies whose forwarded headers it trusts (``CHATVLM_TRUSTED_PROXIES``), the default models
(``CHATVLM_OCR_MODEL``, ``CHATVLM_CHAT_MODEL``) and the models loaded at start-up (``CHATVLM_PRELOAD``, comma-separated
ids), each model's wait-queue bound (``CHATVLM_MAX_QUEUE``), and the secrets and policies of an exposed server: API keys
(``CHATVLM_API_KEYS``, comma-separated ``role:key``), the rate limit (``CHATVLM_RATE_LIMIT``, e.g. ``60/minute``),
unfinished jobs per key (``CHATVLM_MAX_JOBS_PER_KEY``) and the origins allowed to call it from a browser
(``CHATVLM_ALLOWED_ORIGINS``, comma-separated) or to show its UI in a frame (``CHATVLM_FRAME_ANCESTORS``; a Space's
https://huggingface.co always), the secret that signs sign-ins (``CHATVLM_SESSION_SECRET``), and where
jobs go past one process (``CHATVLM_BROKER_URL``, ``CHATVLM_DATABASE_URL``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .limit_settings import LimitSettings
from .routing_settings import RoutingSettings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config.yaml"

Task = Literal["ocr", "chat"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Strict):
    host: str = Field("127.0.0.1", description="interface to listen on (0.0.0.0: every interface)")
    port: int = Field(8000, ge=1, le=65535)
    title: str = "ChatVLMLLM"
    version: str = "1.0.0"
    preload: list[str] = Field(default_factory=list, description="model ids loaded in the background at start-up")
    data_dir: str = Field("data", description="where jobs and their results are kept (relative: to the config file)")
    job_results_ttl_s: float = Field(7 * 24 * 3600.0, gt=0, description="how long a finished job's result is kept")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names (or addresses) the server answers to besides localhost, "
        "127.0.0.1, [::1], server.host and a Space's own host; '*.example.com' a domain's names, '*' any",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or networks of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; none = the connecting address is the client's",
    )
    frame_ancestors: list[str] = Field(
        default_factory=list,
        description="web origins (https://host[:port]) whose pages may show the UI in a frame, besides this server's "
        "own and auth.allowed_origins (a Space adds https://huggingface.co)",
    )

    @field_validator("frame_ancestors")
    @classmethod
    def _ancestors_are_origins(cls, origins: list[str]) -> list[str]:
        return _origins(origins)

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts_are_names(cls, hosts: list[str]) -> list[str]:
        cleaned = []
        for host in hosts:
            host = host.strip().lower()
            if ":" in host and not host.startswith("["):  # an IPv6 address as a Host header writes it: [::1]
                host = f"[{host}]"
            if not re.fullmatch(r"\*|(\*\.)?[a-z0-9_.-]+|\[[0-9a-f:.]+\]", host):
                raise ValueError(f"{host!r} is not a host name like example.com, *.example.com, 10.0.0.5, [::1] or *")
            cleaned.append(host)
        return cleaned

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, proxies: list[str]) -> list[str]:
        import ipaddress

        for proxy in proxies:
            if proxy.strip() != "*":
                try:
                    ipaddress.ip_network(proxy.strip(), strict=False)
                except ValueError:
                    raise ValueError(f"{proxy!r} is not an address or network like 10.0.0.5, 10.0.0.0/8 or *") from None
        return [proxy.strip() for proxy in proxies]


ROLES = ("user", "admin")  # admin may do all a user may, and manage models and read /metrics


class AuthSettings(_Strict):
    api_keys: list[str] = Field(
        default_factory=list, description="'role:key' pairs (role user or admin); none = no keys asked (a laptop)"
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="web origins (https://host[:port]) whose pages may call this server "
        "(CORS and state-changing requests); the server's own origin always may",
    )
    failed_auth_limit: str = Field(
        "20/minute", description="wrong keys (header or /login) one client address may send; then 429 until the window moves on"
    )
    session_secret: str | None = Field(
        None, min_length=32, description="signs browser sign-ins, the same on every replica; none = a random one per process"
    )

    @field_validator("failed_auth_limit")
    @classmethod
    def _failure_limit_parses(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate like '20/minute' or '100/hour'") from None
        return value.strip()

    @field_validator("api_keys")
    @classmethod
    def _keys_have_roles(cls, keys: list[str]) -> list[str]:
        for i, pair in enumerate(keys):
            role, _, key = pair.partition(":")
            if role not in ROLES or not key.strip():
                raise ValueError(f"entry {i + 1} must be 'user:KEY' or 'admin:KEY' (the role, a colon, the key)")
            if len(key.strip()) < 8:
                raise ValueError(f"entry {i + 1}: a key needs at least 8 characters")
        return [pair.strip() for pair in keys]

    @field_validator("allowed_origins")
    @classmethod
    def _origins_are_origins(cls, origins: list[str]) -> list[str]:
        return _origins(origins)


class JobSettings(_Strict):
    broker_url: str | None = Field(
        None, description="redis://... : jobs go to Celery workers (python -m inference.worker); needs database_url"
    )
    database_url: str | None = Field(
        None, description="postgresql://... : where jobs, their files and pages are kept; needs broker_url"
    )
    workers: int = Field(4, ge=1, le=64, description="pages read at once by the in-process job workers (one process)")
    sweep_s: float = Field(30.0, gt=0, description="how often unfinished pages are checked and sent again if lost (distributed)")
    # -- signed webhooks (issue 20, point 3) --
    callback_secret: str | None = Field(
        None, min_length=16, description="signs job callbacks (X-ChatVLM-Signature), the same on every replica; none = refused"
    )
    callback_retries: int = Field(5, ge=0, le=20, description="a callback not answered 2xx is tried again this many times")
    callback_backoff_s: float = Field(10.0, gt=0, le=3600, description="the first retry's delay, doubled at each retry")
    callback_allow_private: bool = Field(False, description="callback URLs may be private or loopback addresses")

    @field_validator("broker_url")
    @classmethod
    def _broker_is_redis(cls, value: str | None) -> str | None:
        if value and not re.match(r"rediss?://", value.strip()):
            raise ValueError("the broker must be a redis:// (or rediss://) URL")
        return value.strip() if value else None

    @field_validator("database_url")
    @classmethod
    def _database_is_postgres(cls, value: str | None) -> str | None:
        if value and not re.match(r"postgres(ql)?(\+psycopg)?://", value.strip()):
            raise ValueError("the database must be a postgresql:// URL")
        return value.strip() if value else None

    @model_validator(mode="after")
    def _both_or_neither(self) -> JobSettings:
        if bool(self.broker_url) != bool(self.database_url):
            raise ValueError(
                "broker_url and database_url go together (Celery workers need both); set both, or neither for one process"
            )
        return self

    @property
    def distributed(self) -> bool:
        return bool(self.broker_url and self.database_url)


class DefaultSettings(_Strict):
    ocr_model: str = "auto"
    chat_model: str = "auto"
    temperature: float = Field(0.7, ge=0.0, le=1.0)
    max_tokens: int = Field(512, gt=0)


class ModelSpec(_Strict):
    """One registry entry: what a model is and how its backend loads it."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    name: str
    params: str = ""
    backend: str
    source: str | None = None
    tasks: list[Task] = Field(min_length=1)
    gpu_preferred: bool = False
    options: dict[str, Any] = Field(default_factory=dict)


class Settings(_Strict):
    server: ServerSettings = ServerSettings()
    limits: LimitSettings = LimitSettings()
    auth: AuthSettings = AuthSettings()
    defaults: DefaultSettings = DefaultSettings()
    jobs: JobSettings = JobSettings()
    routing: RoutingSettings = RoutingSettings()
    models: list[ModelSpec] = Field(min_length=1)
    config_path: Path | None = None


def _origins(origins: list[str]) -> list[str]:
    for origin in origins:
        if not re.fullmatch(r"https?://[^/\s;,'\"]+", origin.strip()):
            raise ValueError(f"{origin!r} is not an origin like https://example.com or http://localhost:3000")
    return [origin.strip().rstrip("/") for origin in origins]


JOB_ENV = {"broker_url": "CHATVLM_BROKER_URL", "database_url": "CHATVLM_DATABASE_URL"}
SPACES_PORT = 7860  # what a Hugging Face Space expects its app to listen on
SPACE_PAGES = "https://huggingface.co"  # the site whose pages show a Space in a frame


def _env_port(env: dict[str, str]) -> int | None:
    for name in ("PORT", "GRADIO_SERVER_PORT"):
        value = env.get(name)
        if value:
            if not value.isdigit() or not 0 < int(value) < 65536:
                raise ConfigError(f"{name}={value!r} is not a port number (1-65535).")
            return int(value)
    return SPACES_PORT if env.get("SPACE_ID") else None


def _describe(error: ValidationError) -> str:
    """Each problem as 'where: what' (never the value itself, which may be a secret)."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def _listed(value: str | None) -> list[str] | None:
    return None if value is None else [part.strip() for part in value.split(",") if part.strip()]


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read and validate the config file; raise ConfigError with a fix-it message."""
    env = dict(os.environ) if env is None else env
    path = Path(path or env.get("CHATVLM_CONFIG") or DEFAULT_CONFIG)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} not found (set CHATVLM_CONFIG to its path).") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"Config file {path} must hold a mapping at the top level.")
    try:
        settings = Settings.model_validate({**raw, "config_path": path})
    except ValidationError as exc:
        raise ConfigError(f"Invalid config {path}: {_describe(exc)}") from None

    port = _env_port(env)
    if port is not None:
        settings.server.port = port
    host = env.get("CHATVLM_HOST") or env.get("GRADIO_SERVER_NAME") or ("0.0.0.0" if env.get("SPACE_ID") else None)
    if host:
        settings.server.host = host.strip()
    if env.get("CHATVLM_DATA_DIR"):
        settings.server.data_dir = env["CHATVLM_DATA_DIR"]
    if env.get("CHATVLM_OCR_MODEL"):
        settings.defaults.ocr_model = env["CHATVLM_OCR_MODEL"]
    if env.get("CHATVLM_CHAT_MODEL"):
        settings.defaults.chat_model = env["CHATVLM_CHAT_MODEL"]
    if "CHATVLM_PRELOAD" in env:
        settings.server.preload = [part.strip() for part in env["CHATVLM_PRELOAD"].split(",") if part.strip()]
    overrides = {  # (section, key): the variable that overrides it
        ("limits", "max_queue_per_model"): "CHATVLM_MAX_QUEUE",
        ("limits", "rate_limit"): "CHATVLM_RATE_LIMIT",
        ("limits", "max_jobs_per_key"): "CHATVLM_MAX_JOBS_PER_KEY",
        ("auth", "api_keys"): "CHATVLM_API_KEYS",
        ("auth", "allowed_origins"): "CHATVLM_ALLOWED_ORIGINS",
        ("auth", "session_secret"): "CHATVLM_SESSION_SECRET",
        ("server", "allowed_hosts"): "CHATVLM_ALLOWED_HOSTS",
        ("server", "trusted_proxies"): "CHATVLM_TRUSTED_PROXIES",
        ("server", "frame_ancestors"): "CHATVLM_FRAME_ANCESTORS",
        ("jobs", "callback_secret"): "CHATVLM_CALLBACK_SECRET",
        ("jobs", "callback_allow_private"): "CHATVLM_CALLBACK_ALLOW_PRIVATE",
    }
    lists = ("api_keys", "allowed_origins", "allowed_hosts", "trusted_proxies", "frame_ancestors")  # comma-separated ("" = none)
    for (section, key), name in overrides.items():
        value = _listed(env.get(name)) if key in lists else env.get(name)
        if value is None or value == "":
            continue
        model = getattr(settings, section)
        try:
            setattr(settings, section, type(model).model_validate({**model.model_dump(), key: value}))
        except ValidationError as exc:
            shown = "(hidden)" if key in ("api_keys", "session_secret", "callback_secret") else repr(env[name])
            raise ConfigError(f"{name}={shown}: {_describe(exc)}") from None
    jobs = {key: env[name] for key, name in JOB_ENV.items() if env.get(name)}
    if jobs:  # together: each needs the other
        try:
            settings.jobs = JobSettings.model_validate({**settings.jobs.model_dump(), **jobs})
        except ValidationError as exc:
            raise ConfigError(f"{' / '.join(JOB_ENV.values())}: {_describe(exc)}") from None
    space_host = env.get("SPACE_HOST", "").strip().lower().removeprefix("https://").rstrip("/")
    if env.get("SPACE_ID") and space_host and space_host not in settings.server.allowed_hosts:
        settings.server.allowed_hosts = [*settings.server.allowed_hosts, space_host]  # the Space's own address
    if env.get("SPACE_ID") and SPACE_PAGES not in settings.server.frame_ancestors:
        settings.server.frame_ancestors = [*settings.server.frame_ancestors, SPACE_PAGES]  # the page showing the Space
    return settings
