"""PDFium out of the server's process: a small pool of child processes reads PDFs (opens them, loads pages, reads
their text layer, renders them), each page under a memory bound (``RLIMIT_AS``) and a time bound.

A PDF of under a MB can hold a page whose content stream inflates to hundreds of MB of drawing operators:
PDFium parses it all when the page is loaded (for its size, its text layer or its rendering), which takes minutes
and gigabytes. Nothing in the parent can measure that safely beforehand, so the page is read in a child: one that
goes over its address-space limit aborts, one that takes longer than the time limit is killed, and either way the
caller gets :class:`OverLimits` at once and the next call starts a fresh child. The server's own memory never
holds a page's content.

Children are long-lived (one per PDF being read at once, at most :data:`WORKERS`), started with the ``python``
that runs the server on ``pdf_child.py`` alone (no fork of a parent with the models loaded, nothing of this package
imported but ``pdf_text``), and keep the last few documents open, so reading an ordinary PDF costs a message per
page and the page's pixels through a socket. Messages are JSON (never pickles: the parent trusts nothing a child
says beyond its shape) plus raw bytes (a document, a page's RGB pixels).

This file is the parent's side (:class:`PdfFile`); ``pdf_child.py`` is the child's, run as a script.
Each child is used by one thread at a time, which also keeps PDFium (not thread-safe) single-threaded.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import subprocess
import sys
import threading
from collections import deque
from multiprocessing.connection import Connection, Pipe
from typing import Any

from .callers import CALLER
from .heap import gc_paused
from .turns import Turns

log = logging.getLogger("chatvlm.pdf")

WORKERS = 2  # children reading PDFs at once (one per document being read at that moment); more callers wait
CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pdf_child.py")  # run as a script, alone
START_TIMEOUT_S = 60.0  # a child that is not ready by then (a very busy host) is an error, not a page's fault
REPLY_BYTES = 64 * 1024 * 1024  # a reply's JSON (a page's text layer) is never longer


class PdfError(Exception):
    """The PDF itself is bad: ``kind`` is "encrypted" (a password), "corrupt" (not readable as a PDF) or
    "damaged" (a page cannot be loaded or rendered)."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class OverLimits(Exception):
    """Reading went over a bound and was stopped: ``reason`` is "time" or "memory" (the child aborted or died);
    ``limit`` is the bound (seconds or MB)."""

    def __init__(self, reason: str, limit: float):
        super().__init__(f"{reason} > {limit:g}")
        self.reason, self.limit = reason, limit


# ---- the parent's side ------------------------------------------------------------------------------------
class _Stopped(Exception):
    """The child did not answer in time (``timed_out``) or is gone."""

    def __init__(self, timed_out: bool):
        super().__init__("timed out" if timed_out else "gone")
        self.timed_out = timed_out


# The child runs pdf_child.py alone: the working directory ('' on the path of "python -c") leaves the module path before
# anything is imported, so no file there can stand in for a module of the standard library or for pypdfium2.
_BOOT = (
    "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; import runpy; sys.argv = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


class _Child:
    """One child process and the parent's end of its socket."""

    def __init__(self) -> None:
        mine, theirs = Pipe(duplex=True)
        env = dict(os.environ, MALLOC_ARENA_MAX="1")  # one malloc arena: the address space stays what is used
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, CHILD, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
                close_fds=True,
            )
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        self.conn: Connection = mine
        self.drops: set[int] = set()  # documents closed by the parent, not yet dropped by this child
        self.drops_lock = threading.Lock()
        try:
            reply, _ = self.ask(None, None, START_TIMEOUT_S)
        except _Stopped:
            self.kill()
            raise RuntimeError("The PDF reader's process did not start (is pypdfium2 installed?).") from None
        if reply.get("ready") is not True:
            self.kill()
            raise RuntimeError("The PDF reader's process did not start.")

    def ask(self, header: dict | None, payload: bytes | None, timeout: float, max_payload: int = 0) -> tuple[dict, bytes | None]:
        """Send a command (and its payload), wait up to ``timeout`` s for the answer (and its payload)."""
        try:
            if header is not None:
                drops = self.take_drops()
                if drops:
                    header = {**header, "drop": drops}
                self.conn.send_bytes(json.dumps(header).encode())
                if payload is not None:
                    self.conn.send_bytes(payload)
            if not self.conn.poll(timeout):
                raise _Stopped(timed_out=True)
            reply = json.loads(self.conn.recv_bytes(REPLY_BYTES))
            if not isinstance(reply, dict):
                raise ValueError("not an object")
            data = self.conn.recv_bytes(max_payload) if reply.get("payload") else None
        except _Stopped:
            raise
        except (EOFError, OSError, ValueError):  # gone (it aborted at its memory limit, or crashed), or garbled
            raise _Stopped(timed_out=False) from None
        return reply, data

    def drop(self, key: int) -> None:
        """The parent closed this document: the child closes it with the next command."""
        with self.drops_lock:
            self.drops.add(key)

    def take_drops(self) -> list[int]:
        with self.drops_lock:
            drops = sorted(self.drops)
            self.drops.clear()
        return drops

    def flush_drops(self) -> None:
        """Send the drops now (called for an idle child, with the pool's lock held: nobody else talks to it)."""
        drops = self.take_drops()
        if drops:
            with contextlib.suppress(OSError):  # a dead child drops everything; the next caller finds it gone
                self.conn.send_bytes(json.dumps({"op": "drop", "drop": drops}).encode())

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.conn.close()


