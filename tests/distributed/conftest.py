"""A real distributed deployment for the tests of this folder, one per test module: Redis (append-only file on) and
PostgreSQL from the session fixtures, two API replicas (`python app.py`) and two job workers
(`python -m inference.worker --models embedded --name wN`), each a process of its own with its own data directory
and log file, all on a copy of config.yaml with short timeouts (a lost unit is sent again within seconds). The four
processes end with the module; Redis and PostgreSQL with the session.

A test may SIGKILL any member and start it again on the same port and arguments (:class:`Member`); a test that
leaves one down fails the next tests' use of it, so each puts back what it took down (``finally``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import ROOT, free_port
from tests.scratch import scratch

pytest.importorskip("celery", reason="Celery is not installed (requirements-cpu.txt)")
pytest.importorskip("redis", reason="the redis package is not installed (requirements-cpu.txt)")
pytest.importorskip("sqlalchemy", reason="SQLAlchemy is not installed (requirements-cpu.txt)")
pytest.importorskip("psycopg", reason="psycopg is not installed (requirements-cpu.txt)")

# A unit a killed worker held, or one lost with Redis, is sent again by the sweep once its job has not moved for
# request_timeout_s + sweep_s (14 s here): the smallest timeout under which a page still reads well in time on a loaded
# 2-core machine (a page takes 1-3 s there), and the sweep looks every 2 s.
REQUEST_TIMEOUT_S = 12
SWEEP_S = 2
START_TIMEOUT_S = 120.0  # a cold `python app.py` on a loaded 2-core machine: 20-40 s
WORKERS = ("w1", "w2")
CALLBACK_SECRET = "cluster-callback-secret-0123456789"  # signs job callbacks (workers send them to a test's receiver)


def cluster_config(folder: Path) -> Path:
    """config.yaml with the short timeouts above and one page at a time per worker (pages spread over workers)."""
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["limits"]["request_timeout_s"] = REQUEST_TIMEOUT_S
    raw["jobs"]["sweep_s"] = SWEEP_S
    raw["jobs"]["workers"] = 1
    raw["server"]["preload"] = []
    raw["limits"]["shutdown_grace_s"] = 1  # the members stop at once at the end
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


class Member:
    """One process of the deployment: start() (again, on the same port and arguments, after kill()), kill()
    (SIGKILL, as a crash), stop(). ``ready`` says when it answers."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path, port: int | None = None):
        self.name, self.args, self.env, self.log, self.port = name, args, env, log, port
        self.process: subprocess.Popen | None = None
        self._log_offset = 0
        self.answered = False  # since its last launch

    @property
    def url(self) -> str:
        """Its base URL; a member launched again is waited for here, at its first use after the launch (a test that
        SIGKILLs a replica starts it again and goes on without waiting for its cold start)."""
        if not self.answered:
            self.wait_ready()
        return self.base

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self) -> None:
        """Start without waiting (see :meth:`wait_ready`)."""
        assert not self.running, f"{self.name} runs already"
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        self.answered = False
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def ready(self) -> bool:
        raise NotImplementedError

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> Member:
        if self.answered and self.running:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start ({self.process.returncode}):\n{self.log_tail()}")
            if self.ready():
                self.answered = True
                return self
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start in {timeout:.0f} s:\n{self.log_tail()}")

    def start(self) -> Member:
        self.launch()
        return self.wait_ready()

    def kill(self) -> None:
        if self.running:
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)

    def stop(self, wait: bool = True) -> None:
        """SIGTERM (a clean shutdown), and SIGKILL after 5 s; ``wait=False``: only the SIGTERM."""
        if self.running:
            self.process.terminate()
        if wait and self.process is not None:
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self, since_start: bool = False) -> str:
        try:
            with self.log.open("rb") as log:
                log.seek(self._log_offset if since_start else 0)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_text()[-chars:]


class Replica(Member):
    """`python app.py` on a fixed port (PORT), ready once /health answers."""

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.base}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


class Worker(Member):
    """`python -m inference.worker --models embedded --name wN`, ready once Celery says so in its log."""

    def ready(self) -> bool:
        return f"{self.name}@" in self.log_text(since_start=True) and " ready." in self.log_text(since_start=True)


@dataclass
class Cluster:
    redis: object  # tests.services.RedisService
    postgres: object  # tests.services.PostgresService
    a: Replica
    b: Replica
    workers: dict[str, Worker]
    folder: Path

    def members(self) -> list[Member]:
        return [self.a, self.b, *self.workers.values()]

    def logs(self, chars: int = 2500) -> str:
        """The end of every member's log (for a failing assert)."""
        return "\n".join(f"--- {m.name} ---\n{m.log_tail(chars)}" for m in self.members())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, redis_service, postgres_service):
    folder = tmp_path_factory.mktemp("cluster")
    config = cluster_config(folder)
    env = {
        **os.environ,
        "CHATVLM_CONFIG": str(config),
        "CHATVLM_OCR_MODEL": "embedded",
        "CHATVLM_BROKER_URL": redis_service.url,
        "CHATVLM_DATABASE_URL": postgres_service.url,
        "CHATVLM_HOST": "127.0.0.1",
        "CHATVLM_CALLBACK_SECRET": CALLBACK_SECRET,
        "CHATVLM_CALLBACK_ALLOW_PRIVATE": "1",  # the receiver is on loopback
        "TMPDIR": scratch(prefix="chatvlm-test-tmp-"),  # (the members': gone with the tests' though they are killed)
    }

    def own(name: str, **extra: str) -> dict[str, str]:
        data = folder / f"data-{name}"
        data.mkdir()
        return {**env, "CHATVLM_DATA_DIR": str(data), **extra}

    replicas = []
    for name in ("a", "b"):
        port = free_port()
        replicas.append(Replica(name, [sys.executable, "app.py"], own(name, PORT=str(port)), folder / f"{name}.log", port))
    command = [sys.executable, "-m", "inference.worker", "--models", "embedded", "--name"]
    workers = {name: Worker(name, [*command, name], own(name), folder / f"{name}.log") for name in WORKERS}
    built = Cluster(redis_service, postgres_service, replicas[0], replicas[1], workers, folder)
    try:
        for member in built.members():  # side by side: a cold start is most of this suite's time
            member.launch()
        for member in built.members():
            member.wait_ready()
        yield built
    finally:
        for member in built.members():  # side by side too
            member.stop(wait=False)
        for member in built.members():
            member.stop()
