"""Who may do what, in front of everything the server answers (REST routes and the mounted Gradio app).

- **API keys with roles**, off until configured (``auth.api_keys`` / ``CHATVLM_API_KEYS``): ``user`` may run
  inference, ``admin`` may also load and unload models and read ``/metrics``. A key comes as
  ``Authorization: Bearer KEY``, ``X-API-Key: KEY``, or a browser session made by ``/login`` (a signed cookie that
  every replica reads: ``api/sessions.py``). Keys are compared
  in constant time (as SHA-256 digests) and never logged: a key is known by its fingerprint.
- **Cross-site requests cannot act**: a state-changing request whose ``Origin`` is neither this server nor in
  ``auth.allowed_origins`` is refused (a page on another site cannot drive a server on the user's network).
- **Rate limits** per key, or per client address when keys are off (``limits.rate_limit``): charged by the
  service where work is admitted (``inference/rate_limit.py``), whichever the door; the principal found here is
  the caller it charges. Gradio uploads, the one door that is not work, are charged here.

Open to all: ``GET /`` (JSON), ``/health``, ``/ready``, ``/info``, the API docs and the login page.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, urlparse

from starlette.datastructures import Headers
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inference.callers import UPLOADER, address_caller
from inference.errors import RateLimited
from inference.settings import ROLES, Settings

from .errors import error_response
from .root import wants_html

SESSION_COOKIE = "chatvlm_session"
SESSION_SECONDS = 12 * 3600
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

OPEN_PATHS = {
    "/health",
    "/ready",
    "/info",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
    "/login",
    "/logout",
    "/favicon.ico",
}
OPEN_PREFIXES = ("/static-offline-docs/",)
ADMIN_ROUTES = [
    ("POST", re.compile(r"^/models/[^/]+/load$")),
    ("DELETE", re.compile(r"^/models/[^/]+$")),
    ("GET", re.compile(r"^/metrics$")),
]
# The REST routes whose work the service charges to the caller's rate-limit budget (for the API docs' 429s: the
# limit itself is applied by the service, for every door); and Gradio's upload, charged here.
LIMITED_ROUTES = [
    ("POST", re.compile(r"^/(ocr|chat|batch/ocr|jobs|models/[^/]+/load|v1/chat/completions)$")),
    ("DELETE", re.compile(r"^/models/[^/]+$")),
]
UPLOAD = re.compile(r"^/+gradio_api/+upload/*$")


@dataclass(frozen=True)
class Principal:
    """Who is asking: a role and a name for logs and rate limits (a key's fingerprint, or the client address
    when keys are off) — never the key itself."""

    role: str
    name: str

    @property
    def username(self) -> str:
        """What Gradio shows as the user (``gr.Request.username``): role and name."""
        return f"{self.role}:{self.name}"


def fingerprint(key: str) -> str:
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def has_role(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


def is_admin(username: str | None) -> bool:
    """For the UI's handlers: whether the Gradio user (``Principal.username``) has the admin role."""
    return bool(username) and username.split(":", 1)[0] == "admin"


def required_role(method: str, path: str, html: bool = False) -> str | None:
    """The role a request needs (None: open to all). ``GET /`` is open as the API's JSON information; asked
    for HTML (``html``), it is the web UI, which needs a key like the rest."""
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES) or (path == "/" and method in ("GET", "HEAD") and not html):
        return None
    if any(method == m and pattern.match(path) for m, pattern in ADMIN_ROUTES):
        return "admin"
    return "user"


def counts_against_limit(method: str, path: str) -> bool:
    """Whether this REST route may answer 429 (its work is charged to the caller's budget)."""
    return any(method == m and pattern.match(path) for m, pattern in LIMITED_ROUTES)


def caller(scope: Scope) -> str | None:
    """Whose rate-limit budget a request spends: the name of the principal the gatekeeper found (a key's
    fingerprint, or ``address <ip>`` when keys are off)."""
    principal = scope.get("state", {}).get("principal")
    return principal.name if principal is not None else None


class KeyRing:
    """The configured keys; a key is looked up by comparing SHA-256 digests in constant time, against every key."""

    def __init__(self, pairs: list[str]):
        self._keys = []
        for pair in pairs:
            role, _, key = pair.partition(":")
            self._keys.append((role, hashlib.sha256(key.encode()).digest(), fingerprint(key)))

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def entries(self) -> list[tuple[Principal, bytes]]:
        """Each key's principal and SHA-256 digest (what a session cookie is bound to)."""
        return [(Principal(role, name), digest) for role, digest, name in self._keys]

    def principal(self, key: str) -> Principal | None:
        digest, found = hashlib.sha256(key.encode()).digest(), None
        for role, known, name in self._keys:  # no early exit: the time does not tell which key matched
            if hmac.compare_digest(digest, known):
                found = Principal(role, name)
        return found


