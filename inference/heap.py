"""The C heap of this process (glibc's malloc), bounded: what the Python collector frees goes back to the system.

Decoded pages, the OCR engines' ONNX Runtime buffers and PyTorch's CPU tensors live in malloc's heap, not in
Python objects. glibc gives each thread that allocates at once an arena of its own (up to 8 per core), and keeps
what is freed in them for reuse: a server whose request, job and engine threads read large pages grew to several
times its idle size and kept most of it after every model was unloaded. :func:`bound_arenas` caps the arenas (as
``MALLOC_ARENA_MAX`` does, for arenas made from then on: call it before the threads start); :func:`trim` hands
the free memory at the top and inside each arena back to the system (after an unload, once the garbage is
collected). Both do nothing where the C library is not glibc.

:func:`gc_paused` holds Python's cyclic collector off while a stretch of work makes millions of objects that die by
their reference counts (a stored page's JSON parsed and written out again): each of the collections their making
triggers went through the whole heap (the models' objects too), ~85% of a job result's writing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)
ARENAS = 2  # a few: the threads that allocate at once share them (the engines' own buffers come and go per page)


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 (glibc only: musl has none)
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _libc()


def bound_arenas(arenas: int | None = None) -> bool:
    """Cap malloc's arenas at ``arenas`` (``MALLOC_ARENA_MAX`` when set, else :data:`ARENAS`); whether it could."""
    if _LIBC is None:
        return False
    if arenas is None:
        configured = os.environ.get("MALLOC_ARENA_MAX", "")
        arenas = int(configured) if configured.isdigit() and int(configured) > 0 else ARENAS
    return bool(_LIBC.mallopt(M_ARENA_MAX, arenas))


def trim() -> bool:
    """Give the heap's free memory back to the system; whether some was."""
    if _LIBC is None:
        return False
    return bool(_LIBC.malloc_trim(0))


_paused = 0  # stretches of work in gc_paused now (the collector is off while there are any)
_was_on = True  # whether the collector was on when the first of them began
_off_since = 0.0  # when it went off (or last collected while stretches overlapped)
LONGEST_OFF_S = 10.0  # stretches that overlap for longer than this collect once as one ends (cycles of other work)
_pausing = threading.Lock()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic collector off for the block (on again when the last block of any thread ends, if it was on;
    collected by hand when stretches kept it off for over LONGEST_OFF_S). For CPU-bound stretches that free what they
    make by reference counts; keep generators' yields outside it."""
    global _paused, _was_on, _off_since
    with _pausing:
        _paused += 1
        if _paused == 1:
            _was_on, _off_since = gc.isenabled(), time.monotonic()
            gc.disable()
    try:
        yield
    finally:
        with _pausing:
            _paused -= 1
            if _paused == 0 and _was_on:
                gc.enable()
            overdue = _paused > 0 and _was_on and time.monotonic() - _off_since > LONGEST_OFF_S
            if overdue:
                _off_since = time.monotonic()
        if overdue:
            gc.collect()
