"""Issue 19, point 5: sign-ins past one process. Two live replicas share a session secret and a real Redis (the
broker): a browser signed in on replica A is signed in on replica B; a forged cookie, or one signed with another
secret, is refused by both (401, like no session, and nothing of the secret or a traceback in the answer); a cookie
logged out on A and replayed on B is refused (the logout is kept in Redis until the cookie's expiry). While Redis
does not answer, the replicas keep serving the signed-in browsers (the logout is then kept by its replica only)."""

from __future__ import annotations

import base64
import json
import logging

import httpx
import pytest

from api.security import KeyRing
from api.sessions import Sessions

from .conftest import ADMIN, KEYS, USER
from .replicas import redis_db, replicas

SECRET = "a-shared-session-secret-of-forty-chars!!"
OTHER_SECRET = "another-secret-of-at-least-thirty-two-ch"
COOKIE = "chatvlm_session"
DB = 8  # this module's Redis database


@pytest.fixture(scope="module")
def broker(redis_service):
    return redis_db(redis_service.url, DB)


@pytest.fixture(scope="module")
def pair(settings, broker, postgres_service):
    """Replica A and B: keys on, the same secret, the same Redis and PostgreSQL."""
    with replicas(settings, broker, postgres_service.url, auth={"api_keys": KEYS, "session_secret": SECRET}) as clients:
        yield clients


def sign_in(replica, key: str) -> str:
    """Signs in on ``replica`` as a browser does (the form), and returns the session cookie it set."""
    with httpx.Client(base_url=replica.base_url, timeout=60) as browser:
        response = browser.post("/login", data={"key": key}, follow_redirects=False)
        assert response.status_code == 303, response.text
        return response.cookies[COOKIE]


def get(replica, token: str, path: str = "/models", **headers) -> httpx.Response:
    return replica.get(path, headers={"Cookie": f"{COOKIE}={token}", **headers}, follow_redirects=False)


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert "not valid" in response.json()["detail"]
    assert SECRET not in response.text and "Traceback" not in response.text


def test_a_browser_signed_in_on_one_replica_is_signed_in_on_the_other(pair):
    a, b = pair
    user, admin = sign_in(a, USER), sign_in(a, ADMIN)
    assert get(b, user).status_code == 200
    ui = get(b, user, "/", Accept="text/html")  # the web UI itself, not the sign-in page
    assert ui.status_code == 200 and "<html" in ui.text.lower()
    assert get(b, user, "/metrics").status_code == 403 and get(b, admin, "/metrics").status_code == 200
    assert get(a, sign_in(b, USER)).status_code == 200


def test_a_forged_cookie_is_refused_by_every_replica(pair):
    a, b = pair
    token = sign_in(a, USER)
    version, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raised = base64.urlsafe_b64encode(json.dumps({**claims, "r": "admin"}).encode()).rstrip(b"=").decode()
    for forged in (f"{version}.{raised}.{signature}", f"{version}.{payload}.{signature[::-1]}", "v1.x.y", "garbage"):
        for replica in pair:
            assert_refused(get(replica, forged))
            assert_refused(get(replica, forged, "/metrics"))
    assert get(b, token).status_code == 200


def test_a_cookie_signed_with_another_secret_is_refused(pair):
    foreign = Sessions(KeyRing(KEYS), OTHER_SECRET).open(ADMIN)  # the right keys, the wrong secret
    assert foreign is not None
    for replica in pair:
        assert_refused(get(replica, foreign))
    assert Sessions(KeyRing(KEYS), SECRET).principal(foreign) is None


def test_a_cookie_logged_out_on_one_replica_and_replayed_on_the_other_is_refused(pair, broker):
    import redis

    a, b = pair
    token = sign_in(a, USER)
    assert get(b, token).status_code == 200
    with httpx.Client(base_url=a.base_url, timeout=60, cookies={COOKIE: token}) as browser:
        out = browser.get("/logout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert f'{COOKIE}=""' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]  # cleared
    assert_refused(get(b, token))  # replayed on the other replica
    assert_refused(get(a, token))
    assert get(b, sign_in(b, USER)).status_code == 200  # a new sign-in works
    # the revocation is kept until the cookie would have expired, not for ever
    store = redis.Redis.from_url(broker, socket_timeout=5)
    ttls = [store.ttl(key) for key in store.scan_iter("chatvlm-session-revoked:*")]
    assert ttls and all(0 < ttl <= 12 * 3600 + 1 for ttl in ttls), ttls


def test_replicas_without_a_secret_warn_that_sign_ins_stay_where_they_were_made(settings, broker, postgres_service, caplog):
    with (
        caplog.at_level(logging.INFO, logger="chatvlmllm.auth"),
        replicas(settings, broker, postgres_service.url, auth={"api_keys": KEYS}) as (a, b),
    ):
        assert get(b, sign_in(a, USER)).status_code == 401  # each drew its own secret
    warned = [r for r in caplog.records if "session_secret is not set" in r.getMessage()]
    assert len(warned) == 2 and all(r.levelno == logging.WARNING for r in warned)
    assert "nor reach the other replicas" in warned[0].getMessage() and "CHATVLM_SESSION_SECRET" in warned[0].getMessage()


def test_while_redis_does_not_answer_signed_in_browsers_are_still_served(pair, redis_service, caplog):
    """Last in the module: Redis is killed, then started again (a replica asks it again some seconds later)."""
    a, b = pair
    token, dropped = sign_in(a, USER), sign_in(a, USER)
    redis_service.kill()
    try:
        with caplog.at_level(logging.WARNING):
            assert get(b, token).status_code == 200  # the signature and the live key are enough
            a.get("/logout", headers={"Cookie": f"{COOKIE}={dropped}"}, follow_redirects=False)
            assert_refused(get(a, dropped))  # kept by replica A itself
        assert "Redis does not answer" in caplog.text and redis_service.url not in caplog.text
    finally:
        redis_service.start()
