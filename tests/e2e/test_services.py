"""The test fixtures' real Redis and PostgreSQL: they start, answer, and come back from a SIGKILL on the same
port with what they had kept."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

redis = pytest.importorskip("redis", reason="the redis package is not installed (requirements-cpu.txt)")
sa = pytest.importorskip("sqlalchemy", reason="SQLAlchemy is not installed (requirements-cpu.txt)")
pytest.importorskip("psycopg", reason="psycopg is not installed (requirements-cpu.txt)")


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"  # killed, not yet reaped


def test_redis_answers_and_keeps_its_data_through_a_sigkill(redis_service):
    client = redis.Redis.from_url(redis_service.url, socket_timeout=5)
    assert client.ping() is True
    key, value = f"test-services-{uuid.uuid4().hex}", uuid.uuid4().hex
    client.rpush(key, value, "second")
    old_pid, url = redis_service.pid, redis_service.url

    redis_service.kill()
    assert process_gone(old_pid)
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_timeout=2, retry=None).ping()

    redis_service.start()
    assert (redis_service.url, redis_service.pid != old_pid) == (url, True)
    try:
        assert client.lrange(key, 0, -1) == [value.encode(), b"second"]
    finally:
        client.delete(key)
        client.close()


def test_postgres_answers_and_keeps_a_row_through_a_sigkill(postgres_service):
    assert postgres_service.url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert postgres_service.url.endswith("/chatvlm")
    engine = sa.create_engine(postgres_service.url)
    table = f"test_services_{uuid.uuid4().hex[:12]}"
    try:
        with engine.begin() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar() == 1
            assert connection.execute(sa.text("SELECT current_database()")).scalar() == "chatvlm"
            connection.execute(sa.text(f"CREATE TABLE {table} (id integer PRIMARY KEY, body text)"))
            connection.execute(sa.text(f"INSERT INTO {table} VALUES (1, 'kept')"))
        old_pid, url = postgres_service.pid, postgres_service.url

        postgres_service.kill()
        assert process_gone(old_pid)
        engine.dispose()
        with pytest.raises(sa.exc.OperationalError), engine.connect():
            pass

        postgres_service.start()
        assert (postgres_service.url, postgres_service.pid != old_pid) == (url, True)
        engine.dispose()  # the pool's connections died with the server
        with engine.connect() as connection:
            assert connection.execute(sa.text(f"SELECT id, body FROM {table}")).all() == [(1, "kept")]
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
