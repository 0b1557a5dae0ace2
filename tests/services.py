"""Real Redis and PostgreSQL servers for the tests of the distributed mode: each on a free port, in its own
temporary folder, that a test can SIGKILL and start again on the same port and folder (the data it had kept
survives: Redis with its append-only file, PostgreSQL always).

    redis = RedisService(appendonly=True).start()      # redis.url == "redis://127.0.0.1:N/0"
    pg = PostgresService().start()                     # pg.url == "postgresql+psycopg://postgres@127.0.0.1:N/chatvlm"
    redis.kill(); redis.start()                        # SIGKILL, then the same server again
    redis.stop(); pg.stop()                            # and every one still running is stopped at exit

Nothing here imports a Python client: readiness is Redis's PING over a socket and PostgreSQL's `pg_isready`.
`redis_missing()` / `postgres_missing()` say why a server cannot run on this machine (None when it can).
PostgreSQL runs as the `postgres` user when we are root (it refuses root), its folder owned by that user.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.processes import alive, descendants, send_signal

READY_TIMEOUT_S = 30.0  # a loaded 2-core machine starts either server in 1-3 s
STOP_TIMEOUT_S = 10.0
_MADE: list[_Service] = []  # every service made here: stopped and its folder removed at exit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_missing() -> str | None:
    return None if shutil.which("redis-server") else "redis-server is not installed (Debian package redis-server)"


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL's bin folder (/usr/lib/postgresql/<v>/bin), else one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda path: int(Path(path).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    return Path(on_path).parent if on_path else None


def postgres_missing() -> str | None:
    folder = postgres_bin()
    if folder is None or not (folder / "initdb").exists():
        return "PostgreSQL is not installed (Debian package postgresql: /usr/lib/postgresql/<v>/bin/initdb)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "PostgreSQL refuses to run as root and there is no `postgres` user to run it as"
    return None


class _Service:
    """A server process on a fixed port and folder: start() (again after kill/stop), kill() (SIGKILL to its
    process and every process below it, as a crash), stop() (a clean shutdown)."""

    name = "service"
    stop_signal = signal.SIGTERM

    def __init__(self, port: int | None = None, directory: str | Path | None = None):
        self._picked_port = port is None
        self.port = port or free_port()
        self.dir = Path(directory) if directory else Path(tempfile.mkdtemp(prefix=f"chatvlm-test-{self.name}-"))
        self._own_dir = directory is None
        self.process: subprocess.Popen | None = None
        self.log_path = self.dir / f"{self.name}.log"
        _MADE.append(self)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.running else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Once per folder, before the first start."""

    def _popen_options(self) -> dict:
        return {}

    def _after_ready(self) -> None:
        """After each start, once the server answers."""

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def start(self):
        """Start (again) and wait until it answers. The first start of a server whose port was picked here picks
        another one when the server could not take it (another process took the free port in between)."""
        if self.running:
            return self
        self._prepare()
        for attempt in range(3):
            if self._launch():
                self._picked_port = False  # from now on its port is its own: a restart keeps it
                return self
            if not self._picked_port or attempt == 2:
                raise RuntimeError(f"{self.name} on port {self.port} exited at start:\n{self.log_tail()}")
            self.port = free_port()
        raise AssertionError("unreachable")

    def _launch(self) -> bool:
        """One start: True once it answers, False when it exits first."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self._command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own session: the terminal's Ctrl+C is for the tests, not for it
                **self._popen_options(),
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if self._ready():
                self._after_ready()
                return True
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"{self.name} on port {self.port} did not answer in {READY_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crash: the server and every process it started end at once (it is stopped first, so it
        forks nothing while its processes are collected); start() brings it back."""
        if self.process is None:
            return
        root = self.process.pid
        if self.process.poll() is None:
            send_signal({root}, signal.SIGSTOP)
            family = descendants(root)
            send_signal(family | {root}, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(root, signal.SIGKILL)  # and what is left of its group (a child forked meanwhile)
            self.process.wait(STOP_TIMEOUT_S)
            self._wait_gone(family)

    def stop(self) -> None:
        """A clean shutdown (a kill() after STOP_TIMEOUT_S)."""
        if self.process is None or self.process.poll() is not None:
            return
        family = descendants(self.process.pid)
        send_signal({self.process.pid}, self.stop_signal)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
        self._wait_gone(family)

    @staticmethod
    def _wait_gone(pids: set[int]) -> None:
        """The server's other processes (PostgreSQL's backends) end too: a next start needs them gone."""
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while (left := alive(pids)) and time.monotonic() < deadline:
            send_signal(left, signal.SIGKILL)
            time.sleep(0.05)

    def close(self) -> None:
        """stop(), and the temporary folder removed when this object made it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


class RedisService(_Service):
    """`redis-server --port N --save ""`, kept in memory only, or with ``appendonly=True`` in an append-only file
    in its folder (a SIGKILL then keeps every write Redis acknowledged: it writes the file before it replies)."""

    name = "redis"

    def __init__(self, port: int | None = None, directory: str | Path | None = None, appendonly: bool = False):
        super().__init__(port, directory)
        self.appendonly = appendonly

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _command(self) -> list[str]:
        return [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--daemonize",
            "no",
            "--logfile",
            "",
        ]

    def _ready(self) -> bool:
        """PING answers PONG (while it loads its file Redis answers -LOADING)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False


class PostgresService(_Service):
    """A PostgreSQL cluster of its own: `initdb -A trust -U postgres` into DIR/data once, then `postgres -D DIR/data
    -p N -k DIR` listening on 127.0.0.1, with a database `chatvlm`. `fsync=off`: a SIGKILL of the server loses
    nothing (its writes are in the kernel), only a crash of the machine would, and the tests run faster."""

    name = "postgres"
    stop_signal = signal.SIGINT  # the fast shutdown: SIGTERM would wait for every client to leave
    database = "chatvlm"

    def __init__(self, port: int | None = None, directory: str | Path | None = None):
        super().__init__(port, directory)
        self.bin = postgres_bin()
        self.data = self.dir / "data"
        self._user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self._user:  # the server runs as `postgres`: its folder is that user's, closed to others
            os.chown(self.dir, self._user.pw_uid, self._user.pw_gid)
            self.dir.chmod(0o700)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.database}"

    def _popen_options(self) -> dict:
        # as `postgres` directly (not through runuser, which forks: the pid would not be the server's)
        user = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []} if self._user else {}
        return {"cwd": self.dir, **user}

    def _run(self, *command: str) -> None:
        options = self._popen_options()
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, **options)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")

    def _prepare(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        initdb = str(self.bin / "initdb")
        self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync")

    def _command(self) -> list[str]:
        return [
            str(self.bin / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-k",
            str(self.dir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "max_connections=200",  # two replicas and two workers, each with a pool, and the tests' own clients
        ]

    def _ready(self) -> bool:
        done = subprocess.run(
            [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres"],
            capture_output=True,
            timeout=10,
        )
        return done.returncode == 0

    def _after_ready(self) -> None:
        if not (self.dir / ".database-created").exists():
            self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.database)
            (self.dir / ".database-created").touch()


def start_redis(appendonly: bool = False) -> RedisService:
    return RedisService(appendonly=appendonly).start()


def start_postgres() -> PostgresService:
    return PostgresService().start()


@atexit.register
def _stop_all() -> None:
    for service in _MADE:
        with contextlib.suppress(Exception):  # at exit, stop what can be stopped
            service.close()
