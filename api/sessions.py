"""Browser sessions (``/login``), shared by every replica without shared state: a session is a cookie signed with
HMAC-SHA256 under ``auth.session_secret`` (``CHATVLM_SESSION_SECRET``; the same on every replica), which carries
the principal (the key's role and fingerprint, never the key), an expiry and a tag that binds it to the key
(HMAC of the key's digest: a key removed from ``auth.api_keys`` no longer opens anything, its old cookies
included). Any replica with the same secret and keys accepts it; a tampered, expired or foreign one is no session
(401, as none). Without a secret each process draws one: a restart signs everyone out, and with several replicas a
session works only on the replica that made it.

Logout clears the cookie; a signed cookie cannot be taken back without shared state, so its id is kept as revoked
until its expiry: in Redis when a broker is configured (``jobs.broker_url``; every replica refuses it), else in this
process's memory. If Redis does not answer, a revocation is kept by this process alone and a cookie that is not
revoked here is accepted (logged): the signature and the live key still hold; only the replay of a cookie the
browser has already dropped, on another replica, during the outage, gets through.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time

from inference.rate_limit import REDIS_TIMEOUT_S, Outage

from .security import SESSION_SECONDS, KeyRing, Principal

VERSION = "v1"
MAX_COOKIE = 1024  # a longer cookie is not one of ours (nothing is parsed)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Revocations:
    """Ids of sessions logged out before their expiry: in Redis at ``redis_url`` (every replica sees them), or in
    this process (None, or while Redis does not answer)."""

    def __init__(self, redis_url: str | None):
        self._local: dict[str, float] = {}
        self._lock = threading.Lock()
        self._redis = None
        self._outage = Outage("sign-in sessions (logouts)")
        if redis_url:
            import redis  # with a broker only (the rate limits have checked it is installed)

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)
            self._errors = redis.RedisError

    def _shared(self, action):
        """``action(redis)``'s answer, or None when there is no Redis or it does not answer."""
        if self._redis is None or self._outage.down:
            return None
        try:
            answer = action(self._redis)
        except self._errors as exc:
            self._outage.failed(exc)
            return None
        self._outage.answered()
        return answer

    def revoke(self, session_id: str, expires: float) -> None:
        ttl = max(1, int(expires - time.time()) + 1)
        if self._shared(lambda r: r.set(f"chatvlm-session-revoked:{session_id}", 1, ex=ttl)):
            return
        now = time.time()
        with self._lock:
            self._local = {s: until for s, until in self._local.items() if until > now}  # forget expired ones
            self._local[session_id] = expires

    def revoked(self, session_id: str) -> bool:
        with self._lock:
            if session_id in self._local:
                return True
        return bool(self._shared(lambda r: r.exists(f"chatvlm-session-revoked:{session_id}")))


class Sessions:
    """Opens and reads signed session cookies for the keys of ``keys`` (see the module doc); ``secret`` None: a
    random one of this process."""

    def __init__(self, keys: KeyRing, secret: str | None, redis_url: str | None = None):
        self.persistent = bool(secret)
        self._secret = secret.encode() if secret else secrets.token_bytes(32)
        self._keys = [(self._tag(digest), principal) for principal, digest in keys.entries()]
        self._revocations = Revocations(redis_url)

    def _tag(self, key_digest: bytes) -> str:
        """What binds a cookie to its key: not the key, nor its plain digest (a cookie is readable)."""
        return _b64(hmac.new(self._secret, b"chatvlm-session-key\0" + key_digest, hashlib.sha256).digest()[:16])

    def _sign(self, payload: str) -> bytes:
        return hmac.new(self._secret, f"chatvlm-session\0{VERSION}.{payload}".encode(), hashlib.sha256).digest()

    def open(self, key: str) -> str | None:
        """A session cookie's value for ``key`` (None: not a key of the ring)."""
        digest = hashlib.sha256(key.encode()).digest()
        tag = self._tag(digest)
        principal = None
        for known, candidate in self._keys:  # no early exit
            if hmac.compare_digest(tag.encode(), known.encode()):
                principal = candidate
        if principal is None:
            return None
        claims = {
            "r": principal.role,
            "n": principal.name,
            "k": tag,
            "e": int(time.time()) + SESSION_SECONDS,
            "i": secrets.token_urlsafe(12),
        }
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{VERSION}.{payload}.{_b64(self._sign(payload))}"

    def _claims(self, token: str) -> dict | None:
        """The claims of a cookie signed here and not expired (else None), revoked or not."""
        if len(token) > MAX_COOKIE or token.count(".") != 2:
            return None
        version, payload, signature = token.split(".")
        try:
            signed = hmac.compare_digest(_unb64(signature), self._sign(payload))
            claims = json.loads(_unb64(payload)) if signed and version == VERSION else None
        except (binascii.Error, ValueError):
            return None
        if not isinstance(claims, dict) or not all(isinstance(claims.get(f), str) for f in ("r", "n", "k", "i")):
            return None
        expires = claims.get("e")
        if not isinstance(expires, int) or expires <= time.time():
            return None
        return claims

    def principal(self, token: str) -> Principal | None:
        """Who a cookie stands for: None when it is not signed here, has expired, was logged out, or its key is
        no longer configured (or no longer has the role and name it was signed with)."""
        claims = self._claims(token)
        if claims is None:
            return None
        found = None
        for tag, principal in self._keys:  # no early exit
            if hmac.compare_digest(tag.encode(), claims["k"].encode()) and principal == Principal(claims["r"], claims["n"]):
                found = principal
        if found is None or self._revocations.revoked(claims["i"]):
            return None
        return found

    def close(self, token: str) -> None:
        """Logout: the cookie is refused from now on, here and (with Redis) on every replica, until it expires."""
        claims = self._claims(token)
        if claims is not None:  # only a cookie signed here may be revoked (no one fills the store with others)
            self._revocations.revoke(claims["i"], claims["e"])
