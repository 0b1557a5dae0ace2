"""The Gradio UI: one module per tab, each built from the shared InferenceService."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from . import stub_writes  # noqa: F401  (before Gradio loads: its import then writes nothing, see the module)

# isort: split
import gradio as gr

from inference import InferenceService

from . import (
    batch_tab,
    chat_tab,
    deep_links,
    downloads,
    event_inputs,
    examples,
    files,
    mcp_tools,
    models_panel,
    ocr_tab,
    upload_progress,
)
from .queue_bounds import UI_EVENTS_AT_ONCE, QueueBounds
from .session_owners import SessionGuard, SessionOwners
from .unknown_streams import UnknownStreams
from .widgets import principal_of

DESCRIPTION = "Self-hosted OCR and image chat: read documents and ask questions about images, in the browser or by API."


def head() -> str:
    """What the page says about itself in <head> (search engines, link previews)."""
    return f'<meta name="description" content="{DESCRIPTION}">'


# The sign-in line: at the header's right on a wide screen.
CSS_SIGNED_IN = """
#signed-in { text-align: right; margin: 0; min-height: 0; }
#signed-in p { margin: 0; font-size: .9rem; }
"""

# A read table's cells break a word only where it would not fit otherwise: Gradio's prose style breaks anywhere
# (overflow-wrap: anywhere), and the table sized its narrow columns to a letter or two ("Qt" over "y").
CSS_TABLES = """
#ocr-markdown th, #ocr-markdown td { overflow-wrap: break-word; word-break: normal; }
"""

# Phones: a smaller header and image, so that the main action and the first lines of the result fit the first screen.
CSS = (
    """
