"""A multi-page TIFF of large frames (each under limits.max_image_pixels: 200 of them fit in 600 KB) no longer grows
the server by every page it reads: each page's image stayed held to the request's end (the request's cancel token holds
every page's ticket, and a ticket its work), ~150 MB a page: the kernel killed the server at 20 GB on the whole file.
A ticket now lets its work go once answered: the 200 pages peaked at 1.9 GB."""

import io
import threading

import pytest
from PIL import Image

from tests.security.conftest import live

pytestmark = pytest.mark.slow  # (a flood: 200 frames of 40 Mpx read in one request, a release's check, ~25 s)

SIDE = 6300  # 39.7 Mpx a frame: under limits.max_image_pixels (40 Mpx)


def rss_mb() -> int:
    return int(open("/proc/self/statm").read().split()[1]) * 4096 // 2**20


def test_reading_many_large_tiff_frames_does_not_grow_the_server_by_each_page(settings):
    frame = Image.new("1", (SIDE, SIDE), 1)
    buffer = io.BytesIO()
    frame.save(buffer, "TIFF", save_all=True, append_images=[frame] * 15, compression="group4")
    tiff = buffer.getvalue()  # 16 blank frames in ~50 KB
    with live(settings) as (client, _):

        def read(pages: str) -> None:
            response = client.post("/ocr", data={"pages": pages}, files={"file": ("big.tif", tiff, "image/tiff")})
            assert response.status_code == 200, response.text

        read("1-4")  # (the first large pages: the engines' buffers, the heap's first growth)
        before, peak, reading = rss_mb(), [0], threading.Event()

        def watch() -> None:
            while not reading.wait(0.05):  # (the server's memory, every 50 ms until the request is answered)
                peak[0] = max(peak[0], rss_mb())

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            read("1-16")
        finally:
            reading.set()
            watcher.join()
        after = rss_mb()
    assert peak[0] - before < 1600, f"reading 16 frames of {SIDE}x{SIDE} took {peak[0] - before} MB more"  # (was ~2,400)
    assert after - before < 800, f"the server kept {after - before} MB more after reading them"
