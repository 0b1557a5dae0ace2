"""Replicas and workers of a new deployment start together on an empty PostgreSQL database: each creates the jobs'
tables if they are missing, and none fails because another created them at the same moment."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest

from tests.conftest import ROOT

# A release check: many cold processes racing to create the same database.
pytestmark = pytest.mark.slow

sa = pytest.importorskip("sqlalchemy", reason="SQLAlchemy is not installed (requirements-cpu.txt)")
pytest.importorskip("psycopg", reason="psycopg is not installed (requirements-cpu.txt)")

PROCESSES, ROUNDS = 4, 3  # without a guard, 4 processes collided in 5 rounds of 6 here


def test_processes_starting_together_on_an_empty_database_all_open_the_store(postgres_service):
    server = postgres_service.url.rsplit("/", 1)[0]
    names = [f"start_{uuid.uuid4().hex[:12]}" for _ in range(ROUNDS)]
    admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
    start = time.time() + 4  # every process has imported the store by then (1.5 s here; a late one only weakens the test)
    code = (
        "import sys, time\n"
        "from inference.job_store import JobStore\n"
        "for i, url in enumerate(sys.argv[2:]):\n"
        "    time.sleep(max(0.0, float(sys.argv[1]) + i - time.time()))\n"
        "    JobStore(url).close()\n"
    )
    urls = [f"{server}/{name}" for name in names]
    try:
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(start), *urls], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            for _ in range(PROCESSES)
        ]
        outputs = [process.communicate(timeout=60)[0].decode(errors="replace") for process in processes]
        assert [process.returncode for process in processes] == [0] * PROCESSES, "\n".join(o[-1500:] for o in outputs)
        for url in urls:
            engine = sa.create_engine(url)
            try:
                assert {"jobs", "files", "pages"} <= set(sa.inspect(engine).get_table_names())
            finally:
                engine.dispose()
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
