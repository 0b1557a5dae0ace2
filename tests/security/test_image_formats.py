"""Images in formats that decode more than they say (an attack pass): an ICO decodes its largest picture while Pillow
opens it, an ICNS decodes a size other than the one it declares, so the pixel limit was checked after the work. A
723 KB icon holding a PNG of 13,370 x 13,370 took 700 MB and 3 s of CPU before its 400; 16 at once took the server to
11 GB. Only formats whose header gives the size decoded are opened now (``inference.images.FORMATS``), at every door:
the service's decoding, and the Gradio image input's own preprocessing (which opened every upload with every format).
And the OCR tab's previews (a document's pages counted, a page rendered or decoded) are work: they spend the caller's
rate-limit budget like a read (they did not: one upload gave unlimited renders past a 429)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from inference.errors import BadInput
from inference.images import decode
from inference.settings import LimitSettings
from tests.helpers import ENGLISH, encode, image_pdf, render_lines

from .conftest import KEYS, OTHER, USER, live
from .gradio_calls import file_data, queue, run, upload

SIDE = 7000  # 49 Mpx: over limits.max_image_pixels (40 Mpx), well under Pillow's own bomb limit (179 Mpx)
REFUSED = "not an image in a format we can read"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def large_png(side: int = SIDE) -> bytes:
    """A white RGBA PNG of side x side (~50 KB: rows of one byte compress to nothing)."""
    row = b"\x00" + b"\xff" * (side * 4)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def icon() -> bytes:
    """An ICO of one entry that says 16 x 16 and holds the large PNG."""
    png = large_png()
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, len(png), 22) + png


@pytest.fixture(scope="module")
def icns() -> bytes:
    """An ICNS whose 'ic10' entry (1024 x 1024, it says) holds the large PNG."""
    png = large_png()
    entry = b"ic10" + struct.pack(">I", 8 + len(png)) + png
    return b"icns" + struct.pack(">I", 8 + len(entry)) + entry


def test_an_icon_is_refused_for_its_format_before_anything_is_decoded(icon, icns):
    for name, data in (("bomb.ico", icon), ("bomb.icns", icns), ("bomb.png", icon)):  # (the name changes nothing)
        with pytest.raises(BadInput, match=REFUSED):  # (was: "... pixels, more than the limit", once decoded)
            decode(data, LimitSettings(), name)
    assert decode(encode(render_lines(ENGLISH[:1])), LimitSettings()).width > 0  # a PNG still decodes
    avif = io.BytesIO()  # (an AVIF says its 'ispe' box's size and decodes its frame's: 4.5 KB said 100 x 100, made 1 GB)
    Image.new("RGB", (64, 64), "white").save(avif, format="AVIF")
    with pytest.raises(BadInput, match=REFUSED):
        decode(avif.getvalue(), LimitSettings(), "photo.avif")


def test_an_icon_at_the_rest_and_gradio_doors_is_a_400_that_says_its_format(open_server, icon):
    response = open_server.post("/ocr", files={"file": ("bomb.ico", icon)})
    assert response.status_code == 400 and REFUSED in response.json()["detail"], response.text
    uploaded = upload(open_server, "bomb.png", icon)
    assert uploaded.status_code == 200, uploaded.text
    status, text = run(open_server, "/gradio_api/run/ocr", [file_data(uploaded.json()[0]), "", ""])
    assert status == 400 and REFUSED in text, (status, text)  # (Gradio's preprocessing had decoded it, then ours)


def event_index(client, headers: dict, outputs_elem: str, inputs_elem: str) -> int:
    """The OCR tab's private event whose only output is the component ``outputs_elem`` and whose inputs start with
    ``inputs_elem`` (events have no API name to be found by)."""
    config = client.get("/config", headers=headers).json()
    ids = {c["props"].get("elem_id"): c["id"] for c in config["components"] if c.get("props", {}).get("elem_id")}
    return next(
        d["id"] for d in config["dependencies"] if d["outputs"] == [ids[outputs_elem]] and d["inputs"][:1] == [ids[inputs_elem]]
    )


def test_previews_spend_the_budget_and_none_is_made_past_it(settings):
    pdf = image_pdf([render_lines(ENGLISH[:2]), render_lines(ENGLISH[2:4])])
    with live(settings, auth={"api_keys": KEYS}, limits={"rate_limit": "4/hour"}) as (client, _):
        pages_in = event_index(client, {"Authorization": f"Bearer {USER}"}, "ocr-page", "ocr-document")
        overlay = event_index(client, {"Authorization": f"Bearer {USER}"}, "ocr-boxes", "ocr-image")
        for key in (USER, OTHER):
            headers = {"Authorization": f"Bearer {key}"}
            uploaded = upload(client, "two.pdf", pdf, headers)  # 1 of 4
            assert uploaded.status_code == 200, uploaded.text
            document = file_data(uploaded.json()[0])
            counted = queue(client, pages_in, [document], headers)  # 2 of 4
            rendered = queue(client, overlay, [None, document, None, False, None], headers)  # 3 of 4
            if key == USER:  # each made its preview...
                assert [c[1] for c in counted["output"]["data"][0]["choices"]] == [1, 2], counted
                assert counted["output"]["data"][0]["visible"] is True
                assert rendered["output"]["data"][0]["label"] == "Page 1 (not read yet)", rendered
                assert rendered["output"]["data"][0]["value"]["path"].endswith(".webp"), rendered
                rest = client.post("/ocr", params={"model": "rapidocr"}, files={"file": ("p.pdf", pdf)}, headers=headers)
                assert rest.status_code == 200, rest.text  # 4 of 4
                assert client.post("/ocr", files={"file": ("p.pdf", pdf)}, headers=headers).status_code == 429
            else:  # ...and past the budget, none: the page selector and the drawing stay as they were
                spent = [client.post("/ocr", files={"file": ("p.pdf", pdf)}, headers=headers).status_code for _ in range(2)]
                assert spent == [200, 429], spent
                again = queue(client, pages_in, [document], headers)
                drawn = queue(client, overlay, [None, document, None, False, None], headers)
                for skipped in (again, drawn):
                    assert skipped["success"] and skipped["output"]["data"][0] == {"__type__": "update"}, skipped
