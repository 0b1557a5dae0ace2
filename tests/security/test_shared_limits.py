"""Issue 19, point 5: rate limits past one process. Two live replicas share a real Redis (the broker): a key's
``limits.rate_limit`` budget spent on replica A is spent on replica B (429 with Retry-After there), another key keeps
its own; the wrong keys an address sends to A count against it on B (``auth.failed_auth_limit``). While Redis does
not answer, nothing fails: each replica limits with a window of its own (logged)."""

from __future__ import annotations

import logging

import pytest

from .replicas import redis_db, replicas

FIRST, SECOND, THIRD = "admin-key-first-0000000", "admin-key-second-000000", "admin-key-third-0000000"
KEYS = [f"admin:{FIRST}", f"admin:{SECOND}", f"admin:{THIRD}"]
DB = 9  # this module's Redis database: its spent budgets never refuse another module's requests


@pytest.fixture(scope="module")
def pair(settings, redis_service, postgres_service):
    """Replica A and B: 3 requests a minute per key, 3 wrong keys a minute per address (forwarded by a proxy on this
    host, so that each test has its own address), the same Redis and PostgreSQL."""
    with replicas(
        settings,
        redis_db(redis_service.url, DB),
        postgres_service.url,
        auth={"api_keys": KEYS, "failed_auth_limit": "3/minute"},
        limits={"rate_limit": "3/minute"},
        server={"trusted_proxies": ["127.0.0.1"]},
    ) as clients:
        yield clients


def unload(replica, key: str):
    """A charged request that costs no work (the model is not loaded)."""
    return replica.delete("/models/rapidocr", headers={"Authorization": f"Bearer {key}"})


def assert_429(response, says: str) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 60 and says in response.json()["detail"]


def test_the_budget_spent_on_one_replica_is_spent_on_the_other(pair):
    a, b = pair
    assert [unload(a, FIRST).status_code for _ in range(2)] == [200, 200]
    assert unload(b, FIRST).status_code == 200  # the third of three, on B
    assert_429(unload(b, FIRST), "Too many requests")
    assert_429(unload(a, FIRST), "Too many requests")
    assert unload(b, SECOND).status_code == 200  # another key has its own budget


def test_wrong_keys_sent_to_one_replica_count_on_the_other(pair):
    a, b = pair
    address = {"X-Forwarded-For": "198.51.100.7"}
    wrong = [a.get("/models", headers={**address, "Authorization": f"Bearer wrong-key-{i}-0000"}) for i in range(3)]
    assert [r.status_code for r in wrong] == [401] * 3
    assert_429(b.get("/models", headers={**address, "Authorization": f"Bearer {SECOND}"}), "Too many failed sign-ins")
    assert b.get("/models", headers={"X-Forwarded-For": "198.51.100.8", "Authorization": f"Bearer {SECOND}"}).status_code == 200


def test_while_redis_does_not_answer_each_replica_limits_alone(pair, redis_service, caplog):
    """Last in the module: Redis is killed, then started again (a replica asks it again some seconds later)."""
    a, b = pair
    redis_service.kill()
    try:
        with caplog.at_level(logging.WARNING):
            assert [unload(a, THIRD).status_code for _ in range(3)] == [200] * 3
            assert_429(unload(a, THIRD), "Too many requests")  # A's own window still limits
            assert unload(b, THIRD).status_code == 200  # B counts alone: at most one budget per replica
        assert "Redis does not answer" in caplog.text and redis_service.url not in caplog.text
    finally:
        redis_service.start()
