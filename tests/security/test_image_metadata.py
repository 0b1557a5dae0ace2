"""Images whose metadata or structure costs far more than their size (an attack pass; inference/tiff_tags.py,
inference/tiff_pages.py, inference/images.py):

- TIFF directories (a TIFF's pages, EXIF in a PNG, JPEG or WebP, a JPEG's MPF index) whose tags all point at one run
  of bytes: Pillow read that run once per tag. An 11 KB PNG (its EXIF in compressed text) took 800 MB, a 62 KB JPEG's
  MPF index 1.5 GB; a 19 MB TIFF of 200 tiny pages of 8,000 tags each 227 s of CPU (each page walked the directories
  before it). Now refused (400, naming the file) before Pillow reads them, or, for the MPF index, ignored as Pillow
  ignores a malformed one; a real multi-page TIFF still reads, each page's directory read once.
- A progressive JPEG of thousands of tiny scans (each a pass over every block): 441 KB took 10 s of CPU. More than
  100 scans is a 400.
- PNG text chunks (64 MB from 64 KB compressed) were kept with each decoded image: a batch keeps its small images
  decoded until it reads them, and 32 such PNGs (2 MB) held 1.7 GB. Decoded images keep their pixels only.
The server's memory is this process's (the live server runs in it)."""

from __future__ import annotations

import io
import struct
import threading
from contextlib import contextmanager

import pytest
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


def tag_bomb(tags: int, run: int, *, tag_type: int = 1, first: int = 1000) -> bytes:
    """A TIFF structure (header and one directory) whose ``tags`` tags each point at the same ``run`` bytes."""
    unit = {1: 1, 3: 2}[tag_type]
    data_at = 8 + 2 + 12 * tags + 4
    entries = b"".join(struct.pack("<HHLL", first + i, tag_type, run // unit, data_at) for i in range(tags))
    return b"II*\x00" + struct.pack("<L", 8) + struct.pack("<H", tags) + entries + struct.pack("<L", 0) + b"\x01" * run


def png(**save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 32), "white").save(out, "PNG", **save)
    return out.getvalue()


def png_with_exif_text(exif: bytes) -> bytes:
    """A PNG whose EXIF is ImageMagick's compressed 'Raw profile type exif' text (Pillow reads EXIF from it)."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", f"\nexif\n{len(exif):8d}\n{exif.hex()}", zip=True)
    return png(pnginfo=info)


def jpeg_with_mpf(index: bytes) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 32), "white").save(out, "JPEG")
    segment = b"MPF\x00" + index
    return out.getvalue()[:2] + b"\xff\xe2" + struct.pack(">H", len(segment) + 2) + segment + out.getvalue()[2:]


def tiff_pages(pages: int, tags: int) -> bytes:
    """A TIFF of ``pages`` pages of 8 x 8 white pixels (one strip for all), each directory with ``tags`` more tags."""
    pixels = b"\xff" * 64
    out = bytearray(b"II*\x00" + struct.pack("<L", 8 + len(pixels)) + pixels)
    for page in range(pages):
        image = [(256, 3, 8), (257, 3, 8), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8), (278, 3, 8), (279, 4, 64)]
        entries = sorted(image + [(1000 + i, 1, 0) for i in range(tags)])
        following = len(out) + 2 + 12 * len(entries) + 4 if page < pages - 1 else 0
        out += struct.pack("<H", len(entries))
        for tag, kind, value in entries:
            out += struct.pack("<HHL", tag, kind, 1) + struct.pack(
                "<HH" if kind == 3 else "<L", *((value, 0) if kind == 3 else (value,))
            )
        out += struct.pack("<L", following)
    return bytes(out)


def ocr(client, name: str, data: bytes, **params):
    return client.post("/ocr", params={"model": "embedded", **params}, files={"file": (name, data)})


def test_exif_whose_tags_all_point_at_one_run_is_refused_without_reading_it(open_server):
    bomb = png_with_exif_text(tag_bomb(5000, 200_000))  # ~11 KB: 5,000 x 200 KB = 1 GB once read
    assert len(bomb) < 20_000
    with peak_growth() as growth:
        response = ocr(open_server, "exif.png", bomb)
    assert response.status_code == 400, response.text[:200]
    assert "'exif.png': its metadata" in response.json()["detail"] and "Traceback" not in response.text
    assert growth[0] < 300, f"the server grew by {growth[0]} MB for an 11 KB image"
    plain = png(exif=Image.Exif().tobytes())
    assert ocr(open_server, "plain.png", plain).status_code == 200


def test_a_jpegs_mpf_index_of_many_tags_is_not_read(open_server):
    bomb = jpeg_with_mpf(tag_bomb(2600, 30_000, tag_type=3))  # 62 KB: each tag's 15,000 numbers made Python objects
    with peak_growth() as growth:
        response = ocr(open_server, "mpf.jpg", bomb)
    assert response.status_code == 200, response.text[:200]  # (read as a plain JPEG, as a malformed index is)
    assert growth[0] < 300, f"the server grew by {growth[0]} MB for a 62 KB image"


def test_a_tiff_of_many_pages_and_tags_is_refused_and_a_real_one_still_reads(open_server):
    bomb = tiff_pages(60, 2000)  # 1.4 MB; each page's decode walked the 2,000-tag directories before it
    response = ocr(open_server, "tags.tif", bomb)
    assert response.status_code == 400 and "'tags.tif': its metadata" in response.json()["detail"], response.text[:200]
    real = tiff_pages(150, 10)
    response = ocr(open_server, "real.tif", real)
    assert response.status_code == 200 and len(response.json()["pages"]) == 150, response.text[:200]
    response = ocr(open_server, "real.tif", real, pages="150,2")
    assert [p["page"] for p in response.json()["pages"]] == [150, 2]


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


@pytest.mark.slow  # a release check: a flood of 32 PNGs of 60 MB of text each (~5 s)
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
