"""Issue 19, point 5: a browser sign-in is a signed cookie that any replica with the same secret accepts (no sticky
sessions), carrying the key's role and fingerprint and never the key. Tampered, expired, foreign (another secret)
and orphaned (its key removed from the config) cookies are refused like no session (401). Real apps in this process,
each with its own data directory; the cookie is read through the gatekeeper, as a browser's would be."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time

import pytest
from fastapi.testclient import TestClient

from api.security import KeyRing
from api.server import create_api
from api.sessions import Sessions
from inference import ConfigError, load_settings
from tests.conftest import LOCAL, ROOT
from tests.scratch import scratch

USER, ADMIN = "user-key-0123456789", "admin-key-9876543210"
KEYS = [f"user:{USER}", f"admin:{ADMIN}"]
SECRET, OTHER_SECRET = "a-shared-session-secret-of-forty-chars!!", "another-secret-of-at-least-thirty-two-ch"
COOKIE = "chatvlm_session"


def app_client(settings, secret: str | None, keys: list[str] = KEYS):
    """A real app (its own data directory) with these keys and session secret, under a test client."""
    settings = settings.model_copy(deep=True)
    settings.auth.api_keys = keys
    settings.auth.session_secret = secret
    settings.server.data_dir = scratch(prefix="chatvlm-test-sessions-")
    return TestClient(create_api(settings), base_url=LOCAL, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def apps(settings):
    """Replica A and B (the same secret and keys), C (another secret), D (the same secret, the user key removed)."""
    clients = {
        "a": app_client(settings, SECRET),
        "b": app_client(settings, SECRET),
        "c": app_client(settings, OTHER_SECRET),
        "d": app_client(settings, SECRET, keys=[f"admin:{ADMIN}"]),
    }
    for client in clients.values():
        client.__enter__()
    yield clients
    for client in clients.values():
        client.__exit__(None, None, None)


def sign_in(client, key: str) -> str:
    response = client.post("/login", data={"key": key}, follow_redirects=False)
    assert response.status_code == 303, response.text
    client.cookies.clear()  # each test sends the cookie it means to
    return response.cookies[COOKIE]


def status(client, token: str, path: str = "/models") -> int:
    return client.get(path, headers={"Cookie": f"{COOKIE}={token}"}).status_code


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def resigned(token: str, secret: str, **changes) -> str:
    """The cookie with its claims changed and signed again with ``secret``: what one who holds the secret could make
    (the test's stand-in for time passing, or for a forger who guessed the secret)."""
    version, payload, _ = token.split(".")
    claims = {**json.loads(unb64(payload)), **changes}
    payload = b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"chatvlm-session\0{version}.{payload}".encode(), hashlib.sha256).digest()
    return f"{version}.{payload}.{b64(signature)}"


def test_a_cookie_made_on_one_replica_works_on_another_with_the_same_secret(apps):
    user, admin = sign_in(apps["a"], USER), sign_in(apps["a"], ADMIN)
    assert status(apps["b"], user) == 200 and status(apps["b"], admin) == 200
    assert status(apps["b"], admin, "/metrics") == 200  # the role travels with it
    assert status(apps["b"], user, "/metrics") == 403
    assert status(apps["a"], sign_in(apps["b"], USER)) == 200  # both ways


def test_another_secret_refuses_it(apps):
    user = sign_in(apps["a"], USER)
    refused = apps["c"].get("/models", headers={"Cookie": f"{COOKIE}={user}"})
    assert refused.status_code == 401 and "not valid" in refused.json()["detail"]
    assert status(apps["c"], sign_in(apps["c"], USER)) == 200  # C's own cookies work there
    assert status(apps["a"], sign_in(apps["c"], USER)) == 401


def test_the_cookie_names_the_key_by_its_fingerprint_never_the_key(apps):
    token = sign_in(apps["a"], USER)
    claims = json.loads(unb64(token.split(".")[1]))
    assert claims["r"] == "user" and claims["n"].startswith("key-")
    text = json.dumps(claims)
    assert USER not in text and hashlib.sha256(USER.encode()).hexdigest()[:16] not in text
    assert b64(hashlib.sha256(USER.encode()).digest())[:16] not in text


