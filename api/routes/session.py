"""Browser login when API keys are on: a form that takes a key and opens a session (an HttpOnly cookie, signed:
``api/sessions.py``)."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..security import SESSION_COOKIE, SESSION_SECONDS, cookie

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: sign in</title>
<style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:12vh auto;padding:0 1rem}}
input,button{{font-size:1rem;padding:.6rem;width:100%;box-sizing:border-box;margin:.4rem 0}}
.error{{color:#b00020}}</style></head>
<body><h1>{title}</h1><p>This server asks for an API key. Your administrator gives you one.</p>
{message}<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label for="key">API key</label><input id="key" name="key" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></body></html>"""


def _local(target: str) -> str:
    """Only a path on this server may follow a login (no open redirect: browsers read a backslash as a slash, so
    ``/\\evil.example`` is ``//evil.example``, another host; control characters are dropped by some)."""
    local = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if local and target.isprintable() else "/"


def _page(request: Request, next_path: str, message: str = "", status: int = 200) -> HTMLResponse:
    title = html.escape(request.app.state.service.title)
    note = f'<p class="error">{html.escape(message)}</p>' if message else ""
    return HTMLResponse(PAGE.format(title=title, message=note, next=html.escape(_local(next_path))), status_code=status)


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    if not request.app.state.keys.enabled:
        return RedirectResponse(_local(next), status_code=303)
    return _page(request, next)


@router.post("/login")
async def login(request: Request, key: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    token = request.app.state.sessions.open(key.strip()) if key.strip() else None
    if token is None:
        return _page(request, next, "That key is not valid.", status=401)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/logout")
async def logout(request: Request) -> Response:
    if request.headers.get("sec-fetch-site") == "cross-site":  # another site's link: the browser stays signed in
        return RedirectResponse("/", status_code=303)
    token = cookie(request.headers, SESSION_COOKIE)
    if token:  # refused from now on, by every replica when a broker is configured (api/sessions.py)
        await run_in_threadpool(request.app.state.sessions.close, token)  # may ask Redis: off the event loop
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
