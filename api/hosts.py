"""The ``Host`` names this server answers to (``server.allowed_hosts``): a guard against DNS rebinding.

A page on another site can make its own name resolve to this server's address (DNS rebinding); the browser then
takes the server for that site, sends it that site's name as ``Host`` and its ``Origin`` as the same name, so a check
that compares ``Origin`` with ``Host`` passes. What it cannot change is the ``Host`` name, so a request whose
``Host`` is not one of the server's own names is refused (400) before anything else runs: REST routes, the mounted
Gradio app and its websockets alike.

The names: ``localhost``, ``127.0.0.1``, ``[::1]``, ``server.host`` when it is a name or address of its own (not
``0.0.0.0`` / ``::``), a Hugging Face Space's own host, and ``server.allowed_hosts`` (``*.example.com`` for a
domain's names, ``*`` for any: only behind a proxy that checks ``Host`` itself). The port is not compared.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from inference.settings import Settings

from .errors import error_response

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
ANY_INTERFACE = ("", "0.0.0.0", "::", "[::]")


def allowed_hosts(settings: Settings) -> list[str]:
    """The Host names (lower case, no port) the server answers to."""
    names = list(LOOPBACK_NAMES)
    host = settings.server.host.strip().lower()
    if host not in ANY_INTERFACE:
        names.append(f"[{host}]" if ":" in host and not host.startswith("[") else host)
    names += settings.server.allowed_hosts
    return list(dict.fromkeys(names))


def host_name(value: str) -> str:
    """The name of a ``Host`` header, without its port: 'example.com:8000' -> 'example.com', '[::1]:80' -> '[::1]'
    (and one trailing dot off: 'localhost.' is 'localhost').
    A port that is not digits ('localhost:80@evil.com') leaves the whole value, which no allowed name matches."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        port = value[end + 1 :] if end > 0 else ""
        return value[: end + 1] if end > 0 and (not port or port[:1] == ":" and port[1:].isdigit()) else value
    if value.count(":") > 1:
        return value
    name, colon, port = value.partition(":")
    return name.rstrip(".") if not colon or port.isdigit() else value


class HostGuard:
    """ASGI middleware: 400 for a request (or websocket) whose ``Host`` is not one of the allowed names."""

    def __init__(self, app: ASGIApp, hosts: list[str]):
        self.app = app
        self.any = "*" in hosts
        self.names = {h for h in hosts if not h.startswith("*")}
        self.domains = tuple(h[1:] for h in hosts if h.startswith("*."))  # '.example.com'

    def allows(self, name: str) -> bool:
        return self.any or name in self.names or (bool(name) and name.endswith(self.domains) and bool(self.domains))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.any:
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("host", "")
        name = host_name(given)
        if self.allows(name):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        shown = name[:100] if name else "(none)"
        detail = (
            f"This server does not answer to the host name {shown!r} (a guard against DNS rebinding): open it "
            "by one of its own names, or an administrator can add this one to server.allowed_hosts "
            "(CHATVLM_ALLOWED_HOSTS, comma-separated)."
        )
        await error_response(scope["path"], 400, detail)(scope, receive, send)
