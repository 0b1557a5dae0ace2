"""Images whose shape or encoding costs far more than their bytes (an attack pass):

- A very thin image: the engines pad it to a readable shape before shrinking it (60:1 for RapidOCR, 100:1 for the
  VLMs), so its cost grows with its width squared: a 2 KB PNG of 200,000 x 10 took +6 GB on /ocr, a 4 KB one of
  400,000 x 10 8 GB on /v1. And Tesseract reads no side over 32,767 px: a 130-byte PNG of 40,000 x 1 answered 500 with
  16 KB of tracebacks in the log. A side over 32,767 px is refused now, at decoding.
- Formats Pillow decodes in Python: a run-length BMP (a 26 KB file took 7 s of CPU; the 1 KB one with a 'delta'
  escape asked 255 bytes per pixel of width: +2 GB), a plain-text PNM (its comments stripped one at a time: 20 MB took
  190 s), a 16-bit PNM. Refused, with what to send instead; their common forms (an uncompressed BMP, a binary PNM)
  are read as before.
- Metadata Pillow reads a piece at a time while opening the file (a second attack pass): a 20 MB GIF of comment
  blocks took 508 s of CPU (each joined to the comments so far), a JPEG of 5 million empty comment segments 3.8 s and
  +320 MB, a PNG of 1.7 million tiny chunks 3.7 s, a PNM header of 20 MB of comments 5.6 s. Refused past a few
  thousand pieces (inference/image_headers.py)."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from PIL import Image

from inference.images import MAX_SIDE
from tests.helpers import ENGLISH, render_lines


def thin_png(width: int, height: int) -> bytes:
    """A white PNG of width x height written row by row (a few KB however wide)."""
    raw = zlib.compress(b"".join(b"\x00" + b"\xff" * width for _ in range(height)), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def rle8_bmp(width: int, height: int, body: bytes) -> bytes:
    """A BMP of 8-bit palette pixels compressed with run lengths (BI_RLE8), its runs ``body``."""
    palette = b"".join(struct.pack("<BBBB", i, i, i, 0) for i in range(256))
    start = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(body), 2835, 2835, 256, 0)
    return b"BM" + struct.pack("<IHHI", start + len(body), 0, 0, start) + info + palette + body


SLOW = {
    "runs.bmp": rle8_bmp(6324, 6324, b"\x01\x00\x00\x00" * 6324 + b"\x00\x01"),  # a pixel, then the row's end: 7 s
    "delta.bmp": rle8_bmp(30000, 1, b"\x00\x02\x00\xff\x00\x01"),  # 'move 255 rows up': 255 bytes per pixel of width
    "comments.pbm": b"P1\n600 600\n" + b"#\n" * 200_000,
    "deep.ppm": b"P6\n4 4\n65535\n" + b"\x00\x01" * 48,
}


@pytest.mark.parametrize("model", ["embedded", "tesseract", "rapidocr"])
def test_an_image_with_a_side_too_long_to_read_is_refused_before_its_padding(open_server, model):
    models = {m["id"] for m in open_server.get("/models").json()["available"]}
    if model not in models:
        pytest.skip(f"{model} is not available on this host")
    for width, height in ((40_000, 1), (200_000, 10), (10, 100_000)):
        png = thin_png(width, height)
        assert len(png) < 10_000
        response = open_server.post("/ocr", params={"model": model}, files={"file": ("thin.png", png)})
        assert response.status_code == 400, (width, height, response.text[:200])
        assert f"a side longer than {MAX_SIDE:,} pixels" in response.json()["detail"]
    response = open_server.post("/ocr", params={"model": model}, files={"file": ("line.png", thin_png(MAX_SIDE, 8))})
    assert response.status_code == 200, response.text[:200]  # (the longest side allowed: read, padded)


def test_images_pillow_decodes_in_python_are_refused_and_their_common_forms_read(open_server):
    for name, data in SLOW.items():
        response = open_server.post("/ocr", params={"model": "rapidocr"}, files={"file": (name, data)})
        assert response.status_code == 400, (name, response.text[:200])
        assert "which this server does not decode; save it as PNG" in response.json()["detail"], name
    page = render_lines(ENGLISH[:1])
    for fmt, name in (("BMP", "page.bmp"), ("PPM", "page.ppm")):
        buffer = io.BytesIO()
        page.save(buffer, format=fmt)
        response = open_server.post("/ocr", params={"model": "rapidocr"}, files={"file": (name, buffer.getvalue())})
        assert response.status_code == 200, (name, response.text[:200])
        assert response.json()["text"].strip(), name


def gif_after(blocks: bytes) -> bytes:
    """A real 8 x 8 GIF with ``blocks`` (extensions) put before its picture."""
    out = io.BytesIO()
    Image.new("L", (8, 8)).save(out, "GIF")
    gif = out.getvalue()
    at = gif.index(b"\x2c")  # (its image descriptor)
    return gif[:at] + blocks + gif[at:]


def png_chunks(count: int) -> bytes:
    """A real 8 x 8 PNG with ``count`` empty private chunks before its pixels."""
    out = io.BytesIO()
    Image.new("L", (8, 8)).save(out, "PNG")
    png = out.getvalue()
    at = png.index(b"IDAT") - 4
    empty = struct.pack(">I", 0) + b"zzZz" + struct.pack(">I", zlib.crc32(b"zzZz"))
    return png[:at] + empty * count + png[at:]


def test_metadata_read_a_piece_at_a_time_is_bounded(open_server):
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, "JPEG")
    for name, data in (
        ("comments.gif", gif_after(b"\x21\xfe\x01x\x00" * 300_000)),  # 300,000 comments of a byte
        ("one comment in bytes.gif", gif_after(b"\x21\xfe" + b"\x01x" * 300_000 + b"\x00")),  # one, in 1-byte blocks
        ("comments.jpg", jpeg.getvalue()[:2] + b"\xff\xfe\x00\x02" * 1_000_000 + jpeg.getvalue()[2:]),
        ("chunks.png", png_chunks(300_000)),
        ("comments.pgm", b"P5\n" + b"# a comment\n" * 1_000_000 + b"8 8\n255\n" + b"\0" * 64),
    ):
        started = time.process_time()  # (the server runs in this process)
        response = open_server.post("/ocr", params={"model": "rapidocr"}, files={"file": (name, data)})
        assert response.status_code == 400 and "save it again" in response.json()["detail"], (name, response.text[:200])
        assert time.process_time() - started < 5, name
    page = render_lines(ENGLISH[:1])
    frames = [page, page.rotate(180)]
    animated = io.BytesIO()
    frames[0].save(animated, "GIF", save_all=True, append_images=frames[1:], loop=0, duration=100, comment=b"made here")
    response = open_server.post("/ocr", params={"model": "rapidocr"}, files={"file": ("page.gif", animated.getvalue())})
    assert response.status_code == 200 and response.json()["text"].strip(), response.text[:200]
