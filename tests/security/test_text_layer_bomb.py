"""A PDF whose pages' text layer holds far more than a page can show (an attack pass): each of 20 pages drawing one
line of text 20,000 times (one compressed content stream for all: 55 KB) read 1.1 million characters a page from its
text layer, with a box for each line: 150 s to read, 10 MB of answer a page, and 370 MB in the jobs database (kept a
week) for one job. A text layer of more than 50,000 characters or 5,000 lines is not trusted now: the page is OCR'd
like a scan (what is legible of it is read). An ordinary born-digital page is still read from its text layer."""

from __future__ import annotations

import zlib

from tests.helpers import text_pdf


def repeated_text_pdf(pages: int, times: int, line: str = "The quick brown fox jumps over the lazy dog 0123456789") -> bytes:
    """``pages`` pages sharing one content stream that draws ``line`` ``times`` times in a 1-point font."""
    content = "BT /F1 1 Tf " + "".join(f"1 0 0 1 10 {10 + i % 700} Tm ({line}) Tj " for i in range(times)) + " ET"
    stream = zlib.compress(content.encode(), 9)
    kids = " ".join(f"{4 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        *[
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {4 + pages} 0 R >>".encode()
            for _ in range(pages)
        ],
        f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode() + stream + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_a_text_layer_larger_than_a_page_is_ocrd_not_read_whole(open_server):
    bomb = repeated_text_pdf(3, 20_000)
    assert len(bomb) < 60_000
    response = open_server.post("/ocr", params={"model": "embedded"}, files={"file": ("dense.pdf", bomb)})
    assert response.status_code == 200, response.text[:200]
    assert [page["source"] for page in response.json()["pages"]] == ["ocr"] * 3
    assert len(response.content) < 1_000_000, f"{len(response.content):,} bytes of answer for a {len(bomb):,}-byte PDF"
    ordinary = text_pdf([["Invoice 2041", "Thank you for your order, which ships on Monday."]])
    response = open_server.post("/ocr", params={"model": "embedded"}, files={"file": ("ordinary.pdf", ordinary)})
    assert response.json()["pages"][0]["source"] == "text-layer" and "Invoice 2041" in response.json()["text"]
