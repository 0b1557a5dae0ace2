"""Gradio's HTTP API answers a body it cannot use with a bare 500: ``POST /gradio_api/call/v2/<api_name>`` takes
the endpoint's named parameters as a JSON object, and an ordinary ``{"data": [...]}``, a missing parameter or an
unknown key makes Gradio's argument building raise; an unknown endpoint name raises too. This guard answers those
with 400 / 404 and the reason as ``{"detail"}``; and refuses (403) Gradio's routes that fetch a URL for the client.

Gradio's ``/run`` and ``/api`` also answer every error a handler raises with 500, a refusal too (a path that is not an
upload, a bad parameter, the rate limit): the handlers note the status their refusal has (``inference.errors.
note_refusal``), and this guard answers with it (and ``Retry-After``), Gradio's body kept. Its upload route is guarded
the same way (a boundary it cannot parse, a client that left: 400, where it raised). Every other answer (and error)
goes through unchanged; Gradio's routes this app has no use for, PWA icons of sizes its manifest does not name and
files named longer than a file name can be are 404s."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inference.errors import REFUSAL

from .errors import error_response

CALL = re.compile(r"^/gradio_api/(?:(?:call/v2|call|run|api)/([^/]+)|queue/join)/?$")
FUNCTION_LOOKUP = {"get_fn"}  # gradio.route_utils: the event a body's fn_index names
ARGUMENT_BUILDERS = {"construct_args"}  # gradio_client.utils: the body's keys against the endpoint's parameters


# Gradio's routes that fetch a URL the client names and answer with what they got: /file=<url> and /file/<url> (any client,
# following 20 redirects, with no size or time bound, and taking 100.64.0.0/10 for public: a cloud's metadata service)
# and /proxy=<url> (for Spaces that load other Spaces). This server serves its own files only.
FETCHING = re.compile(r"^(?:/gradio_api)?/(?:proxy=|file[=/]\s*[a-z][a-z0-9+.-]*:)", re.IGNORECASE)  # (file/: older)
NO_PROXY = "This server does not fetch URLs for its clients: its file route serves the files it made or was sent only."


# Gradio's routes for components this app has none of: /process_recording keeps each file it is sent in the system's
# temporary folder for good (no lifetime, no disk check, no rate limit); /component_server runs a component's server
# functions (gr.FileExplorer's listing...), and none of ours has one: it answered 404, or a 500 and two tracebacks in
# the log (~15 KB) for a component id it does not know or a body that is not JSON; /deep_link wrote a session's values
# (what its events were sent: megabytes) to a new file at each call, kept for good (for gr.DeepLinkButton: ui/deep_links.py).
NOT_OURS = re.compile(r"^/+gradio_api/+(?:process_recording|component_server|deep_link)", re.IGNORECASE)

# Gradio's PWA icon route draws the favicon at any size the URL asks, on the event loop: size 99,999 (a 40 GB image)
# got the server killed for memory, 0 or -1 raised (a 500 and ~15 KB of tracebacks). Its manifest names these sizes.
PWA_ICON = re.compile(r"^/+pwa_icon/+(.*)$", re.IGNORECASE)
PWA_SIZES = ("192", "512")

# Gradio's routes that serve files the URL names stat them first: a name over NAME_MAX (255 bytes on Linux) raised there,
# a 500 and two tracebacks that named it twice (~17 KB for a 300-byte name, 4 bytes more for each byte of it).
FILE_ROUTES = re.compile(r"^/(?:static|assets|svelte)/|^/gradio_api/(?:file[=/]|stream/|custom_component/|run-history/)")
NAME_MAX = 255

# Gradio's upload route answers a multipart boundary it cannot parse (over 256 characters), and a client that leaves
# before its body has come, with a 500 and two tracebacks in the log (~16 KB): guarded as the calls are (below).
UPLOAD = re.compile(r"^/gradio_api/upload/?$")

# Gradio keeps an upload's progress by the id the client names, in a table of the process's (ui/upload_progress.py bounds
# it): a GET of its progress left each id behind for good (4,000 of 60 KB from one client held 256 MB in 62 s).
PROGRESS = re.compile(r"^/+gradio_api/+(?:upload|upload_progress)/*$")
MAX_UPLOAD_ID = 64  # characters (Gradio's page names 9-13)
LONG_UPLOAD_ID = f"upload_id is at most {MAX_UPLOAD_ID} characters (a name for following one upload's progress)."


def fetches_for_the_client(path: str) -> bool:
    """Whether a path asks Gradio to fetch a URL (``/gradio_api/file=http://...``, ``/gradio_api/file/http://...``,
    ``/gradio_api/proxy=...``)."""
    return FETCHING.match(path) is not None


def no_file_name(path: str) -> bool:
    """Whether a path asks a Gradio file route for a name no file can have (a part over NAME_MAX bytes)."""
    if FILE_ROUTES.match(path) is None:
        return False
    return any(len(part.encode("utf-8", "replace")) > NAME_MAX for part in path.split("/"))


def long_upload_id(scope: Scope) -> bool:
    """Whether an upload, or a request for its progress, names an ``upload_id`` longer than :data:`MAX_UPLOAD_ID`."""
    if PROGRESS.match(scope.get("path", "")) is None:
        return False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return any(len(value) > MAX_UPLOAD_ID for value in query.get("upload_id", []))


def odd_icon(path: str) -> bool:
    """Whether a path asks for a PWA icon of a size Gradio's manifest does not name."""
    found = PWA_ICON.match(path)
    return found is not None and found.group(1) not in PWA_SIZES


