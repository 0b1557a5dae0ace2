"""Images whose structure or metadata costs far more than their size (an attack pass; inference/images.py):

- A progressive JPEG of thousands of tiny scans (each a pass over every block): 441 KB took 10 s of CPU. More than
  100 scans is a 400.
- PNG text chunks (64 MB from 64 KB compressed) were kept with each decoded image: a batch keeps its small images
  decoded until it reads them, and 32 such PNGs (2 MB) held 1.7 GB. Decoded images keep their pixels only.
The server's memory is this process's (the live server runs in it)."""

from __future__ import annotations

import io
import threading
from contextlib import contextmanager

from PIL import Image, PngImagePlugin

MiB = 1024 * 1024


def rss_mb() -> int:
    return int(open("/proc/self/statm").read().split()[1]) * 4096 // MiB


@contextmanager
def peak_growth():
    """Yields a list whose one item is, after the block, the peak growth of this process's memory in MB during it."""
    before, peak, done = rss_mb(), [0], threading.Event()

    def watch() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], rss_mb())

    watcher = threading.Thread(target=watch)
    watcher.start()
    growth = [0]
    try:
        yield growth
    finally:
        done.set()
        watcher.join()
        growth[0] = max(peak[0], rss_mb()) - before


def png(**save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 32), "white").save(out, "PNG", **save)
    return out.getvalue()


def ocr(client, name: str, data: bytes, **params):
    return client.post("/ocr", params={"model": "embedded", **params}, files={"file": (name, data)})


def test_a_jpeg_of_too_many_scans_is_refused_before_it_is_decoded(open_server):
    out = io.BytesIO()
    Image.new("L", (3000, 3000), 255).save(out, "JPEG", progressive=True)
    data = out.getvalue()
    start = data.index(b"\xff\xda", data.index(b"\xff\xda") + 2)  # the second scan: a few bytes of AC coefficients
    end = data.index(b"\xff\xda", start + 2)
    bomb = data[:start] + data[start:end] * 1000 + data[start:]  # each scan again a pass over 140,625 blocks
    response = ocr(open_server, "scans.jpg", bomb)
    assert response.status_code == 400 and "more than 100 scans" in response.json()["detail"], response.text[:200]
    assert ocr(open_server, "progressive.jpg", data).status_code == 200


def test_a_batch_of_pngs_full_of_text_does_not_keep_the_text(open_server):
    info = PngImagePlugin.PngInfo()
    for i in range(60):
        info.add_text(f"t{i}", "a" * 1_000_000, zip=True)
    texts = png(pnginfo=info)  # ~60 KB, 60 MB of text once inflated
    files = [("files", (f"{i}.png", texts, "image/png")) for i in range(32)]
    with peak_growth() as growth:
        response = open_server.post("/batch/ocr", params={"model": "embedded"}, files=files)
    assert response.status_code == 200 and response.json()["successful"] == 32, response.text[:200]
    assert growth[0] < 600, f"the server grew by {growth[0]} MB for a 2 MB batch"