def test_a_tampered_cookie_is_no_session(apps):
    token = sign_in(apps["a"], USER)
    version, payload, signature = token.split(".")
    claims = json.loads(unb64(payload))
    as_admin = b64(json.dumps({**claims, "r": "admin"}, separators=(",", ":")).encode())
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    forged = [
        f"{version}.{as_admin}.{signature}",  # a role raised, the old signature
        f"{version}.{payload}.{flipped}",  # the signature changed
        f"v2.{payload}.{signature}",  # another version
        f"{version}.{payload}.",
        f"{version}..{signature}",
        "not-a-session",
        "v1.!!!.???",
        "v1.e30." + b64(b"x" * 32),  # {} signed with nothing
        token + "." + signature,
        token * 20,  # too long
    ]
    for cookie in forged:
        assert status(apps["a"], cookie) == 401, cookie
        assert status(apps["a"], cookie, "/metrics") == 401, cookie
    assert status(apps["a"], token) == 200  # the cookie they were made from still works


def test_an_expired_cookie_is_no_session(apps):
    token = sign_in(apps["a"], USER)
    now = int(time.time())
    assert status(apps["a"], resigned(token, SECRET, e=now - 1)) == 401
    assert status(apps["b"], resigned(token, SECRET, e=now - 1)) == 401
    assert status(apps["a"], resigned(token, SECRET, e=now + 3600)) == 200  # re-signed, not expired: accepted
    assert status(apps["a"], resigned(token, SECRET, e=str(now + 3600))) == 401  # not a number


def test_a_removed_key_opens_nothing_through_an_old_cookie(apps):
    user, admin = sign_in(apps["a"], USER), sign_in(apps["a"], ADMIN)
    assert status(apps["d"], user) == 401  # D has the same secret, but no longer that key
    assert status(apps["d"], admin) == 200
    # nor does a forger who knows the secret make one for another key: the tag binds the cookie to its key
    assert status(apps["a"], resigned(admin, SECRET, r="user", n=json.loads(unb64(user.split(".")[1]))["n"])) == 401


def test_a_key_whose_role_changed_needs_a_new_sign_in():
    token = Sessions(KeyRing(KEYS), SECRET).open(USER)
    assert Sessions(KeyRing(KEYS), SECRET).principal(token).role == "user"
    assert Sessions(KeyRing([f"admin:{USER}"]), SECRET).principal(token) is None
    assert Sessions(KeyRing(KEYS), SECRET).open("not-a-configured-key") is None


def test_logout_revokes_the_cookie_where_it_is_made_and_without_a_broker_only_there(apps):
    token = sign_in(apps["a"], USER)
    apps["a"].get("/logout", headers={"Cookie": f"{COOKIE}={token}"}, follow_redirects=False)
    assert status(apps["a"], token) == 401
    # the documented limit of one process: without a broker no other replica hears of the logout
    assert status(apps["b"], token) == 200


def test_without_a_secret_each_process_draws_its_own_and_says_so(settings, caplog):
    with caplog.at_level(logging.INFO, logger="chatvlmllm.auth"):
        first, second = app_client(settings, None), app_client(settings, None)
    assert "auth.session_secret is not set" in caplog.text and "restart" in caplog.text
    with first, second:
        assert status(first, sign_in(first, USER)) == 200
        assert status(second, sign_in(first, USER)) == 401


def test_the_secret_comes_from_the_environment_and_is_never_shown():
    env = {"CHATVLM_SESSION_SECRET": SECRET}
    assert load_settings(ROOT / "config.yaml", env=env).auth.session_secret == SECRET
    with pytest.raises(ConfigError) as refused:
        load_settings(ROOT / "config.yaml", env={"CHATVLM_SESSION_SECRET": "too-short-a-secret"})
    assert "CHATVLM_SESSION_SECRET=(hidden)" in str(refused.value) and "too-short" not in str(refused.value)
    assert "32 characters" in str(refused.value)