def _raised_in(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_name if tb is not None else ""


def _refusal(exc: Exception, path: str, name: str) -> tuple[int, str] | None:
    """(status, detail) for the errors Gradio raises on a bad call; None for anything else."""
    from gradio.route_utils import FnIndexInferError
    from python_multipart.exceptions import FormParserError
    from starlette.requests import ClientDisconnect

    if isinstance(exc, ClientDisconnect):  # (nobody reads the answer: it is for the access log)
        return 400, "The request's body did not all come: the client left."
    if isinstance(exc, FormParserError):
        return 400, f"The multipart body could not be read: {str(exc)[:120]}"
    if isinstance(exc, FnIndexInferError) or (isinstance(exc, KeyError) and exc.args == (f"/{name}",)):
        return 404, f"No Gradio endpoint '{name[:60]}'; gradio_api/info lists them (named_endpoints)."
    if _raised_in(exc) in FUNCTION_LOOKUP:  # a fn_index that is no event of this app
        return 404, "No Gradio event with that fn_index; gradio_api/info lists the named endpoints."
    if isinstance(exc, (TypeError, ValueError)) and _raised_in(exc) in ARGUMENT_BUILDERS:
        reason = str(exc).split(" Please click", 1)[0][:200]
        how = (
            "a JSON object of the endpoint's named parameters (gradio_api/info lists them under named_endpoints)"
            if "/call/v2/" in path
            else '{"data": [...]}, a value for each of the endpoint\'s inputs'
        )
        return 400, f"This call's body must be {how}: {reason}"
    return None


class GradioCallGuard:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and fetches_for_the_client(scope.get("path", "")):
            await error_response(scope["path"], 403, NO_PROXY)(scope, receive, send)
            return
        path = scope.get("path", "")
        if scope["type"] == "http" and (NOT_OURS.match(path) or odd_icon(path) or no_file_name(path)):
            await error_response(scope["path"], 404, "Not Found")(scope, receive, send)
            return
        if scope["type"] == "http" and long_upload_id(scope):
            await error_response(path, 400, LONG_UPLOAD_ID)(scope, receive, send)
            return
        posted = scope["type"] == "http" and scope["method"] == "POST"
        match = (CALL.match(scope.get("path", "")) or UPLOAD.match(scope.get("path", ""))) if posted else None
        if match is None:
            await self.app(scope, receive, send)
            return
        held: list[Message] = []  # a 5xx answer waits: Gradio sends its bare 500, then raises the cause
        answered = False

        async def hold_errors(message: Message) -> None:
            nonlocal answered
            if held or (message["type"] == "http.response.start" and message["status"] >= 500):
                held.append(message)
            else:
                answered = True
                await send(message)

        noted: list[tuple[int, int | None]] = []
        token = REFUSAL.set(noted)
        try:
            await self.app(scope, receive, hold_errors)
        except Exception as exc:
            refusal = None if answered else _refusal(exc, scope["path"], (match.groups() or ("",))[0] or "")
            if refusal is None:
                await self._replay(held, send)
                raise
            await error_response(scope["path"], *refusal)(scope, receive, send)
            return
        finally:
            REFUSAL.reset(token)
        await self._replay(held, send, noted[0] if noted else None)

    @staticmethod
    async def _replay(held: list[Any], send: Send, refusal: tuple[int, int | None] | None = None) -> None:
        for message in held:
            if refusal is not None and message["type"] == "http.response.start" and message["status"] == 500:
                status, retry = refusal
                headers = list(message.get("headers", []))
                if retry is not None:
                    headers.append((b"retry-after", str(retry).encode()))
                message = {**message, "status": status, "headers": headers}
            await send(message)
