"""Files from Gradio inputs: only what Gradio itself received is ever opened.

A Gradio input that takes a file (an image, a document, the chat history's pictures) arrives as ``{"path": ...}``,
and the client chooses the path. Gradio checks that it lies in its upload folder only when the app was launched
with ``launch()``; mounted on FastAPI (``gr.mount_gradio_app``), it never is, so any readable file on the server
could be read through any event (``/gradio_api/run/...``, ``/call/...``, the queue, MCP). :func:`guard` puts one
check in front of every event's inputs, before Gradio copies or opens anything: each path must resolve (symlinks
and ``..`` followed) inside Gradio's upload folder (``GRADIO_TEMP_DIR``, else ``<tmp>/gradio``), where the uploads
and the app's own example files are; anything else is refused with one sentence that never says whether the path
exists. A used upload is touched, so that ``limits.upload_ttl_s`` counts from its last use.

Uploads are named by a SHA-256 of a secret seed and their content: a path is known only to whoever uploaded the
file, and Gradio does not keep uploads apart by session or key beyond that.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator
from typing import Any

import gradio as gr
from gradio.exceptions import InvalidPathError

log = logging.getLogger(__name__)

NOT_RECEIVED = ("A file input must be a file uploaded to this server (POST /gradio_api/upload; gradio_client's "
                "handle_file does it), not a path on the server.")
NO_URLS = ("This server does not fetch files from URLs (limits.image_urls is off): upload the file instead "
           "(POST /gradio_api/upload).")


def refused(message: str, path: str) -> gr.Error:
    log.warning("refused a Gradio file input: %s (%r)", message.split(":")[0], path[:200])
    return gr.Error(message, print_exception=False)


def expired(ttl_s: float) -> str:
    return (f"This upload is no longer on the server (uploads are kept {round(ttl_s)} s after their last use): "
            "upload the file again.")


def paths_in(value: Any) -> Iterator[str]:
    """Every ``path`` of a file reference in an input's value (Gradio's FileData, with or without its ``meta``,
    at any depth: a list of files, a chat history's messages)."""
    if isinstance(value, dict):
        if "path" in value:
            yield value["path"] if isinstance(value["path"], str) else repr(value["path"])
        for item in value.values():
            yield from paths_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from paths_in(item)


def inside(path: str, folder: str) -> str | None:
    """The real path of ``path`` when it lies in ``folder`` (itself resolved), else None."""
    try:
        real = os.path.realpath(path)
    except (ValueError, OSError):  # a NUL byte, a loop of links
        return None
    return real if os.path.commonpath([real, folder]) == folder and real != folder else None


def check(value: Any, folder: str, fetch_urls: bool, ttl_s: float) -> None:
    """Refuse (gr.Error) an input that names a file Gradio did not receive; touch the ones it did."""
    for path in paths_in(value):
        if path.startswith(("http://", "https://")):
            if not fetch_urls:
                raise refused(NO_URLS, path)
            continue  # Gradio fetches it (never from private addresses) into its upload folder
        real = inside(path, folder)
        if real is None:
            raise refused(NOT_RECEIVED, path)
        try:
            os.utime(real)  # used now: the TTL starts again
        except FileNotFoundError:
            raise refused(expired(ttl_s), path) from None
        except OSError:
            pass


def guard(blocks: gr.Blocks, fetch_urls: bool, ttl_s: float) -> None:
    """Check every event's inputs before Gradio prepares them (see the module doc)."""
    folder = os.path.realpath(blocks.GRADIO_CACHE)
    blocks.has_launched = True  # Gradio's own check as a second line (it runs only for a launched app)
    prepare = blocks.preprocess_data

    @functools.wraps(prepare)
    async def preprocess_data(block_fn: Any, inputs: list[Any], *args: Any, **kwargs: Any) -> Any:
        check(inputs, folder, fetch_urls, ttl_s)
        try:
            return await prepare(block_fn, inputs, *args, **kwargs)
        except InvalidPathError as exc:  # Gradio's own check: its message names the path, resolved (our folders)
            raise refused(NOT_RECEIVED, str(exc)) from None

    blocks.preprocess_data = preprocess_data  # type: ignore[method-assign]