class _Turn:
    """A command waiting for a child: whose it is (``inference.callers.CALLER``) and when it came."""

    def __init__(self, caller: str | None, arrival: int) -> None:
        self.caller, self.arrival = caller, arrival


class _Pool:
    """At most :data:`WORKERS` children; a caller takes an idle one (or starts one) and gives it back after its
    command, or drops it when it had to be stopped. Callers take turns: the next command served is the one of the
    caller holding the fewest children now, then as :class:`inference.turns.Turns` says. One that gives a child back
    and asks again at once (the next page of its document) waits behind the others waiting (else two clients reading
    slow pages kept a third's one-page PDF waiting 38 s), and a client sending many slow PDFs at once waits behind
    each command of the others, not they behind all of its."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.idle: list[_Child] = []
        self.all: set[_Child] = set()
        self.starting = 0
        self.cond = threading.Condition()
        self.waiting: deque[_Turn] = deque()
        self.turns = Turns()
        self.holding: dict[str | None, int] = {}  # children each caller holds now
        self.holder: dict[object, str | None] = {}  # a child in use (or one being started): whose it is

    def _next(self) -> _Turn:
        return min(self.waiting, key=lambda turn: (self.holding.get(turn.caller, 0), *self.turns.rank(turn.caller, turn.arrival)))

    def _hold(self, child: Any, caller: str | None) -> Any:
        self.holder[child] = caller
        self.holding[caller] = self.holding.get(caller, 0) + 1
        return child

    def _release(self, child: object) -> None:
        caller = self.holder.pop(child, None)
        if (left := self.holding.get(caller, 0) - 1) > 0:
            self.holding[caller] = left
        else:
            self.holding.pop(caller, None)

    def take(self) -> _Child:
        with self.cond:
            turn = _Turn(CALLER.get(), self.turns.arrival())
            self.waiting.append(turn)
            try:
                while True:
                    while self.idle and self.idle[-1].proc.poll() is not None:  # died idle (killed from outside)
                        gone = self.idle.pop()
                        self.all.discard(gone)
                        gone.conn.close()
                    if self._next() is turn and (self.idle or len(self.all) + self.starting < self.size):
                        self.turns.served(turn.caller)
                        if self.idle:
                            return self._hold(self.idle.pop(), turn.caller)
                        break
                    self.cond.wait()
            finally:
                self.waiting.remove(turn)
                self.cond.notify_all()  # (the next in line may go)
            self.starting += 1
            starter = self._hold(object(), turn.caller)  # (the child being started: the caller holds it already)
        child = None
        try:
            child = _Child()
        finally:
            with self.cond:
                self.starting -= 1
                self._release(starter)
                if child is not None:
                    self.all.add(child)
                    self._hold(child, turn.caller)
                self.cond.notify_all()
        return child

    def give_back(self, child: _Child, alive: bool) -> None:
        if not alive:
            child.kill()
        with self.cond:
            self._release(child)
            if alive:
                child.flush_drops()
                self.idle.append(child)
            else:
                self.all.discard(child)
            self.cond.notify_all()

    def forget(self, key: int) -> None:
        with self.cond:
            for child in self.all:
                child.drop(key)
            for child in self.idle:
                child.flush_drops()

    def pids(self) -> list[int]:
        with self.cond:
            return [child.proc.pid for child in self.all]


POOL = _Pool(WORKERS)
_keys = itertools.count(1)


class PdfFile:
    """A PDF read through the pool: each call is one command to a child, bounded by ``timeout_s`` seconds and
    ``memory_mb`` MB of address space (the child's, with its open documents). A child that does not have the
    document open (a fresh one, or one that closed it) is sent the file again, so any child serves any call."""

    def __init__(self, data: bytes, timeout_s: float, memory_mb: int, max_pixels: int):
        self.data, self.key = data, next(_keys)
        self.timeout_s, self.memory_mb, self.max_pixels = timeout_s, memory_mb, max_pixels
        self.closed = False
        self.over_page: int | None = None  # the first page that went over the limits (set by the caller)

    def page_count(self) -> int:
        """The number of pages (the file is opened: its cross-reference table and page tree are read)."""
        reply, _ = self._call({"op": "count"})
        return int(reply["pages"])

    def page(self, number: int, longest_side: int, text: bool) -> tuple[tuple[int, int], float, str | None, list]:
        """Page ``number`` (1-based): its size as rendered at ``longest_side`` px (within 300 dpi and
        ``max_pixels``), the scale that takes, and when ``text``, its text layer (None when not good enough) and
        its lines, each [text, [x0, y0, x1, y1]]. Without ``text`` the page is not loaded (its content not
        parsed): only its size is read."""
        reply, _ = self._call({"op": "page", "number": number, "side": longest_side, "max_pixels": self.max_pixels, "text": text})
        try:
            width, height = reply["size"]
            with gc_paused():  # (a dense text layer's thousands of lines: see inference.heap; after the reader's answer)
                lines = [(str(t), [float(v) for v in box]) for t, box in reply.get("lines") or []]
            text = reply.get("text")
            return (int(width), int(height)), float(reply["scale"]), None if text is None else str(text), lines
        except (KeyError, TypeError, ValueError):
            raise PdfError("damaged") from None

    def render(self, number: int, scale: float):
        """Page ``number`` rendered at ``scale`` as an RGB PIL image (white under transparent parts)."""
        from PIL import Image

        reply, data = self._call({"op": "render", "number": number, "scale": scale}, max_payload=4 * self.max_pixels + 64 * 1024)
        width, height, stride = int(reply["width"]), int(reply["height"]), int(reply["stride"])
        if data is None or width * height > self.max_pixels * 1.01 or stride < 3 * width or len(data) < stride * height:
            raise PdfError("damaged")
        return Image.frombytes("RGB", (width, height), data, "raw", "RGB", stride)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            POOL.forget(self.key)

    def _call(self, header: dict, max_payload: int = 0) -> tuple[dict, bytes | None]:
        header = {**header, "doc": self.key, "memory": self.memory_mb * 1024 * 1024}
        for _ in range(2):  # a child with too little room left for this limit exits ("restart"): a fresh one answers
            child = POOL.take()
            alive = False
            try:
                reply, data = child.ask(header, None, self.timeout_s, max_payload)
                if reply.get("error") == "unknown":  # not open in this child: send the file, then ask again
                    opened, _ = child.ask({"op": "open", "doc": self.key, "memory": header["memory"]}, self.data, self.timeout_s)
                    if opened.get("error") is None:
                        reply, data = child.ask(header, None, self.timeout_s, max_payload)
                    else:
                        reply, data = opened, None
                alive = reply.get("error") not in ("memory", "restart")  # such a child is not used again
            except _Stopped as stopped:
                reason, limit = ("time", self.timeout_s) if stopped.timed_out else ("memory", self.memory_mb)
                log.warning(
                    "a PDF page went over the %s limit (%g %s): its reader (pid %d) was stopped",
                    reason,
                    limit,
                    "s" if reason == "time" else "MB",
                    child.proc.pid,
                )
                raise OverLimits(reason, limit) from None
            finally:
                POOL.give_back(child, alive)
            if reply.get("error") != "restart":
                break
        error = reply.get("error")
        if error in ("memory", "restart"):
            raise OverLimits("memory", self.memory_mb)
        if error is not None:
            raise PdfError(str(error) if error in ("encrypted", "corrupt", "damaged") else "damaged")
        return reply, data
