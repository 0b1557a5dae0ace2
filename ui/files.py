"""Files from Gradio inputs: only what Gradio itself received is ever opened.

A Gradio input that takes a file (an image, a document, the chat history's pictures) arrives as ``{"path": ...}``,
and the client chooses the path. Gradio checks that it lies in its upload folder only when the app was launched
with ``launch()``; mounted on FastAPI (``gr.mount_gradio_app``), it never is, so any readable file on the server
could be read through any event (``/gradio_api/run/...``, ``/call/...``, the queue, MCP). :func:`guard` puts one
check in front of every event's inputs, before Gradio copies or opens anything: each path must resolve (symlinks
and ``..`` followed) inside Gradio's upload folder (``GRADIO_TEMP_DIR``, else ``<tmp>/gradio``), where the uploads
and the app's own example files are; anything else is refused with one sentence that never says whether the path
exists. A used upload is touched, so that ``limits.upload_ttl_s`` counts from its last use. A URL is refused, or,
with ``limits.image_urls`` on, fetched by the server's own fetcher (public addresses only, pinned) and kept as the
caller's upload, the reference then naming that file: Gradio never fetches. A reference's ``url`` is dropped (Gradio
would decode a ``data:`` URL there before any check). A call names at most ``2 x limits.max_batch_files`` files
(Gradio makes a file for each reference).

Gradio names an upload by a SHA-256 of a secret seed and its content, so a path is known only to whoever uploaded
the file; with API keys on, an upload is also refused to any other key than the one that uploaded it.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import anyio
import gradio as gr
import pydantic
from gradio.exceptions import InvalidPathError

from inference.errors import SHORT_OF_DISK, ChatVLMError, Overloaded

from .errors import as_gr_error, refusal
from .uploads import FILE_COST, MAX_FILES, Uploads, size_on_disk
from .widgets import caller_of

log = logging.getLogger(__name__)

NOT_RECEIVED = (
    "A file input must be a file uploaded to this server (POST /gradio_api/upload; gradio_client's "
    "handle_file does it), not a path on the server."
)
FETCHES_AT_ONCE = 8  # URLs of file inputs fetched at once (the others wait their turn)
NOT_A_FILE = (
    'A file input must be a file object ({"path": ...} of a file uploaded with POST /gradio_api/upload; gradio_client\'s '
    "handle_file makes one)."
)
NO_URLS = (
    "This server does not fetch files from URLs (limits.image_urls is off): upload the file instead (POST /gradio_api/upload)."
)


def refused(message: str, path: str) -> gr.Error:
    log.warning("refused a Gradio file input: %s (%r)", message.split(":")[0], path[:200])
    return refusal(message)


def expired(ttl_s: float) -> str:
    return (
        f"This upload is no longer on the server (uploads are kept {round(ttl_s)} s after their last use): upload the file again."
    )


def file_objects(value: Any) -> Iterator[dict]:
    """Every file reference (a dict with a ``path``: Gradio's FileData, with or without its ``meta``) in an input's
    value, at any depth: a list of files, a chat history's messages."""
    if isinstance(value, dict):
        if "path" in value:
            yield value  # (what it holds besides is no file Gradio reads)
            return
        for item in value.values():
            yield from file_objects(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from file_objects(item)


def path_of(reference: dict) -> str:
    return reference["path"] if isinstance(reference["path"], str) else repr(reference["path"])


def is_url(path: str) -> bool:
    return path.startswith(("http://", "https://"))


def inside(path: str, folder: str) -> str | None:
    """The real path of ``path`` when it lies in ``folder`` (itself resolved) and is no folder, else None."""
    try:
        real = os.path.realpath(path)
    except (ValueError, OSError):  # a NUL byte, a loop of links
        return None
    if os.path.commonpath([real, folder]) != folder or os.path.isdir(real):  # a folder is no upload either
        return None
    return real  # (a file gone from the folder is an upload past its TTL: the guard says so)


class FileGuard:
    """The check in front of every event (see the module doc). With API keys on, an upload is only for the key
    that uploaded it (the same content uploaded by two keys is both keys')."""

    def __init__(
        self,
        folder: str,
        fetch: Callable[[str], bytes] | None,
        ttl_s: float,
        keys_on: bool,
        uploads: Uploads,
        max_files: int,
        budget: Callable[[str | None], None] = lambda caller: None,
        min_free: int = 0,
    ):
        self.folder, self.fetch, self.ttl_s, self.keys_on, self.uploads = folder, fetch, ttl_s, keys_on, uploads
        self.max_files, self.budget, self.min_free = max_files, budget, min_free

    def references(self, value: Any) -> list[dict]:
        """The file references of an input's value, at most ``max_files`` (else refused: Gradio makes a file for each
        reference before any handler may count them)."""
        references = list(itertools.islice(file_objects(value), self.max_files + 1))
        if len(references) > self.max_files:
            raise refusal(f"Too many files in one call: at most {self.max_files}.")
        return references

    def check(self, value: Any, caller: str | None) -> list[str]:
        """Refuse (gr.Error) an input that names a file Gradio did not receive for this caller; touch the others. A
        URL (when URLs are fetched) is fetched here and the reference made to name the file it gave: those files'
        paths, to :meth:`keep` (in the event loop's thread, where Gradio changes its upload set too)."""
        fetched: list[str] = []
        references = self.references(value)
        if self.fetch is not None and any(is_url(path_of(reference)) for reference in references):
            try:
                self.budget(caller)  # one request more for the call that names URLs, counted before any is fetched
            except ChatVLMError as exc:
                raise as_gr_error(exc) from None
        try:
            for reference in references:
                path = path_of(reference)
                if reference.get("url") is not None:  # (Gradio would read a data: URL there before any check of ours)
                    reference["url"] = None
                if is_url(path):
                    if self.fetch is None:
                        raise refused(NO_URLS, path)
                    pending = (sum(size_on_disk(p) or 0 for p in fetched), len(fetched))  # (this call's fetches count too)
                    reference["path"] = self.fetched(path, caller, pending)  # (Gradio never sees the URL)
                    fetched.append(reference["path"])
                    continue
                real = inside(path, self.folder)
                owners = self.uploads.owners.get(real or "")
                if real is None or (self.keys_on and owners and caller not in owners):
                    raise refused(NOT_RECEIVED, path)
                try:
                    os.utime(real)  # used now: the TTL starts again
                except FileNotFoundError:
                    raise refused(expired(self.ttl_s), path) from None
                except OSError:
                    pass
        except BaseException:  # (the files this call fetched are kept by nobody: nothing else would delete them)
            for path in fetched:
                shutil.rmtree(os.path.dirname(path), ignore_errors=True)
            raise
        return fetched

    def keep(self, path: str, caller: str | None) -> None:
        """A fetched file kept as ``caller``'s upload (deleted ``limits.upload_ttl_s`` after its last use)."""
        self.uploads.add(path)
        if caller is not None:
            self.uploads.own(path, caller)

    def fetched(self, url: str, caller: str | None = None, pending: tuple[int, int] = (0, 0)) -> str:
        """A URL in a file input fetched by the server's own fetcher (``fetch``: the public addresses only, each
        redirect checked, the address checked is the one connected to, within the size limit), kept as this caller's
        upload (deleted ``limits.upload_ttl_s`` after its last use, as uploads are): its path. Gradio's own fetch
        (which takes carrier-grade NAT addresses, 100.64.0.0/10, for public, and resolves the name again) is never
        reached."""
        from gradio_client import utils as client_utils

        try:
            data = self.fetch(url)  # type: ignore[misc]
        except ChatVLMError as exc:
            raise as_gr_error(exc) from None
        name = client_utils.strip_invalid_filename_characters(unquote(urlparse(url).path).rsplit("/", 1)[-1])
        name = name if name.strip(".") else "file"
        stem, dot, suffix = name.rpartition(".")
        name = f"{stem[:90]}.{suffix[:10]}" if dot and stem else name[:100]  # (the extension kept: it names the type)
        folder = Path(self.folder) / f"url-{uuid.uuid4().hex}"
        target = folder / name
        if caller is not None and self.uploads.max_held:
            held, count = self.uploads.held(caller)
            held, count = held + pending[0] + len(data) + FILE_COST, count + pending[1] + 1
            if held > self.uploads.max_held or count > MAX_FILES:
                raise refusal(self.uploads.over_quota(held, count), 429)
        if shutil.disk_usage(self.folder).free < len(data) + self.min_free:
            log.warning("refused to keep a fetched file: the disk would keep less than limits.min_free_disk_mb free")
            raise as_gr_error(Overloaded(SHORT_OF_DISK, retry_after=60))
        try:
            folder.mkdir()
            target.write_bytes(data)
        except OSError:
            shutil.rmtree(folder, ignore_errors=True)
            log.exception("could not keep a fetched file")
            raise refusal("The server could not keep the file it fetched; try again.") from None
        return str(target)


def _file_path(self: gr.File, f: Any) -> Any:
    """``gr.File._process_single_file`` without the empty temporary file Gradio 6 makes (``NamedTemporaryFile(
    delete=False)`` in its upload folder) for each file an input passes on, and never deletes: one per call."""
    from gradio.utils import NamedString
    from gradio_client import utils as client_utils

    if self.type != "filepath":
        return _gradio_file_path(self, f)
    if self.file_types and not client_utils.is_valid_file(f.path, self.file_types):
        raise gr.Error(f"Invalid file type. Please upload a file that is one of these formats: {self.file_types}")
    return NamedString(f.path)


_gradio_file_path = gr.File._process_single_file
if "NamedTemporaryFile" in inspect.getsource(_gradio_file_path):  # (the Gradio this was written for)
    gr.File._process_single_file = _file_path  # type: ignore[method-assign]


def guard(
    blocks: gr.Blocks,
    fetch: Callable[[str], bytes] | None,
    ttl_s: float,
    keys_on: bool,
    max_files: int,
    budget: Callable[[str | None], None] = lambda caller: None,
    min_free: int = 0,
    max_held: int = 0,
) -> None:
    """Check every event's inputs before Gradio prepares them (see the module doc); ``fetch``: how a URL in a file
    input is fetched (None: URLs are refused); ``budget(caller)``: one request charged to a call that names URLs
    (raises when it has none left); ``min_free``: bytes of disk a fetched file must leave free; ``max_held``: bytes of
    kept uploads a caller may hold (0: no bound; see :class:`Uploads`)."""

    def theirs() -> Iterator[str]:  # Gradio's files that are no upload: the outputs', the examples'
        for files in blocks.temp_file_sets:
            if files is not blocks.upload_file_set:
                yield from list(files)
        for block in list(blocks.blocks.values()):
            yield from list(getattr(block, "keep_in_cache", ()))

    uploads = Uploads(blocks.upload_file_set, max_held, ttl_s, theirs)  # the same set for Gradio's upload route and TTL
    blocks.temp_file_sets = [uploads if s is blocks.upload_file_set else s for s in blocks.temp_file_sets]
    blocks.upload_file_set = uploads
    files = FileGuard(os.path.realpath(blocks.GRADIO_CACHE), fetch, ttl_s, keys_on, uploads, max_files, budget, min_free)
    blocks.has_launched = True  # Gradio's own check as a second line (it runs only for a launched app)
    process, prepare = blocks.process_api, blocks.preprocess_data
    signature = inspect.signature(process)

    fetching: list[anyio.CapacityLimiter] = []  # (made in the event loop, at the first URL)

    @functools.wraps(process)
    async def process_api(*args: Any, **kwargs: Any) -> Any:
        call = signature.bind_partial(*args, **kwargs).arguments
        inputs, caller = call.get("inputs"), caller_of(call.get("request"))
        if any(is_url(path_of(reference)) for reference in files.references(inputs)):
            if not fetching:
                fetching.append(anyio.CapacityLimiter(FETCHES_AT_ONCE))
            fetched = await anyio.to_thread.run_sync(files.check, inputs, caller, limiter=fetching[0])  # (fetches: off
            # the loop, in threads of their own, so that slow sites hold none of the pool the other requests' work uses)
            for path in fetched:
                files.keep(path, caller)
        else:
            files.check(inputs, caller)
        return await process(*args, **kwargs)

    @functools.wraps(prepare)
    async def preprocess_data(*args: Any, **kwargs: Any) -> Any:
        try:
            return await prepare(*args, **kwargs)
        except InvalidPathError as exc:  # Gradio's own check: its message names the path, resolved (our folders)
            raise refused(NOT_RECEIVED, str(exc)) from None
        except pydantic.ValidationError as exc:  # a file input sent as a bare string, a number...: not a file object
            raise refused(NOT_A_FILE, str(exc.errors()[:1])) from None
        except gr.Error as exc:  # a component's own check (a value not among a dropdown's choices): the input's fault
            if not exc.print_exception:  # (ours: a refusal already)
                raise
            raise refusal(str(exc.message)[:300]) from None

    blocks.process_api = process_api  # type: ignore[method-assign]
    blocks.preprocess_data = preprocess_data  # type: ignore[method-assign]
