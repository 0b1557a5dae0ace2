"""Point 6, key guessing: a client address may send ``auth.failed_auth_limit`` wrong keys (20 a minute), by
``Authorization: Bearer``, ``X-API-Key`` or the ``/login`` form alike; from the 21st, every key it sends gets 429
with ``Retry-After`` before it is compared (a correct key too: a refused guess tells nothing). Another address has its
own budget; requests with a good key do not count; the log names a wrong key by its fingerprint only."""

from __future__ import annotations

import logging

import httpx
import pytest

from api.security import fingerprint
from tests.security.conftest import ADMIN, KEYS, USER, live

WRONG = [f"guess-{i:04d}-not-a-key" for i in range(50)]


def attempt(client, i: int, key: str, address: str | None = None):
    """One key, sent the i-th way: Bearer, X-API-Key or the sign-in form (from ``address`` via a trusted proxy)."""
    headers = {"X-Forwarded-For": address} if address else {}
    if i % 3 == 0:
        return client.get("/models", headers={**headers, "Authorization": f"Bearer {key}"})
    if i % 3 == 1:
        return client.get("/models", headers={**headers, "X-API-Key": key})
    return client.post("/login", data={"key": key}, headers=headers, follow_redirects=False)


@pytest.fixture(scope="module")
def keyed(settings):
    """Keys on, one client address (this test's)."""
    with live(settings, auth={"api_keys": KEYS}) as (client, _):
        yield client


@pytest.fixture(scope="module")
def proxied(settings):
    """Keys on behind a proxy on this host: X-Forwarded-For gives each request the address a proxy would."""
    with live(settings, auth={"api_keys": KEYS}, server={"trusted_proxies": ["127.0.0.1"]}) as (client, _):
        yield client


def test_fifty_wrong_keys_meet_429_from_the_21st(keyed, caplog):
    with caplog.at_level(logging.INFO):
        statuses = [attempt(keyed, i, key).status_code for i, key in enumerate(WRONG)]
    assert statuses[:20] == [401] * 20
    assert statuses[20:] == [429] * 30
    limited = attempt(keyed, 0, "guess-yet-another-key")
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "Too many failed sign-ins" in limited.json()["detail"]
    # refused before comparing: the right key from this address learns nothing either...
    assert attempt(keyed, 0, USER).status_code == 429 and attempt(keyed, 2, ADMIN).status_code == 429
    # ...while what needs no key is still answered, and asking without a key is still a plain 401
    assert keyed.get("/health").status_code == 200
    assert keyed.get("/models").status_code == 401
    warnings = [r.getMessage() for r in caplog.records if r.name == "chatvlmllm.auth"]
    assert len(warnings) == 1 and fingerprint(WRONG[19]) in warnings[0] and "127.0.0.1" in warnings[0]
    assert not any(key in caplog.text for key in WRONG)


def test_the_budget_is_per_address_and_good_keys_do_not_spend_it(proxied):
    attacker, user, patient = "203.0.113.7", "198.51.100.20", "198.51.100.30"
    statuses = [attempt(proxied, i, key, attacker).status_code for i, key in enumerate(WRONG)]
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429] * 30
    # another address: its own budget, its good key answered, its wrong key a plain 401
    assert attempt(proxied, 0, USER, user).status_code == 200
    assert attempt(proxied, 2, USER, user).status_code == 303  # signed in
    assert attempt(proxied, 1, "guess-from-elsewhere", user).status_code == 401
    # many good requests, then wrong keys: only the wrong ones count (20 of them, then 429)
    assert [attempt(proxied, i, ADMIN, patient).status_code for i in range(30)] == [200, 200, 303] * 10
    after = [attempt(proxied, i, key, patient).status_code for i, key in enumerate(WRONG[:21])]
    assert after == [401] * 20 + [429]


def test_with_keys_off_nothing_is_a_guess(open_server):
    with httpx.Client(base_url=open_server.base_url, timeout=120) as client:  # the shared server; cookies of its own
        statuses = [attempt(client, i, key).status_code for i, key in enumerate(WRONG)]
    assert 429 not in statuses and [s for i, s in enumerate(statuses) if i % 3 != 2] == [200] * 34


def test_a_wrong_key_is_counted_before_its_401_leaves():
    """The client that has its 401 may ask again at once (another replica, another connection): the failure must be
    in the window by then, or a fast guesser gets guesses past the budget (seen between two replicas)."""
    import asyncio

    from api.auth_guard import AuthGuard

    async def gatekeeper(scope, receive, send):  # a refusal, as the real gatekeeper answers a wrong key
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    guard = AuthGuard(gatekeeper, "1/minute", enabled=True)
    key = [(b"authorization", b"Bearer guess-0000-not-a-key")]
    scope = {"type": "http", "method": "GET", "path": "/models", "client": ("192.0.2.9", 1), "headers": key}
    seen = []

    async def send(message):
        if message["type"] == "http.response.start":
            seen.append(guard.limiter.retry_after("192.0.2.9", count=False))

    async def receive():
        return {"type": "http.request", "body": b""}

    asyncio.run(guard(scope, receive, send))
    assert seen and seen[0] is not None, "the refusal left before it was counted"
