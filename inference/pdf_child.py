"""The child's side of the PDF reader (``pdf_sandbox`` is the parent's): answers the parent's commands (open a
document, count its pages, read a page's size and text layer, render a page) one at a time, under the memory
limit (``RLIMIT_AS``) each command sets, until the parent closes the socket or dies.

The parent runs this file ALONE as a script (``python -c`` with the working directory taken off ``sys.path``
first, see ``pdf_sandbox._BOOT``): nothing of this package is imported but ``pdf_text``, loaded from its file
next to this one, so the child never imports the server's modules (nor models), and no file in the working
directory can stand in for a module of the standard library or for pypdfium2. Keep it so: only the standard
library at the top level, pypdfium2 inside :func:`serve`. Messages are JSON (never pickles) plus raw bytes (a
document, a page's RGB pixels).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections import OrderedDict
from multiprocessing.connection import Connection

MAX_DPI = 300  # a small page is never rendered finer than this
OPEN_DOCS = 8  # documents a child keeps open (the least recently used is closed first) ...
OPEN_BYTES = 64 * 1024 * 1024  # ... and their files' bytes at most (the newest is always kept)


def page_scale(width_pt: float, height_pt: float, longest_side: int, max_pixels: int) -> float:
    """Points -> pixels: the longest side at ``longest_side`` px, at most 300 dpi and ``max_pixels`` pixels."""
    width_pt, height_pt = max(width_pt, 1.0), max(height_pt, 1.0)
    scale = min(longest_side / max(width_pt, height_pt), MAX_DPI / 72)
    return min(scale, (max_pixels / (width_pt * height_pt)) ** 0.5)


def serve(fd: int) -> None:
    """Answer the parent's commands, one at a time, until it closes the socket (or dies)."""
    import ctypes
    import importlib.util
    import resource
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is the server's to handle
    conn = Connection(fd)
    parent = os.getppid()

    def orphaned() -> None:  # the parent died mid-page: stop now, not when the page is done
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=orphaned, daemon=True).start()
    import pypdfium2 as pdfium

    spec = importlib.util.spec_from_file_location("pdf_text", os.path.join(os.path.dirname(__file__), "pdf_text.py"))
    pdf_text = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pdf_text)
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        trim = None
    docs: OrderedDict[int, tuple[object, int]] = OrderedDict()  # key -> (the PdfDocument, its file's bytes)
    loaded: list = []  # [(key, number, page)]: the page loaded last (read for its text, then rendered)

    def statm(field: int) -> int:  # 0: the address space's size, 1: the resident set's, in bytes
        with open("/proc/self/statm") as numbers:
            return int(numbers.read().split()[field]) * os.sysconf("SC_PAGE_SIZE")

    def vm_size() -> int:
        try:
            return statm(0)
        except OSError:
            return 0

    def send(reply: dict, payload=None) -> None:
        conn.send_bytes(json.dumps({**reply, "payload": payload is not None}).encode())
        if payload is not None:
            conn.send_bytes(payload)

    def unload() -> None:
        while loaded:
            loaded.pop()[2].close()

    def close(key: int) -> None:
        if loaded and loaded[0][0] == key:
            unload()
        entry = docs.pop(key, None)
        if entry is not None:
            entry[0].close()

    def page_of(key: int, number: int):
        if loaded and loaded[0][:2] == (key, number):
            return loaded[0][2]
        unload()
        page = docs[key][0][number - 1]  # PDFium parses the page's whole content here
        loaded.append((key, number, page))
        return page

    def run(header: dict, payload: bytes | None) -> None:
        op, key = header.get("op"), header.get("doc")
        if op == "open":
            close(key)
            try:
                pdf = pdfium.PdfDocument(payload)
            except pdfium.PdfiumError as exc:
                text = str(exc).lower()
                send({"error": "encrypted" if "password" in text or "security" in text else "corrupt"})
                return
            docs[key] = (pdf, len(payload))
            while len(docs) > 1 and (len(docs) > OPEN_DOCS or sum(size for _, size in docs.values()) > OPEN_BYTES):
                close(next(iter(docs)))
            send({"pages": len(pdf)})
            return
        if key not in docs:
            send({"error": "unknown"})
            return
        docs.move_to_end(key)
        pdf = docs[key][0]
        number = int(header.get("number") or 0)
        try:
            if op == "count":
                send({"pages": len(pdf)})
            elif op == "page":
                if not 1 <= number <= len(pdf):
                    raise ValueError("no such page")
                if header.get("text"):
                    page = page_of(key, number)
                    width_pt, height_pt = page.get_size()
                else:  # only the size: the page dictionary is read, its content not parsed
                    width_pt, height_pt = pdf.get_page_size(number - 1)
                scale = page_scale(width_pt, height_pt, int(header["side"]), int(header["max_pixels"]))
                size = (max(1, -int(-width_pt * scale // 1)), max(1, -int(-height_pt * scale // 1)))  # ceil
                text, lines = pdf_text.text_layer(page, size) if header.get("text") else (None, [])
                send({"size": size, "scale": scale, "text": text, "lines": lines})
            elif op == "render":
                page = page_of(key, number)
                bitmap = page.render(scale=float(header["scale"]), may_draw_forms=True, rev_byteorder=True)
                try:
                    if bitmap.format != pdfium.raw.FPDFBitmap_BGR:  # rev_byteorder: the bytes are R, G, B
                        raise ValueError("unexpected pixel format")
                    send(
                        {"width": bitmap.width, "height": bitmap.height, "stride": bitmap.stride},
                        memoryview(bitmap.buffer).cast("B"),
                    )
                finally:
                    bitmap.close()
                unload()  # rendered: the page is done with
            else:
                send({"error": "damaged"})
        except (pdfium.PdfiumError, ValueError, OSError, IndexError):
            unload()
            send({"error": "damaged"})

    send({"ready": True})
    while True:
        try:
            header = json.loads(conn.recv_bytes())
            payload = conn.recv_bytes() if header.get("op") == "open" else None
        except (EOFError, OSError):
            return  # the parent is done (or gone)
        for key in header.get("drop") or ():
            close(key)
        if header.get("op") == "drop":
            continue
        if header.get("memory"):
            limit = int(header["memory"])
            if vm_size() > limit * 3 // 4:  # what earlier work left leaves too little room under this limit
                send({"error": "restart"})
                return
            with contextlib.suppress(ValueError, OSError):  # not on every system (macOS): the time limit still holds
                resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
        try:
            run(header, payload)
        except MemoryError:  # Python's own allocations hit the limit (PDFium's abort the process)
            try:
                send({"error": "memory"})
            finally:
                os._exit(3)
        payload = None
        with contextlib.suppress(OSError):
            if trim is not None and statm(1) > 128 * 1024 * 1024:
                trim(0)  # a big page's memory goes back to the system, not kept for the next


if __name__ == "__main__":
    serve(int(sys.argv[1]))
