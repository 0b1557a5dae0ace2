"""Gradio's uploads as this server keeps them: who sent each file, and each client's quota of kept files (what they
take on disk, and how many), checked when Gradio's upload route has written them (see :class:`Uploads`); and no
part-written file left behind by an upload that did not finish (:func:`_removing_unfinished`)."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import HTTPException
from gradio.route_utils import GradioMultiPartParser

from inference.callers import UPLOADER

FILE_COST = 8192  # what a kept file costs at least: its block, and the folder Gradio makes for its content
MAX_FILES = 1000  # files one client may keep at once, whatever their size (limits.upload_ttl_s after their last use)


class Uploads(set):
    """Gradio's set of uploaded files (it deletes them after their TTL), which also keeps who uploaded each: the
    principal the gatekeeper found for the upload request (``inference.callers.UPLOADER``), and holds each to
    ``max_held`` bytes of kept files (``limits.upload_mb_per_key``; a file costs what it takes on disk, at least
    :data:`FILE_COST`) and :data:`MAX_FILES` files: an upload past either is deleted and refused (429), so that one
    client cannot fill the disk for everyone until its files expire. ``theirs()``: Gradio's other files (the examples,
    the outputs), never deleted here even when an upload names one of them."""

    def __init__(self, items: Any = (), max_held: int = 0, ttl_s: float = 600.0, theirs: Callable[[], Iterable[str]] = tuple):
        super().__init__(items)
        self.owners: dict[str, set[str]] = {}
        self.mine: dict[str, set[str]] = {}  # each caller's kept files (real paths)
        self.max_held, self.ttl_s, self.theirs = max_held, ttl_s, theirs

    def own(self, path: str, who: str) -> None:
        real = os.path.realpath(path)
        self.owners.setdefault(real, set()).add(who)
        self.mine.setdefault(who, set()).add(real)

    def update(self, *others: Any) -> None:
        who, paths = UPLOADER.get(), [path for group in others for path in group]
        if who is not None and self.max_held and paths:
            self.hold(who, paths)
        for path in paths:
            if who is not None:
                self.own(path, who)
            self.add(path)
        if len(self.owners) > 2 * len(self) + 1000:  # forget the deleted ones
            self.owners = {path: keys for path, keys in self.owners.items() if os.path.exists(path)}
            self.mine = {key: {p for p in kept if p in self.owners} for key, kept in self.mine.items()}

    def held(self, who: str) -> tuple[int, int]:
        """(bytes on disk, files) of the kept files ``who`` uploaded (or had fetched); those gone are forgotten."""
        paths = self.mine.get(who, set())
        sizes = {path: size_on_disk(path) for path in list(paths)}
        paths.difference_update(path for path, size in sizes.items() if size is None)
        return sum(size for size in sizes.values() if size is not None), len(paths)

    def hold(self, who: str, paths: list[str]) -> None:
        """Refuse (HTTP 429) files that take ``who`` past its quota; those of them that were not here before (no one
        else's, nor Gradio's own) are deleted."""
        held, count = self.held(who)
        added = {os.path.realpath(path) for path in paths} - self.mine.get(who, set())
        held += sum(size_on_disk(path) or 0 for path in added)
        if held <= self.max_held and count + len(added) <= MAX_FILES:
            return
        kept = set(self.owners) | {os.path.realpath(path) for path in (*self, *self.theirs())}
        for path in added - kept:
            with contextlib.suppress(OSError):
                os.remove(path)
                os.rmdir(os.path.dirname(path))  # (Gradio's folder for that content, empty now)
        raise HTTPException(429, self.over_quota(held, count + len(added)), headers={"Retry-After": str(int(self.ttl_s))})

    def over_quota(self, held: int, count: int) -> str:
        mb, what = 1024 * 1024, f"{held / 1024 / 1024:.1f} MB" if count <= MAX_FILES else f"{count} files"
        return (
            f"These files would take this client's files kept on the server to {what}, over its quota of "
            f"{self.max_held / mb:.0f} MB (limits.upload_mb_per_key) and {MAX_FILES} files; a file is deleted "
            f"{self.ttl_s:.0f} s after its last use: try again then, or send the files to the REST API (nothing is kept)."
        )


def size_on_disk(path: str) -> int | None:
    """What a kept file takes on disk (its blocks, at least FILE_COST with its folder); None when it is gone."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return max(stat.st_blocks * 512, stat.st_size) + FILE_COST


def _removing_unfinished(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Gradio's upload parser, which removes the files it was writing when the body cannot be parsed, removing them
    whatever stopped it: a client that left mid-body left its part-written file in the upload folder for good (in no
    upload set: no lifetime, no quota), up to ``limits.max_file_bytes`` a request (an attack pass)."""

    @functools.wraps(parse)
    async def parse_or_remove(self: Any) -> Any:
        try:
            return await parse(self)
        except BaseException:
            for file in getattr(self, "_files_to_close_on_error", ()):
                with contextlib.suppress(OSError):
                    file.close()
                with contextlib.suppress(OSError):
                    os.unlink(file.name)
            raise

    return parse_or_remove


if "_files_to_close_on_error" in inspect.getsource(GradioMultiPartParser):  # (the Gradio this was written for)
    GradioMultiPartParser.parse = _removing_unfinished(GradioMultiPartParser.parse)  # type: ignore[method-assign]
