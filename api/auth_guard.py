"""Key guessing is slow: each client address may fail authentication ``auth.failed_auth_limit`` times (20 a minute
by default), then every key it sends (``Authorization: Bearer``, ``X-API-Key`` or the ``/login`` form) is refused
with 429 and ``Retry-After`` until the window moves on, before the key is even compared (a refused guess tells
nothing). Successful requests do not count; requests without a key are not guesses and are left to the
gatekeeper (401). The client address is the connecting one, or the one a trusted proxy forwards
(``server.trusted_proxies``); nothing else a client sends can change it. With a broker (``jobs.broker_url``) the
failures are counted in Redis, so every replica refuses an address over its budget."""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inference.callers import address_name
from inference.rate_limit import RateLimiter, storage_for

from .errors import error_response
from .security import bearer_key, fingerprint

log = logging.getLogger("chatvlmllm.auth")


class AuthGuard:
    """ASGI middleware, outside the gatekeeper: refuses the keys of an address over its failure budget, and counts
    the gatekeeper's (and the login form's) refusals of a wrong key."""

    def __init__(self, app: ASGIApp, rate: str, enabled: bool, broker_url: str | None = None):
        self.app = app
        self.enabled = enabled
        # failed authentications per client address (in Redis with a broker: shared by the replicas)
        self.limiter = RateLimiter(rate, storage_for(broker_url), scope="failed-auth")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        key = bearer_key(Headers(scope=scope))
        login = scope["type"] == "http" and scope["method"] == "POST" and scope["path"].rstrip("/") == "/login"
        if key is None and not login:
            await self.app(scope, receive, send)
            return
        address = address_name((scope.get("client") or ("unknown", 0))[0])
        retry = self.limiter.retry_after(address, count=False)
        if retry is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            detail = (
                f"Too many failed sign-ins from this address (wrong keys: at most {self.limiter.rate}). Try again in {retry} s."
            )
            await error_response(scope["path"], 429, detail, {"Retry-After": str(retry)})(scope, receive, send)
            return
        accepted = False

        async def watch(message: Message) -> None:
            nonlocal accepted
            refused = False
            if message["type"] == "http.response.start" and message["status"] == 401:
                refused = True
            elif message["type"] == "websocket.accept":
                accepted = True
            elif message["type"] == "websocket.close" and not accepted:
                refused = scope.get("state", {}).get("principal") is None  # the gatekeeper found no valid key
            if refused:  # counted before the refusal leaves: the client's next request, to any replica, sees it
                self.count_failure(address, key)
            await send(message)

        await self.app(scope, receive, watch)

    def count_failure(self, address: str, key: str | None) -> None:
        if self.limiter.spend(address):
            who = fingerprint(key) if key is not None else "the sign-in form"
            log.warning(
                "authentication: %s has sent as many wrong keys as it may (%s; the last: %s); its keys "
                "get 429 until the window moves on",
                address,
                self.limiter.rate,
                who,
            )