@media (max-width: 640px) {
  #header h1 { font-size: 1.35rem; margin: 0 0 .2rem 0; }
  #header p { font-size: .8rem; line-height: 1.25; margin: 0; }
  #ocr-image, #chat-image { height: 170px !important; }
  #ocr-image img, #chat-image img { max-height: 130px; }
}
"""
    + CSS_SIGNED_IN
    + CSS_TABLES
)


# The header's "Gradio API" link (/?view=api) opens Gradio's API panel, as the footer's "Use via API" button does: a
# plain click on the link is a click on that button. Gradio (6.31) reads ?view=api when a page opens, but shows the
# panel only once the button has loaded it, so a page opened at /?view=api (the link in a new tab, the page a sign-in
# returns to) showed none: there the button is clicked twice once the footer is there (it toggles: off, then on;
# the URL asked for is kept).
API_PANEL = """
const showPanel = () => {  // false while the footer is not there yet
  const button = document.querySelector('footer .show-api');
  if (!button) return false;
  if (document.querySelector('.api-docs')) return true;  // (shown already)
  if (new URLSearchParams(location.search).get('view') === 'api') {  // asked for, never loaded: off (the URL kept)
    const asked = location.href;
    button.click();
    history.replaceState(history.state, '', asked);
  }
  button.click();
  return true;
};
document.addEventListener('click', (e) => {
  const link = e.target.closest && e.target.closest('#header a[href="/?view=api"]');
  if (link && e.button === 0 && !(e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) && showPanel()) e.preventDefault();
}, true);
if (new URLSearchParams(location.search).get('view') === 'api') {
  let tries = 100;
  const opened = () => showPanel() || (--tries > 0 && setTimeout(opened, 100));
  opened();
}
"""


def signed_in(request: gr.Request | None) -> str:
    """Who the page is signed in as (the key's role and fingerprint, never the key) with a link to sign out: HTML, as
    Gradio's Markdown opens every link in a new tab (/logout did, and the page stayed signed in)."""
    principal = principal_of(request)
    if principal is None:
        return ""
    role, name = html.escape(principal.role), html.escape(principal.name)
    return f'<p>Signed in as <strong>{role}</strong> (<code>{name}</code>) · <a href="/logout">Sign out</a></p>'


# A page whose sign-in has ended (signed out in another tab, or expired) is sent to the sign-in page by its next request
# that the server refuses with 401, and back here after it: Gradio said it as a toast of the REST API's JSON
# (HTTP 401: {"detail": "An API key is required..."}). Only on a page that shows who is signed in (API keys on); the
# refused request's answer never comes (the page is leaving), so no toast.
SESSION_ENDED = """
const fetched = window.fetch;
if (!fetched.signInEnds) window.fetch = Object.assign(async (...args) => {
  const response = await fetched(...args);
  const target = new URL(args[0] instanceof Request ? args[0].url : String(args[0]), location.href);
  if (response.status === 401 && target.origin === location.origin && document.querySelector('#signed-in a')) {
    location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search).replaceAll('%2F', '/'));
    return new Promise(() => {});
  }
  return response;
}, {signInEnds: true});
"""


def favicon() -> str:
    return examples.favicon()


def build_ui(service: InferenceService, may_manage: Callable[[Any], bool] = lambda request: True) -> gr.Blocks:
    """The whole UI. ``may_manage(gr.Request)`` says whether a caller may load and unload models (the admin
    role when API keys are on)."""
    title, ttl = service.title, service.limits.upload_ttl_s
    # uploads (and Gradio's copies of the files made for download) are deleted limits.upload_ttl_s after their last use
    # (the files the UI writes itself: ui/downloads.py)
    keys_on = bool(service.settings.auth.api_keys)
    deep_links.forget_copies()  # (sessions keep no copy of every component's configuration and values: see the module)
    upload_progress.bound()  # (Gradio's table of uploads' progress keeps the most recent ids only)
    downloads.keep_free(service.limits.min_free_disk_mb * 1024 * 1024)  # (an event's files, written while the disk allows)
    with gr.Blocks(title=title, delete_cache=(max(1, min(60, round(ttl / 4))), max(1, round(ttl)))) as blocks:
        # Gradio's queue is the UI's waiting line (it shows users their place); each model's runner still admits,
        # batches and cancels the work, as for REST requests. gr.Blocks() made it (queue() with its defaults); its
        # default limit is set on it, as queue(default_concurrency_limit=16) would set it on a new one, without the
        # FastAPI app that queue() also builds and nothing uses (mount_gradio_app builds the one served): ~0.07 s of
        # CPU at every start. The limit is read when an event is queued (tests/unit/ui/test_idle_queue.py).
        blocks._queue.default_concurrency_limit = UI_EVENTS_AT_ONCE
        if keys_on:  # with API keys on: who is signed in, and a link to sign out
            who = gr.HTML(elem_id="signed-in", js_on_load=SESSION_ENDED)
            blocks.load(signed_in, None, [who], api_visibility="private", queue=False)
        gr.Markdown(
            f"# {title}\n{DESCRIPTION} · [REST API docs](/docs) · [Gradio API](/?view=api) · "
            "[MCP](/gradio_api/mcp/) · [OpenAI API](/docs#/openai)",
            elem_id="header",
        )
        gr.HTML(js_on_load=API_PANEL, container=False, padding=False, elem_id="api-panel-link")
        with gr.Tab("OCR"):
            ocr_tab.build(service)
        with gr.Tab("Chat"):
            chat_tab.build(service, shown_on=[blocks.load])
        with gr.Tab("Batch") as batch:
            batch_tab.build(service, refresh_on=[blocks.load, batch.select])
        with gr.Tab("Models") as models_tab:
            models_panel.build(service, refresh_on=[blocks.load, models_tab.select], may_manage=may_manage)
        mcp_tools.build(service)
    idle_gently(blocks)
    files.guard(
        blocks,
        fetch=service.read_image_url if service.limits.image_urls else None,  # (the server's own fetcher, never Gradio's)
        ttl_s=ttl,  # file inputs: Gradio's uploads only
        keys_on=keys_on,
        max_files=2 * service.limits.max_batch_files,
        budget=service.charge,  # (a call that names URLs: one request more, counted before they are fetched)
        min_free=service.limits.min_free_disk_mb * 1024 * 1024,
        max_held=service.limits.upload_mb_per_key * 1024 * 1024,
    )
    QueueBounds(blocks, service.limits.data_url_bytes).install()  # (its checks run before the files' guard's)
    blocks.session_owners = SessionOwners(keys_on)  # (last: a session of another key is refused first; the routes that
    blocks.session_owners.install(blocks)  # name one in their URL are guarded where the app is mounted: guard_sessions)
    event_inputs.guard(blocks)  # (events given inputs they cannot take: a refusal, not Gradio's traceback in the log)

    async def mcp_calls_only_tools() -> None:  # at start-up, after mount_gradio_app made the MCP server
        mcp_tools.only_tools(blocks)

    blocks.extra_startup_events.append(mcp_calls_only_tools)
    return blocks


def guard_sessions(app: Any, blocks: gr.Blocks) -> None:
    """Once ``blocks`` is mounted on ``app`` (at /, inside the REST edge's gatekeeper, which has found the caller by then):
    the Gradio routes that name a session in their URL refuse other keys, and its file route another key's upload
    (``SessionGuard``), and the event streams of
    sessions Gradio does not hold end without a traceback (``UnknownStreams``)."""
    for route in app.routes:
        if getattr(route, "path", None) == "" and hasattr(route, "app"):
            route.app = SessionGuard(UnknownStreams(route.app, blocks._queue), blocks.session_owners, blocks.upload_file_set)


QUEUE_POLL_S = 0.05  # how often an idle queue looks for a new event (Gradio: 0.001)
PROGRESS_POLL_S = 0.1  # how often it looks for progress to send (Gradio: 0.01)


def idle_gently(blocks: gr.Blocks) -> None:
    """Gradio's queue looks for new events every millisecond and for progress every 10 ms, even when nobody is there:
    ~5% of a core for a server that does nothing (every 10 ms and 50 ms still cost ~2.5% on a slow core). Every 50 ms
    and 100 ms are as quick to a person (an event starts within 50 ms; progress moves ten times a second), at ~1/6 of
    that: one in-process server per test configuration polls all run long."""
    blocks._queue.sleep_when_free = QUEUE_POLL_S
    blocks._queue.progress_update_sleep_when_free = PROGRESS_POLL_S
