"""PDFs and multi-page TIFFs through /ocr and /batch/ocr: pages, the text layer, page selection, bad PDFs."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from inference import held_images
from inference.documents import check_pages, open_document, parse_pages
from inference.errors import BadInput
from inference.settings import LimitSettings
from tests.helpers import encode, encrypted_pdf, image_pdf, render_lines, text_pdf

PAGE_ONE = ["Invoice number 4471 dated March 12", "Total amount due: 318.40 USD"]
PAGE_TWO = ["Second page of the contract", "Signed by both parties in Berlin"]


@pytest.fixture(scope="module")
def scanned_pdf() -> bytes:
    return image_pdf([render_lines(PAGE_ONE), render_lines(PAGE_TWO)])


@pytest.fixture(scope="module")
def born_digital_pdf() -> bytes:
    return text_pdf([PAGE_ONE, PAGE_TWO], font_size=14)


def words(text: str) -> set[str]:
    return {w.strip(".,:").lower() for w in text.split()}


def test_a_scanned_pdf_is_read_page_by_page(client, scanned_pdf):
    response = client.post("/ocr", files={"file": ("scan.pdf", scanned_pdf, "application/pdf")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["page"] for p in body["pages"]] == [1, 2]
    assert all(p["source"] == "ocr" and p["error"] is None for p in body["pages"])
    assert {"invoice", "4471"} <= words(body["pages"][0]["text"]) and "berlin" in words(body["pages"][1]["text"])
    assert body["text"] == body["pages"][0]["text"] + "\n\n" + body["pages"][1]["text"]  # the whole document
    assert body["image_size"] == body["pages"][0]["image_size"] and body["lines"] == []
    assert body["pages"][0]["lines"] and body["pages"][0]["processing_time"] > 0


def test_a_good_text_layer_is_read_instead_of_ocr_unless_forced(client, born_digital_pdf):
    body = client.post("/ocr", files={"file": ("contract.pdf", born_digital_pdf)}).json()
    assert [p["source"] for p in body["pages"]] == ["text-layer", "text-layer"]
    assert body["pages"][0]["text"].splitlines() == PAGE_ONE and body["pages"][1]["text"].splitlines() == PAGE_TWO
    first = body["pages"][0]["lines"][0]
    assert first["text"] == PAGE_ONE[0] and first["engine"] == "text-layer"
    width, height = body["pages"][0]["image_size"]
    assert 0 <= first["box"][0][0] < first["box"][2][0] <= width and 0 <= first["box"][0][1] < height / 4  # top of page

    assert [p["text_layer_agreement"] for p in body["pages"]] == [None, None]  # nothing to compare: read from it

    forced = client.post("/ocr", files={"file": ("contract.pdf", born_digital_pdf)}, data={"force_ocr": "true"}).json()
    assert [p["source"] for p in forced["pages"]] == ["ocr", "ocr"]
    assert {"invoice", "4471", "318.40"} <= words(forced["pages"][0]["text"])
    assert max(forced["pages"][0]["image_size"]) > 1000  # rendered at the engine's page size, not at 72 dpi
    # each reading measured against the text layer it was forced past: the CPU engine reads clean print almost
    # exactly; its confidence stays its own (a VLM's is the agreement: tests/unit/inference/test_routing.py)
    for page in forced["pages"]:
        assert 0.9 <= page["text_layer_agreement"] <= 1.0, page
        assert page["confidence_source"] == "engine" and page["confidence"] != page["text_layer_agreement"], page


def iou(a: list[list[float]], b: list[list[float]]) -> float:
    (ax0, ay0), (ax1, ay1) = [min(x for x, _ in a), min(y for _, y in a)], [max(x for x, _ in a), max(y for _, y in a)]
    (bx0, by0), (bx1, by1) = [min(x for x, _ in b), min(y for _, y in b)], [max(x for x, _ in b), max(y for _, y in b)]
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    return inter / ((ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter)


def test_text_layer_boxes_are_where_the_rendered_page_shows_the_text(client):
    """A page turned by /Rotate, whose MediaBox does not start at 0,0: the text layer's line boxes match the boxes
    OCR finds on the page as rendered (an upright page's boxes are checked in the test above)."""
    pdf = text_pdf([PAGE_ONE], font_size=16, origin=(40, 60), rotate=90)
    layer = client.post("/ocr", files={"file": ("turned.pdf", pdf)}).json()["pages"][0]
    ocr = client.post("/ocr", files={"file": ("turned.pdf", pdf)}, data={"force_ocr": "true"}).json()["pages"][0]
    assert layer["source"] == "text-layer" and ocr["source"] == "ocr"
    assert layer["image_size"] == ocr["image_size"] and ocr["image_size"][0] > ocr["image_size"][1]  # turned: landscape
    found = {line["text"]: line["box"] for line in ocr["lines"]}
    for line in layer["lines"]:
        assert line["text"] in found, (line["text"], list(found))
        assert iou(line["box"], found[line["text"]]) >= 0.5, (line["box"], found[line["text"]])


def test_pages_picks_pages(client, scanned_pdf, born_digital_pdf):
    body = client.post("/ocr?pages=2", files={"file": ("scan.pdf", scanned_pdf)}).json()
    assert [p["page"] for p in body["pages"]] == [2] and "berlin" in words(body["text"])
    body = client.post("/ocr", files={"file": ("c.pdf", born_digital_pdf)}, data={"pages": "2,1"}).json()
    assert [p["page"] for p in body["pages"]] == [2, 1]
    for pages, expected in [("3", "has 2 page(s)"), ("1-x", "pages must look like"), ("0", "counted from 1")]:
        response = client.post("/ocr", params={"pages": pages}, files={"file": ("scan.pdf", scanned_pdf)})
        assert response.status_code == 400 and expected in response.json()["detail"], (pages, response.text)


def test_page_ranges():
    assert parse_pages("1-3,5", 10) == [1, 2, 3, 5]
    assert parse_pages("4-", 6) == [4, 5, 6] and parse_pages("2-9", 3) == [2, 3] and parse_pages(None, 2) == [1, 2]
    assert parse_pages("2,2,1-2", 5) == [2, 1]
    started = time.perf_counter()
    with pytest.raises(BadInput, match="more than 200 pages"):
        parse_pages("1-", 10**7, limit=200)  # refused at once, never listed
    assert time.perf_counter() - started < 1
    check_pages("1-3, 7-")
    for bad in ("x", "3-1", "0", "1,,2"):
        with pytest.raises(BadInput):
            check_pages(bad)


def test_bad_pdfs_get_a_400_that_says_why(client, born_digital_pdf):
    cases = [
        (encrypted_pdf(born_digital_pdf), "password-protected"),
        (born_digital_pdf[: len(born_digital_pdf) // 3], "corrupt"),
        (b"%PDF-1.7\n" + b"\x00garbage" * 40, "corrupt"),
    ]
    for data, expected in cases:
        response = client.post("/ocr", files={"file": ("bad.pdf", data)})
        assert response.status_code == 400 and expected in response.json()["detail"], response.text
        assert "Traceback" not in response.text
    assert client.get("/health").status_code == 200


def test_page_count_and_pixels_are_limited(born_digital_pdf):
    with pytest.raises(BadInput, match="at most 1 are read"):
        open_document(born_digital_pdf, LimitSettings(max_pages=1), "c.pdf")
    assert len(open_document(born_digital_pdf, LimitSettings(max_pages=1), "c.pdf", pages="2").pages) == 1
    doc = open_document(born_digital_pdf, LimitSettings(max_image_pixels=100_000), "c.pdf", longest_side=5000, force_ocr=True)
    image = doc.pages[0].render()
    assert image.size[0] * image.size[1] <= 100_000 * 1.01


def test_a_multi_page_tiff_is_a_document(client):
    buffer = io.BytesIO()
    first, second = render_lines(PAGE_ONE), render_lines(PAGE_TWO)
    first.save(buffer, format="TIFF", save_all=True, append_images=[second])
    body = client.post("/ocr", files={"file": ("fax.tiff", buffer.getvalue())}).json()
    assert [p["page"] for p in body["pages"]] == [1, 2] and body["pages"][1]["image_size"] == list(second.size)
    assert "berlin" in words(body["text"]) and "invoice" in words(body["text"])
    one_page = io.BytesIO()
    first.save(one_page, format="TIFF")
    body = client.post("/ocr", files={"file": ("one.tiff", one_page.getvalue())}).json()
    assert body["pages"] is None and body["lines"]  # an ordinary image


def test_a_tiff_of_too_many_pages_is_refused_once_counted_past_the_bound(client):
    # (Pillow's frame count takes time quadratic in the frames: 39 s of CPU for a 10 MB TIFF of 100,000 tiny frames;
    # counted to 1,001 at most: ~0.05 s)
    frames = [Image.new("L", (1, 1)) for _ in range(1_200)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    for pages in ("1", None):
        response = client.post("/ocr", files={"file": ("fax.tiff", buffer.getvalue())}, data={"pages": pages} if pages else {})
        assert response.status_code == 400 and "TIFF of more than 1000 pages" in response.json()["detail"]


def test_a_batch_mixes_images_and_documents_and_a_bad_pdf_fails_alone(client, scanned_pdf, born_digital_pdf):
    # (its pages choose its documents' pages: an image among them is read whole, not failed for having no page 2)
    files = [
        ("files", ("scan.pdf", scanned_pdf)),
        ("files", ("photo.png", encode(render_lines(PAGE_TWO)))),
        ("files", ("broken.pdf", scanned_pdf[:200])),
        ("files", ("contract.pdf", born_digital_pdf)),
    ]
    body = client.post("/batch/ocr", files=files, data={"pages": "2"}).json()
    status = {r["filename"]: r["status"] for r in body["results"]}
    assert status == {"scan.pdf": "success", "photo.png": "success", "broken.pdf": "error", "contract.pdf": "success"}
    by_name = {r["filename"]: r for r in body["results"]}
    assert [p["page"] for p in by_name["scan.pdf"]["pages"]] == [2] and by_name["photo.png"]["pages"] is None
    assert "corrupt" in by_name["broken.pdf"]["error"] and body["successful"] == 3 and body["failed"] == 1
    assert by_name["contract.pdf"]["text"].splitlines() == PAGE_TWO and words(by_name["photo.png"]["text"]) >= {"signed"}


def test_a_batch_gives_an_images_lines_and_blocks_as_ocr_does_and_its_markdown_each_files_tables(client, born_digital_pdf):
    from inference.markdown import batch_markdown
    from inference.results import BatchResult
    from tests.unit.inference.test_tables import invoice_page

    files = [("files", ("invoice.png", encode(invoice_page()))), ("files", ("contract.pdf", born_digital_pdf))]
    body = client.post("/batch/ocr", files=files).json()
    invoice = body["results"][0]
    assert invoice["lines"] and "table" in {b["type"] for b in invoice["blocks"]}, invoice
    single = client.post("/ocr", files={"file": ("invoice.png", encode(invoice_page()))}).json()
    assert [b["type"] for b in invoice["blocks"]] == [b["type"] for b in single["blocks"]]
    markdown = batch_markdown(BatchResult.model_validate(body))
    assert "# invoice.png" in markdown and "# contract.pdf" in markdown and "<!-- page 2 -->" in markdown, markdown
    assert "| Item | Qty | Price | Amount |" in markdown or "<td>Item</td>" in markdown, markdown
    assert markdown.index("Invoice 2041") < markdown.index("Item") < markdown.index(PAGE_TWO[0]), markdown


def test_batch_progress_counts_pages(service, scanned_pdf):
    seen = []
    result = service.batch_ocr(
        [("scan.pdf", scanned_pdf), ("one.png", encode(render_lines(PAGE_ONE)))],
        progress=lambda done, total: seen.append((done, total)),
    )
    assert result.successful == 2
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_a_documents_pages_are_counted_as_they_are_read(service, scanned_pdf):
    seen = []
    result = service.ocr(scanned_pdf, filename="scan.pdf", progress=lambda done, total: seen.append((done, total)))
    assert len(result.pages) == 2 and seen == [(1, 2), (2, 2)]


def test_a_file_named_pdf_that_is_no_pdf_is_told_so(client):
    # (it was told it is "not an image in a format we can read", as if it had been sent as an image)
    response = client.post("/ocr", files={"file": ("broken.pdf", b"this is no PDF at all")})
    assert response.status_code == 400 and "'broken.pdf' is not a PDF" in response.json()["detail"], response.text


def test_an_image_has_one_page(client):
    response = client.post("/ocr?pages=2", files={"file": ("a.png", encode(Image.new("RGB", (64, 64), "white")))})
    assert response.status_code == 400 and "no page 2" in response.json()["detail"]


def test_format_text_and_markdown(client, born_digital_pdf):
    from PIL import ImageDraw, ImageFont

    page = Image.new("RGB", (1100, 520), "white")
    draw = ImageDraw.Draw(page)
    draw.text((40, 30), "Quarterly Report", font=ImageFont.load_default(size=64), fill="black")
    body = ImageFont.load_default(size=28)
    for y, line in [
        (170, "Revenue grew in every region this quarter"),
        (210, "and costs stayed flat overall."),
        (330, "The second paragraph starts after a gap"),
        (370, "and ends on this line."),
    ]:
        draw.text((40, y), line, font=body, fill="black")
    files = {"file": ("report.png", encode(page))}
    as_json = client.post("/ocr", files=files).json()
    plain = client.post("/ocr?format=text", files=files)
    assert plain.headers["content-type"].startswith("text/plain") and plain.text == as_json["text"] + "\n"
    markdown = client.post("/ocr", files=files, data={"format": "markdown"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    blocks = markdown.text.strip().split("\n\n")
    assert len(blocks) == 3 and blocks[0].lstrip("#").startswith(" ") and "Quarterly" in blocks[0], markdown.text
    assert blocks[1].count("\n") == 1 and "costs" in blocks[1] and "paragraph" in blocks[2]
    document = client.post("/ocr?format=markdown", files={"file": ("c.pdf", born_digital_pdf)}).text
    assert document.startswith("<!-- page 1 -->") and "\n---\n" in document and "<!-- page 2 -->" in document
    assert client.post("/ocr?format=xml", files=files).status_code == 400


def test_documents_read_at_once_from_many_threads(service, born_digital_pdf, scanned_pdf):
    """PDFium is entered under one lock: requests that open, render and free PDFs at once all succeed."""
    from concurrent.futures import ThreadPoolExecutor

    def read(i: int):
        data = born_digital_pdf if i % 2 else scanned_pdf
        return service.ocr(data, "embedded", filename=f"{i}.pdf", force_ocr=True)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(read, range(6)))
    assert all(len(r.pages) == 2 and all(p.error is None and p.text for p in r.pages) for r in results)


def test_a_large_image_is_decoded_when_it_is_read_held_from_its_check_only_while_the_budget_lasts(monkeypatch):
    # (a batch of 16 blank 6320 x 6320 PNGs, 840 KB sent, held 2.9 GB decoded before the first was read; 24 /ocr requests
    # of one waiting in the queue, 2.7 GB)
    monkeypatch.setattr(held_images, "HELD", held_images.HeldImages(2 * 4000 * 2000 * 3))  # room for two
    large, small = encode(Image.new("RGB", (4000, 2000), "white")), encode(Image.new("L", (400, 200), 255))
    first = open_document(large, LimitSettings(), "large.png")
    assert first.pages[0].size == (4000, 2000) and first.pages[0].deferred
    batch = [open_document(large, LimitSettings(), f"{i}.png", one_of_many=True) for i in range(3)]
    assert held_images.HELD.used == 2 * 4000 * 2000 * 3  # two held, the third let go
    image = first.pages[0].render()  # the held one, given back to the budget
    assert image.size == (4000, 2000) and held_images.HELD.used == 4000 * 2000 * 3
    assert first.pages[0].render() is not image  # decoded again: nothing kept after its turn
    del batch[0]  # dropped unread (a cancelled request): its place given back
    assert held_images.HELD.used == 0
    assert batch[1].pages[0].render().size == (4000, 2000)  # let go at its check: decoded at its turn
    kept = open_document(small, LimitSettings(), "small.png", one_of_many=True)
    assert not kept.pages[0].deferred and kept.pages[0].render() is kept.pages[0].render()  # a small one stays decoded
    with pytest.raises(BadInput, match="not an image"):  # checked at once all the same
        open_document(b"not an image at all", LimitSettings(), "x.png", one_of_many=True)


def test_a_closed_document_gives_its_held_image_back_at_once_whatever_still_refers_to_it(monkeypatch):
    # (an /ocr request that timed out waiting its turn raised its page's error, whose traceback kept the request's frame,
    # its document and the image held for it, in a reference cycle: 113 MB of the budget held a minute later and more,
    # until the garbage collector's next full pass)
    monkeypatch.setattr(held_images, "HELD", held_images.HeldImages())
    doc = open_document(encode(Image.new("RGB", (4000, 2000), "white")), LimitSettings(), "large.png")
    doc.itself = doc  # (a reference cycle: only the collector would free it)
    assert held_images.HELD.used == 4000 * 2000 * 3
    doc.close()
    assert held_images.HELD.used == 0