class Sessions(Protocol):
    """What the gatekeeper asks of the browser sessions (``api/sessions.py``): who a session cookie stands for."""

    def principal(self, token: str) -> Principal | None: ...


def bearer_key(headers: Headers) -> str | None:
    """The key of a request: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get("x-api-key", "").strip() or None


def cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def same_origin(origin: str, headers: Headers) -> bool:
    """The Origin is this server as the browser reached it (scheme aside: a TLS proxy may sit in front)."""
    return bool(origin) and urlparse(origin).netloc.lower() == headers.get("host", "").lower()


def without_cors(send: Send) -> Send:
    """``send`` for a page of another site: an answer without the CORS headers that would let that page read it."""

    async def closed(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if not k.lower().startswith(b"access-control-")]
            message = {**message, "headers": kept}
        await send(message)

    return closed


class Gatekeeper:
    """ASGI middleware: cross-site refusal, authentication and roles, rate limits (see the module doc)."""

    def __init__(self, app: ASGIApp, settings: Settings, keys: KeyRing, sessions: Sessions):
        self.app = app
        self.keys = keys
        self.sessions = sessions
        self.allowed_origins = set(settings.auth.allowed_origins)

    def identify(self, scope: Scope, headers: Headers) -> tuple[Principal | None, bool]:
        """(who is asking, whether they presented a key or session that is not valid)."""
        if not self.keys.enabled:
            client = scope.get("client") or ("local", 0)
            return Principal("admin", address_caller(client[0])), False
        key = bearer_key(headers)
        if key is not None:
            principal = self.keys.principal(key)
            return principal, principal is None
        token = cookie(headers, SESSION_COOKIE)
        if token:
            principal = self.sessions.principal(token)
            return principal, principal is None
        return None, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        method, path = scope.get("method", "GET"), scope["path"]
        refusal = self.check(scope, headers, method, path)
        if refusal is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await refusal(scope, receive, send)
            return
        origin = headers.get("origin")
        if scope["type"] == "http" and origin is not None and not self.allowed(origin, headers):
            send = without_cors(send)  # (Gradio's own CORS lets any localhost page read its GET routes, credentials too)
        await self.app(scope, receive, send)

    def allowed(self, origin: str, headers: Headers) -> bool:
        """Whether pages from ``origin`` may call (and read) this server: its own, or one ``auth.allowed_origins`` names."""
        return origin.rstrip("/") in self.allowed_origins or same_origin(origin, headers)

    def check(self, scope: Scope, headers: Headers, method: str, path: str) -> Callable | None:
        """None to let the request through; else the response that refuses it."""

        def _refuse(status: int, detail: str, extra: dict[str, str] | None = None) -> Callable:
            return error_response(path, status, detail, extra)

        origin = headers.get("origin")
        if method in UNSAFE_METHODS and origin is not None and not self.allowed(origin, headers):
            return _refuse(
                403,
                f"Cross-site request refused: pages from {origin[:100]!r} may not act on this "
                "server (an administrator can allow an origin in auth.allowed_origins).",
            )
        principal, invalid = self.identify(scope, headers)
        scope.setdefault("state", {})["principal"] = principal
        needed = required_role(method, path, html=wants_html(headers.get("accept", "")))
        if self.keys.enabled and needed is not None:
            if principal is None:
                if method == "GET" and path == "/" and wants_html(headers.get("accept", "")):
                    query = scope.get("query_string", b"").decode("latin-1")  # kept through the sign-in: /?view=api
                    return RedirectResponse(
                        "/login?next=" + quote(path + ("?" + query if query else ""), safe="/"), status_code=303
                    )
                why = (
                    "The API key is not valid."
                    if invalid
                    else "An API key is required: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'."
                )
                return _refuse(401, why, {"WWW-Authenticate": "Bearer"})
            if not has_role(principal.role, needed):
                return _refuse(403, f"This needs the {needed} role; this key has the {principal.role} role.")
        if principal is not None and method == "POST" and UPLOAD.match(path):
            UPLOADER.set(principal.name)
            # the work is charged by the service, at every door; an upload (no work yet) is charged here
            service = getattr(getattr(scope.get("app"), "state", None), "service", None)
            try:
                if service is not None:
                    service.charge(principal.name)
            except RateLimited as exc:
                return _refuse(429, str(exc), {"Retry-After": str(exc.retry_after)})
        return None
